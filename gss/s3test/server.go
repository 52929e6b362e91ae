// Package s3test is a small in-process S3-compatible server for unit tests
// of the GSS S3 backend: path-style PUT (with If-None-Match: *), GET, HEAD
// and ListObjectsV2 (with paging) on one bucket, in memory, every request
// checked with SigV4. It is a test fake, not a storage service: no
// multipart upload, no versioning, no ACLs.
package s3test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/igrid/igrid/gss/sigv4"
)

// Server serves one bucket.
type Server struct {
	Bucket   string
	Creds    sigv4.Credentials
	PageSize int // ListObjectsV2 keys per page; default 1000

	mu      sync.Mutex
	objects map[string][]byte
	puts    int
	srv     *http.Server
	ln      net.Listener
}

// New returns a server for bucket with the given credentials.
func New(bucket string, creds sigv4.Credentials) *Server {
	return &Server{Bucket: bucket, Creds: creds, PageSize: 1000, objects: map[string][]byte{}}
}

// Start listens on 127.0.0.1:0 and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return nil
}

// URL is the endpoint to give the client.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Puts counts successful PUTs (tests check that unchanged chunks are not re-sent).
func (s *Server) Puts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<Error><Code>%s</Code><Message>%s</Message></Error>", code, xmlEscape(msg))
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := sigv4.Verify(r, s.Creds, 15*time.Minute, time.Now()); err != nil {
		fail(w, http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	if bucket != s.Bucket {
		fail(w, http.StatusNotFound, "NoSuchBucket", bucket)
		return
	}
	switch {
	case r.Method == http.MethodPut && key != "":
		s.put(w, r, key)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && key != "":
		s.get(w, r, key)
	case r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2":
		s.list(w, r)
	default:
		fail(w, http.StatusNotImplemented, "NotImplemented", r.Method+" "+r.URL.String())
	}
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, key string) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != r.Header.Get("X-Amz-Content-Sha256") {
		fail(w, http.StatusBadRequest, "XAmzContentSHA256Mismatch", "payload hash differs")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objects[key]; ok && r.Header.Get("If-None-Match") == "*" {
		fail(w, http.StatusPreconditionFailed, "PreconditionFailed", key)
		return
	}
	s.objects[key] = b
	s.puts++
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, key string) {
	s.mu.Lock()
	b, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		fail(w, http.StatusNotFound, "NoSuchKey", key)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}

type listResult struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	Name, Prefix          string
	KeyCount              int
	IsTruncated           bool
	NextContinuationToken string `xml:",omitempty"`
	Contents              []listEntry
}

type listEntry struct {
	Key  string
	Size int
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	prefix, after := r.URL.Query().Get("prefix"), r.URL.Query().Get("continuation-token")
	s.mu.Lock()
	var keys []string
	for k := range s.objects {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	res := listResult{Name: s.Bucket, Prefix: prefix}
	if len(keys) > s.PageSize {
		keys, res.IsTruncated, res.NextContinuationToken = keys[:s.PageSize], true, keys[s.PageSize-1]
	}
	for _, k := range keys {
		res.Contents = append(res.Contents, listEntry{Key: k, Size: len(s.objects[k])})
	}
	s.mu.Unlock()
	res.KeyCount = len(res.Contents)
	w.Header().Set("Content-Type", "application/xml")
	xml.NewEncoder(w).Encode(res)
}
