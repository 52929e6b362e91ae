package gss

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/igrid/igrid/gss/sigv4"
)

// S3Config addresses one bucket of an S3-compatible service.
type S3Config struct {
	Endpoint  string // "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:9000"
	Bucket    string
	Region    string // default "us-east-1"
	AccessKey string
	SecretKey string
	Client    *http.Client // default: 60 s timeout
}

// S3 is the S3-compatible backend: path-style REST calls (PUT, GET, HEAD,
// ListObjectsV2) signed with SigV4. Create-only puts use If-None-Match: *.
type S3 struct {
	cfg  S3Config
	base *url.URL
}

var _ Store = (*S3)(nil)

// NewS3 checks cfg and returns the backend.
func NewS3(cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("s3 endpoint %q must be an http(s) URL", cfg.Endpoint)
	}
	if cfg.Bucket == "" || strings.ContainsAny(cfg.Bucket, "/?#") {
		return nil, fmt.Errorf("s3 bucket %q is empty or has '/', '?' or '#'", cfg.Bucket)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("s3 access key and secret key are required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 60 * time.Second}
	}
	return &S3{cfg: cfg, base: u}, nil
}

func (s *S3) creds() sigv4.Credentials {
	return sigv4.Credentials{AccessKey: s.cfg.AccessKey, SecretKey: s.cfg.SecretKey, Region: s.cfg.Region}
}

// do sends one signed request. body may be nil.
func (s *S3) do(ctx context.Context, method, key string, q url.Values, body []byte, hdr map[string]string) (*http.Response, error) {
	u := *s.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + s.cfg.Bucket
	if key != "" {
		u.Path += "/" + key
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(len(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	sigv4.Sign(req, s.creds(), hex.EncodeToString(sum[:]), time.Now())
	return s.cfg.Client.Do(req)
}

func s3Error(op, key string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	var e struct{ Code, Message string }
	_ = xml.Unmarshal(b, &e)
	return fmt.Errorf("s3 %s %s: HTTP %d %s %s", op, key, resp.StatusCode, e.Code, e.Message)
}

// Put uploads the object in one PUT (chunks and manifests are small).
func (s *S3) Put(ctx context.Context, key string, body io.Reader, size int64, ifAbsent bool) error {
	if err := checkKey(key); err != nil {
		return err
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if size >= 0 && int64(len(b)) != size {
		return fmt.Errorf("put %s: got %d bytes, want %d", key, len(b), size)
	}
	hdr := map[string]string{"Content-Type": "application/octet-stream"}
	if ifAbsent {
		hdr["If-None-Match"] = "*"
	}
	resp, err := s.do(ctx, http.MethodPut, key, nil, b, hdr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusConflict:
		return reason(ErrExists, fmt.Sprintf("object %s already exists", key))
	case resp.StatusCode/100 != 2:
		return s3Error("put", key, resp)
	}
	return nil
}

// Get downloads the object.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	resp, err := s.do(ctx, http.MethodGet, key, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, reason(ErrNotFound, fmt.Sprintf("object %s not found", key))
	case resp.StatusCode != http.StatusOK:
		defer resp.Body.Close()
		return nil, s3Error("get", key, resp)
	}
	return resp.Body, nil
}

// Has sends a HEAD.
func (s *S3) Has(ctx context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	resp, err := s.do(ctx, http.MethodHead, key, nil, nil, nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("s3 head %s: HTTP %d", key, resp.StatusCode)
}

// List pages through ListObjectsV2.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		resp, err := s.do(ctx, http.MethodGet, "", q, nil, nil)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			defer resp.Body.Close()
			return nil, s3Error("list", prefix, resp)
		}
		var page struct {
			Contents              []struct{ Key string }
			IsTruncated           bool
			NextContinuationToken string
		}
		err = xml.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("s3 list %s: %w", prefix, err)
		}
		for _, c := range page.Contents {
			out = append(out, c.Key)
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}
