package devgrid

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
)

// TestPolicyHotReloadInDRM edits a class file under a running grid: the
// tighter limit is in force for the next request; a broken edit is
// rejected whole, the last good rules stay, and the error is counted.
func TestPolicyHotReloadInDRM(t *testing.T) {
	g := startGrid(t, 1)
	ctx := context.Background()
	c := client.New(g.Info.APIURL, g.Info.Token)
	file := filepath.Join(g.Info.PoliciesDir, "engineering.yaml")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(d time.Duration) error {
		s, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(d), Start: time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
		if err == nil {
			c.EndSession(ctx, s.ID)
		}
		return err
	}
	if err := ask(3 * time.Hour); err != nil {
		t.Fatalf("3h under the shipped 4h limit: %v", err)
	}
	tight := strings.Replace(string(orig), "max_usage_time: 4h", "max_usage_time: 2h", 1)
	writeFile(t, file, tight)
	checkFor(t, 5*time.Second, func() error {
		if err := ask(3 * time.Hour); err == nil || !strings.Contains(err.Error(), "at most 2h") {
			return fmt.Errorf("3h after tightening to 2h: %v", err)
		}
		return nil
	})
	writeFile(t, file, tight+"\nsession: [broken\n")
	checkFor(t, 5*time.Second, func() error {
		if n := metric(t, g, "igrid_policy_reload_errors_total"); n < 1 {
			return fmt.Errorf("reload errors %v, want ≥ 1", n)
		}
		return nil
	})
	if err := ask(3 * time.Hour); err == nil || !strings.Contains(err.Error(), "at most 2h") {
		t.Errorf("after a broken edit the last good limit (2h) is gone: %v", err)
	}
	admin := client.New(g.Info.APIURL, g.Info.AdminToken)
	st, err := admin.PolicyStatus(ctx)
	if err != nil || len(st.Problems) == 0 || !strings.Contains(st.Problems[0].File, "engineering.yaml") || st.Problems[0].Line == 0 {
		t.Errorf("admin policy status = %+v, %v; want the broken file and line", st, err)
	}
	if _, err := c.PolicyStatus(ctx); err == nil {
		t.Error("a non-admin read the policy status")
	}
	if page := portalPage(t, g, g.Info.AdminUser, g.Info.AdminPassword); !strings.Contains(page, `id="policy-errors"`) ||
		!strings.Contains(page, "engineering.yaml") {
		t.Errorf("the portal does not show the rejected edit to the admin: %.400s", page)
	}
	if err := ask(time.Hour); err != nil {
		t.Errorf("1h under the kept 2h limit: %v", err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// metric reads one unlabelled value from the grid's /metrics.
func metric(t *testing.T, g *Grid, name string) float64 {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(g.Info.PortalURL, "/") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		var v float64
		if strings.HasPrefix(l, name+" ") {
			fmt.Sscan(strings.TrimPrefix(l, name+" "), &v)
			return v
		}
	}
	return -1
}

// portalPage logs in to the portal as user and returns the home page.
func portalPage(t *testing.T, g *Grid, user, password string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.PostForm(g.Info.PortalURL+"login", url.Values{"name": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
