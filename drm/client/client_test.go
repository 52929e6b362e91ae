package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/igrid/igrid/internal/proto"
)

func TestErrors(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		body        string
		wantCode    string
		wantMsg     string
		wantSession bool
	}{
		{"denied with session", 409, `{"error":{"code":"denied","message":"no node fits: node-a: offline"},"session":{"id":"s-1","state":"denied"}}`,
			"denied", "no node fits: node-a: offline", true},
		{"api error", 400, `{"error":{"code":"invalid_template","message":"memory_mb: out of range"}}`, "invalid_template", "memory_mb: out of range", false},
		{"not json", 502, `bad gateway`, "http_502", "bad gateway", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/sessions" || r.Header.Get("Authorization") != "Bearer tok" {
					t.Errorf("request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			s, err := New(srv.URL+"/api/v1/", "tok").RequestSession(context.Background(), proto.Template{UsageTime: 60})
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != c.status || ae.Code != c.wantCode || ae.Message != c.wantMsg {
				t.Fatalf("err = %#v", err)
			}
			if (s != nil) != c.wantSession || (s != nil && s.State != proto.StateDenied) {
				t.Fatalf("session = %+v", s)
			}
		})
	}
}
