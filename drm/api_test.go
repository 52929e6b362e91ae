package drm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/igrid/igrid/drm/client"
)

func TestRegisterAndLogin(t *testing.T) {
	g := newGrid(t)
	admin := g.user("root-admin", true)
	ctx := context.Background()
	anon := client.New(g.api, "")
	cases := []struct {
		name      string
		c         *client.Client
		req       client.RegisterRequest
		status    int
		code      string
		inMsg     string
		wantClass string
	}{
		{"self registration", anon, client.RegisterRequest{Name: "alice", Password: "correct horse", SSHKeys: []string{testKey}}, 0, "", "", "engineering"},
		{"taken name", anon, client.RegisterRequest{Name: "alice", Password: "correct horse"}, 409, "user_exists", "alice", ""},
		{"short password", anon, client.RegisterRequest{Name: "bob", Password: "short"}, 400, "invalid_input", "password", ""},
		{"bad name", anon, client.RegisterRequest{Name: "bob smith", Password: "long enough"}, 400, "invalid_input", "name", ""},
		{"bad key", anon, client.RegisterRequest{Name: "bob", Password: "long enough", SSHKeys: []string{"not a key"}}, 400, "invalid_input", "ssh_keys[0]", ""},
		{"admin flag needs admin", anon, client.RegisterRequest{Name: "bob", Password: "long enough", Admin: true}, 403, "forbidden", "administrator", ""},
		{"class needs admin", anon, client.RegisterRequest{Name: "bob", Password: "long enough", Class: "finance"}, 403, "forbidden", "administrator", ""},
		{"admin sets class", admin, client.RegisterRequest{Name: "carol", Password: "long enough", Class: "finance"}, 0, "", "", "finance"},
		{"unknown class", admin, client.RegisterRequest{Name: "dave", Password: "long enough", Class: "nope"}, 400, "invalid_input", "unknown class", ""},
		{"bad token", client.New(g.api, "igt_bogus"), client.RegisterRequest{Name: "erin", Password: "long enough"}, 401, "invalid_token", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.c.Register(ctx, c.req)
			if c.status == 0 {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				tok, err := anon.Login(ctx, c.req.Name, c.req.Password)
				if err != nil {
					t.Fatalf("Login: %v", err)
				}
				me, err := client.New(g.api, tok).Me(ctx)
				if err != nil || me.Class != c.wantClass {
					t.Fatalf("Me = %+v, %v; want class %s", me, err, c.wantClass)
				}
				return
			}
			wantAPIError(t, err, c.status, c.code, c.inMsg)
		})
	}
}

func wantAPIError(t *testing.T, err error, status int, code, inMsg string) {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an *APIError %d %s", err, status, code)
	}
	if ae.Status != status || ae.Code != code || !strings.Contains(ae.Message, inMsg) {
		t.Fatalf("got %d %s %q; want %d %s containing %q", ae.Status, ae.Code, ae.Message, status, code, inMsg)
	}
}

func TestAuthFailures(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	ctx := context.Background()
	anon := client.New(g.api, "")
	_, err := anon.Login(ctx, "alice", "wrong password")
	wantAPIError(t, err, 401, "bad_credentials", "wrong user name or password")
	_, err = anon.Login(ctx, "nobody", "whatever-long")
	wantAPIError(t, err, 401, "bad_credentials", "wrong user name or password")
	_, err = anon.Sessions(ctx)
	wantAPIError(t, err, 401, "unauthenticated", "Bearer")
	_, err = client.New(g.api, "igt_0000").Sessions(ctx)
	wantAPIError(t, err, 401, "invalid_token", "expired")

	tok, err := anon.Login(ctx, "alice", "password-alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("cookie", func(t *testing.T) {
		req, _ := http.NewRequest("GET", g.api+"/users/me", nil)
		req.AddCookie(&http.Cookie{Name: TokenCookie, Value: tok})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("cookie auth: status %d", resp.StatusCode)
		}
	})
	t.Run("add key", func(t *testing.T) {
		other := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC6Bg9vAihTU/zg3OgHG67wqVhjEwAQf0RsjNgdVQtL7 second"
		if err := alice.AddKey(ctx, other); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, alice.AddKey(ctx, "ssh-rsa nonsense"), 400, "invalid_input", "key")
		me, err := alice.Me(ctx)
		if err != nil || len(me.SSHKeys) != 2 {
			t.Fatalf("Me = %+v, %v", me, err)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		status, body := g.do("PUT", "/nothing", tok, "")
		if code, _ := errOf(body); status != 404 || code != "not_found" {
			t.Fatalf("got %d %v", status, body)
		}
	})
}

func TestBadTemplates(t *testing.T) {
	g := newGrid(t)
	g.user("alice", false)
	tok, err := g.drm.IssueToken(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body, field string
	}{
		{"negative memory", `{"usage_time":"30m","memory_mb":-1}`, "memory_mb"},
		{"unknown field", `{"usage_time":"30m","colour":"red"}`, "colour"},
		{"zero usage time", `{"usage_time":"0s"}`, "usage_time"},
		{"missing usage time", `{"memory_mb":256}`, "usage_time"},
		{"wrong type", `{"usage_time":"30m","memory_mb":"lots"}`, "memory_mb"},
		{"wrong nested type", `{"usage_time":"30m","cpu":{"cores":"two"}}`, "cpu.cores"},
		{"bad usage time", `{"usage_time":"forever"}`, "usage_time"},
		{"bad start", `{"usage_time":"30m","start":"tomorrow"}`, "start"},
		{"not json", `usage_time=30m`, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := g.do("POST", "/sessions", tok, c.body)
			code, msg := errOf(body)
			if status != 400 || code != "invalid_template" || !strings.HasPrefix(msg, c.field+":") {
				t.Fatalf("got %d %s %q; want 400 invalid_template naming %s", status, code, msg, c.field)
			}
		})
	}
	if n := g.sessionRows(); n != 0 {
		t.Fatalf("%d session rows after bad templates, want 0", n)
	}
}

func TestClassPolicy(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	_, err := alice.RequestSession(context.Background(), tpl(`{"usage_time":"2h"}`))
	wantAPIError(t, err, 403, "policy_denied", "class engineering allows sessions of at most 1h0m0s")
	if !strings.Contains(err.Error(), "2h0m0s") {
		t.Errorf("message does not name the value: %v", err)
	}
	if n := g.sessionRows(); n != 0 {
		t.Fatalf("%d session rows after a policy denial, want 0", n)
	}
}
