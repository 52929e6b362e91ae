package webportal

import (
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/igrid/igrid/drm/client"
)

// CookieName is the cookie that carries the user's API token. The DRM API
// accepts it too, so the browser and the portal share one login.
const CookieName = "igrid_token"

//go:embed templates/*.html
var templateFS embed.FS

// Config configures the portal.
type Config struct {
	// APIURL is the DRM API base, ending in /api/v1.
	APIURL string
	Logger *slog.Logger
}

// Portal serves the web pages. It keeps no state: every page is rendered
// from the DRM API with the caller's token.
type Portal struct {
	cfg  Config
	tmpl *template.Template
	mux  *http.ServeMux
}

// New builds the portal handler.
func New(cfg Config) (*Portal, error) {
	if cfg.APIURL == "" {
		return nil, fmt.Errorf("webportal: APIURL is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Portal{cfg: cfg, tmpl: t, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /{$}", p.home)
	p.mux.HandleFunc("GET /sessions-table", p.sessionsTable)
	p.mux.HandleFunc("POST /login", p.login)
	p.mux.HandleFunc("POST /logout", p.logout)
	p.mux.HandleFunc("POST /request", p.request)
	p.mux.HandleFunc("POST /end/{id}", p.end)
	return p, nil
}

// ServeHTTP checks that state-changing requests come from this site, sets
// safe headers and recovers panics.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			p.cfg.Logger.Error("portal panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	if r.Method == http.MethodPost && !sameOrigin(r) {
		http.Error(w, "cross-site form posts are refused", http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	p.mux.ServeHTTP(w, r)
}

// sameOrigin accepts a POST whose Origin (or Referer) names this host, or
// that carries neither (non-browser clients).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (p *Portal) client(r *http.Request) (*client.Client, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, false
	}
	return client.New(p.cfg.APIURL, c.Value), true
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("Jan 2 15:04:05")
	},
	"join": strings.Join,
}
