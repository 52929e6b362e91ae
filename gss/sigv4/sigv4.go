// Package sigv4 signs and verifies HTTP requests with AWS Signature
// Version 4 (header form, service "s3"). The GSS S3 backend signs with it;
// the s3test server verifies with it.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Credentials are an access key pair and the region they sign for.
type Credentials struct {
	AccessKey, SecretKey, Region string
}

// EmptyHash is the SHA-256 of an empty payload.
const EmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Algorithm is the only signing algorithm supported.
const Algorithm = "AWS4-HMAC-SHA256"

const timeFormat = "20060102T150405Z"

// Sign adds x-amz-date, x-amz-content-sha256 and Authorization to req.
// payloadHash is the hex SHA-256 of the body (EmptyHash for none). Every
// header already set on req whose name starts with x-amz- or is host,
// content-type, content-md5, range or if-none-match is signed.
func Sign(req *http.Request, c Credentials, payloadHash string, now time.Time) {
	now = now.UTC()
	req.Header.Set("X-Amz-Date", now.Format(timeFormat))
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	names := signedNames(req)
	sig := Signature(req, c, names, payloadHash, now)
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		Algorithm, c.AccessKey, scope(now, c.Region), strings.Join(names, ";"), sig))
}

func signedNames(req *http.Request) []string {
	names := []string{"host"}
	for k := range req.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") || slices.Contains([]string{"content-type", "content-md5", "range", "if-none-match"}, lk) {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	return names
}

func scope(t time.Time, region string) string {
	return t.Format("20060102") + "/" + region + "/s3/aws4_request"
}

// Signature computes the hex signature of req over the named headers.
func Signature(req *http.Request, c Credentials, names []string, payloadHash string, t time.Time) string {
	cr := CanonicalRequest(req, names, payloadHash)
	sum := sha256.Sum256([]byte(cr))
	sts := strings.Join([]string{Algorithm, t.UTC().Format(timeFormat), scope(t, c.Region), hex.EncodeToString(sum[:])}, "\n")
	k := mac([]byte("AWS4"+c.SecretKey), t.UTC().Format("20060102"))
	k = mac(k, c.Region)
	k = mac(k, "s3")
	k = mac(k, "aws4_request")
	return hex.EncodeToString(mac(k, sts))
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// CanonicalRequest is the SigV4 canonical form of req.
func CanonicalRequest(req *http.Request, names []string, payloadHash string) string {
	var hdr strings.Builder
	for _, n := range names {
		v := req.Header.Get(n)
		if n == "host" {
			v = req.Host
			if v == "" {
				v = req.URL.Host
			}
		}
		hdr.WriteString(n + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	return strings.Join([]string{req.Method, canonicalPath(req.URL), canonicalQuery(req.URL.Query()),
		hdr.String(), strings.Join(names, ";"), payloadHash}, "\n")
}

func canonicalPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		raw, err := url.PathUnescape(s)
		if err != nil {
			raw = s
		}
		segs[i] = Escape(raw)
	}
	return strings.Join(segs, "/")
}

func canonicalQuery(q url.Values) string {
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			parts = append(parts, Escape(k)+"="+Escape(v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

// Escape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~ as %XX.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Verify checks req's Authorization header against c. It returns a human
// reason when the request is not signed right.
func Verify(req *http.Request, c Credentials, maxSkew time.Duration, now time.Time) error {
	auth := req.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, Algorithm+" ")
	if !ok {
		return fmt.Errorf("authorization is not %s", Algorithm)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	t, err := time.Parse(timeFormat, req.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("bad x-amz-date: %v", err)
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("request time %v is %v off", t, d)
	}
	if fields["Credential"] != c.AccessKey+"/"+scope(t, c.Region) {
		return fmt.Errorf("credential %q is not ours", fields["Credential"])
	}
	names := strings.Split(fields["SignedHeaders"], ";")
	if !slices.Contains(names, "host") || !slices.Contains(names, "x-amz-content-sha256") {
		return fmt.Errorf("signed headers %q miss host or x-amz-content-sha256", fields["SignedHeaders"])
	}
	want := Signature(req, c, names, req.Header.Get("X-Amz-Content-Sha256"), t)
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return fmt.Errorf("signature does not match")
	}
	return nil
}
