package devgrid

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Debian chromium through chromedp, or skips.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("needs chromium (make test installs it with apt)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// TestPortal logs in with a real browser, gets a readable error for a bad
// form, books a session, sees it run with its ssh command, and ends it.
func TestPortal(t *testing.T) {
	g := startGrid(t, 1)
	ctx := browser(t)
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// submit submits a form and returns once the page it leads to loaded.
	submit := func(what, sel string) {
		t.Helper()
		if _, err := chromedp.RunResponse(ctx, chromedp.Submit(sel)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, innerText(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	step("login page", chromedp.Navigate(g.Info.PortalURL), present(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, g.Info.User),
		chromedp.SendKeys(`input[name=password]`, "wrong-password"))
	submit("wrong password", `input[name=password]`)
	if text(`.error`) == "" {
		t.Error("a wrong password shows no reason")
	}
	step("password", chromedp.SetValue(`input[name=password]`, g.Info.Password))
	submit("login", `input[name=password]`)
	step("request form", present(`#request`), chromedp.SetValue(`input[name=usage_time]`, "abc"))
	submit("bad request", `input[name=usage_time]`)
	if e := text(`#error`); !strings.Contains(e, "usage_time") {
		t.Errorf("bad usage time error %q does not name the field", e)
	}
	step("usage time", chromedp.SetValue(`input[name=usage_time]`, "20m"))
	submit("booking", `input[name=usage_time]`)
	step("running", present(`#sessions .state-running`))
	if row := text(`#sessions`); !strings.Contains(row, "ssh -p ") || !strings.Contains(row, "node-a") {
		t.Errorf("running session row lacks node or ssh command: %q", row)
	}
	shot, _ := chromedp.Run(ctx, chromedp.FullScreenshot(80))
	if dir := os.Getenv("IGRID_SCREENSHOTS"); dir != "" {
		os.WriteFile(dir+"/portal.jpg", shot, 0o644)
	}
	submit("end", `#sessions button.end`)
	step("ended", present(`#sessions .state-ended`))
}

// present waits until sel matches an element of the current document. It
// polls in the page, so it also works across the navigation a form submit
// makes (chromedp's node queries keep the old document there).
func present(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf("document.querySelector(%q) !== null", sel),
		chromedp.WithPollingTimeout(20*time.Second))
}

// innerText is the text of the element sel matches in the current document.
func innerText(sel string) chromedp.Action[string] {
	return chromedp.Evaluate[string](fmt.Sprintf("document.querySelector(%q).innerText", sel))
}
