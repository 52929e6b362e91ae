package gss

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/igrid/igrid/gss/s3test"
	"github.com/igrid/igrid/gss/sigv4"
)

var testCreds = sigv4.Credentials{AccessKey: "igrid-test", SecretKey: "s3cr3t/key", Region: "eu-test-1"}

// newS3 starts the in-process S3 fake and returns a client for it.
func newS3(t *testing.T, pageSize int) (*S3, *s3test.Server) {
	t.Helper()
	srv := s3test.New("gss", testCreds)
	srv.PageSize = pageSize
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	st, err := NewS3(S3Config{Endpoint: srv.URL(), Bucket: "gss", Region: testCreds.Region, AccessKey: testCreds.AccessKey, SecretKey: testCreds.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return st, srv
}

func newDir(t *testing.T) *Dir {
	t.Helper()
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stores runs f against every backend.
func stores(t *testing.T, f func(t *testing.T, st Store)) {
	t.Run("dir", func(t *testing.T) { f(t, newDir(t)) })
	t.Run("s3", func(t *testing.T) { st, _ := newS3(t, 2); f(t, st) })
}

func put(t *testing.T, st Store, key, body string, ifAbsent bool) error {
	t.Helper()
	return st.Put(context.Background(), key, strings.NewReader(body), int64(len(body)), ifAbsent)
}

func TestStoreContract(t *testing.T) {
	stores(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		for _, k := range []string{"users/a/x", "users/a/y", "users/b/z", "chunks/ab/abc"} {
			if err := put(t, st, k, "v-"+k, false); err != nil {
				t.Fatalf("put %s: %v", k, err)
			}
		}
		rc, err := st.Get(ctx, "users/a/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "v-users/a/x" {
			t.Errorf("get = %q", b)
		}
		if _, err := st.Get(ctx, "users/a/none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("get missing = %v, want ErrNotFound", err)
		}
		if ok, err := st.Has(ctx, "users/b/z"); !ok || err != nil {
			t.Errorf("has = %v %v", ok, err)
		}
		if ok, err := st.Has(ctx, "users/b/none"); ok || err != nil {
			t.Errorf("has missing = %v %v", ok, err)
		}
		keys, err := st.List(ctx, "users/a/")
		if err != nil || strings.Join(keys, ",") != "users/a/x,users/a/y" {
			t.Errorf("list users/a/ = %v %v", keys, err)
		}
		all, err := st.List(ctx, "")
		if err != nil || len(all) != 4 {
			t.Errorf("list all (paged) = %v %v", all, err)
		}
		if err := put(t, st, "users/a/x", "other", true); !errors.Is(err, ErrExists) {
			t.Errorf("create-only put over an object = %v, want ErrExists", err)
		}
		if err := put(t, st, "users/a/x", "replaced", false); err != nil {
			t.Errorf("overwrite: %v", err)
		}
		for _, bad := range []string{"", "/abs", "a/../b", "a//b", "a/", "a b", "a?b"} {
			if err := put(t, st, bad, "x", false); !errors.Is(err, ErrBadName) {
				t.Errorf("put %q = %v, want ErrBadName", bad, err)
			}
		}
	})
}

func TestS3RejectsWrongSecret(t *testing.T) {
	_, srv := newS3(t, 10)
	bad, err := NewS3(S3Config{Endpoint: srv.URL(), Bucket: "gss", Region: testCreds.Region, AccessKey: testCreds.AccessKey, SecretKey: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Put(context.Background(), "k", bytes.NewReader([]byte("x")), 1, false)
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("put with a wrong secret = %v, want SignatureDoesNotMatch", err)
	}
	if srv.Puts() != 0 {
		t.Error("the fake stored an unsigned object")
	}
}

func TestNewS3RejectsBadConfig(t *testing.T) {
	for _, c := range []S3Config{
		{Endpoint: "ftp://x", Bucket: "b", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "http://x", Bucket: "", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "http://x", Bucket: "b/c", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "http://x", Bucket: "b"},
	} {
		if _, err := NewS3(c); err == nil {
			t.Errorf("NewS3(%+v) accepted", c)
		}
	}
}
