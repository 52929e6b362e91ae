package devgrid

import (
	"context"
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
	var text string
	err := chromedp.Do(ctx,
		chromedp.Navigate(g.Info.PortalURL),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, g.Info.User),
		chromedp.SendKeys(`input[name=password]`, "wrong-password"),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`.error`),
		into(&text, chromedp.Text(`.error`)),
	)
	if err != nil {
		t.Fatalf("login page: %v", err)
	}
	if text == "" {
		t.Error("a wrong password shows no reason")
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(`input[name=password]`, g.Info.Password),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`#request`),
		chromedp.SetValue(`input[name=usage_time]`, "abc"),
		chromedp.Submit(`input[name=usage_time]`),
		chromedp.WaitVisible(`#error`),
		into(&text, chromedp.Text(`#error`)),
	)
	if err != nil {
		t.Fatalf("request with a bad usage time: %v", err)
	}
	if !strings.Contains(text, "usage_time") {
		t.Errorf("bad usage time error %q does not name the field", text)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(`input[name=usage_time]`, "20m"),
		chromedp.Submit(`input[name=usage_time]`),
		chromedp.WaitVisible(`#sessions table`),
		chromedp.Poll[chromedp.Void](`document.querySelector("#sessions .state-running") !== null`,
			chromedp.WithPollingTimeout(20*time.Second)),
		into(&text, chromedp.Text(`#sessions`)),
	)
	if err != nil {
		t.Fatalf("booking through the form: %v", err)
	}
	if !strings.Contains(text, "ssh -p ") || !strings.Contains(text, "node-a") {
		t.Errorf("running session row lacks node or ssh command: %q", text)
	}
	shot, _ := chromedp.Run(ctx, chromedp.FullScreenshot(80))
	if dir := os.Getenv("IGRID_SCREENSHOTS"); dir != "" {
		os.WriteFile(dir+"/portal.jpg", shot, 0o644)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`#sessions button.end`),
		chromedp.Poll[chromedp.Void](`document.querySelector("#sessions .state-ended") !== null`,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	if err != nil {
		t.Fatalf("ending through the portal: %v", err)
	}
}

// into runs a that returns a value and stores the value in dst, so that
// value-returning actions can sit in a chromedp.Do sequence.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}
