package webportal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
)

// page is the data of the main page.
type page struct {
	User  string
	Error string
	// PolicyProblems, for administrators, are the problems of the last
	// rejected policy edit (the last good set is still in force).
	PolicyProblems []string
	Sessions       []sessionRow
	Nodes          []proto.NodeStatus
	Form           map[string]string
}

type sessionRow struct {
	proto.Session
	SSH string
}

func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	c, ok := p.client(r)
	if !ok {
		p.render(w, http.StatusOK, "login.html", map[string]string{})
		return
	}
	p.renderHome(w, r, c, http.StatusOK, "", nil)
}

func (p *Portal) renderHome(w http.ResponseWriter, r *http.Request, c *client.Client, status int, msg string, form map[string]string) {
	pg, err := p.load(r.Context(), c)
	if err != nil {
		p.apiFailure(w, err)
		return
	}
	pg.Error, pg.Form = msg, form
	if pg.Form == nil {
		pg.Form = map[string]string{"usage_time": "30m", "cores": "1"}
	}
	p.render(w, status, "home.html", pg)
}

func (p *Portal) load(ctx context.Context, c *client.Client) (*page, error) {
	me, err := c.Me(ctx)
	if err != nil {
		return nil, err
	}
	ss, err := c.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	pg := &page{User: me.Name, Nodes: nodes}
	if me.Admin {
		if st, err := c.PolicyStatus(ctx); err == nil {
			for _, pr := range st.Problems {
				pg.PolicyProblems = append(pg.PolicyProblems, fmt.Sprintf("%s:%d: %s: %s", pr.File, pr.Line, pr.Key, pr.Message))
			}
		} else {
			p.cfg.Logger.Warn("policy status", "err", err)
		}
	}
	for i := len(ss) - 1; i >= 0; i-- { // newest first
		row := sessionRow{Session: ss[i]}
		if s := ss[i].Connect.SSH; s != nil && ss[i].State == proto.StateRunning {
			row.SSH = fmt.Sprintf("ssh -p %d %s@%s", s.Port, s.User, s.Host)
		}
		pg.Sessions = append(pg.Sessions, row)
	}
	return pg, nil
}

func (p *Portal) sessionsTable(w http.ResponseWriter, r *http.Request) {
	c, ok := p.client(r)
	if !ok {
		http.Error(w, "log in first", http.StatusUnauthorized)
		return
	}
	pg, err := p.load(r.Context(), c)
	if err != nil {
		p.apiFailure(w, err)
		return
	}
	p.render(w, http.StatusOK, "sessions", pg)
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	name, pw := r.PostFormValue("name"), r.PostFormValue("password")
	tok, err := client.New(p.cfg.APIURL, "").Login(r.Context(), name, pw)
	if err != nil {
		p.render(w, http.StatusUnauthorized, "login.html", map[string]string{"Error": errText(err), "Name": name})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Expires: time.Now().Add(24 * time.Hour)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *Portal) request(w http.ResponseWriter, r *http.Request) {
	c, ok := p.client(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	form := map[string]string{}
	for _, k := range []string{"usage_time", "cores", "memory_mb", "disk_mb", "applications", "node", "start"} {
		form[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	t, err := templateFromForm(form)
	if err == nil {
		_, err = c.RequestSession(r.Context(), t)
	}
	if err != nil {
		p.renderHome(w, r, c, http.StatusBadRequest, errText(err), form)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *Portal) end(w http.ResponseWriter, r *http.Request) {
	c, ok := p.client(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if _, err := c.EndSession(r.Context(), r.PathValue("id")); err != nil {
		p.renderHome(w, r, c, http.StatusBadRequest, errText(err), nil)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// templateFromForm turns the request form into a job template; the DRM does
// the real validation, this only converts types and names the bad field.
func templateFromForm(f map[string]string) (proto.Template, error) {
	var t proto.Template
	if err := t.UsageTime.UnmarshalText([]byte(f["usage_time"])); err != nil {
		return t, &proto.FieldError{Field: "usage_time", Message: err.Error()}
	}
	for _, n := range []struct {
		key string
		dst *int
	}{{"cores", &t.CPU.Cores}, {"memory_mb", &t.MemoryMB}, {"disk_mb", &t.DiskMB}} {
		if f[n.key] == "" {
			continue
		}
		v, err := strconv.Atoi(f[n.key])
		if err != nil {
			return t, &proto.FieldError{Field: n.key, Message: fmt.Sprintf("%q is not a whole number", f[n.key])}
		}
		*n.dst = v
	}
	for _, a := range strings.FieldsFunc(f["applications"], func(r rune) bool { return r == ',' || r == ' ' }) {
		t.Applications = append(t.Applications, a)
	}
	t.Node = f["node"]
	if f["start"] != "" {
		st, err := time.ParseInLocation("2006-01-02T15:04", f["start"], time.Local)
		if err != nil {
			return t, &proto.FieldError{Field: "start", Message: fmt.Sprintf("%q is not a date and time", f["start"])}
		}
		t.Start = st.UTC().Format(time.RFC3339)
	}
	return t, nil
}

func errText(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

func (p *Portal) apiFailure(w http.ResponseWriter, err error) {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1})
		p.render(w, http.StatusUnauthorized, "login.html", map[string]string{"Error": "your login has expired: log in again"})
		return
	}
	p.cfg.Logger.Error("portal: API call failed", "err", err)
	http.Error(w, "the grid API failed: "+errText(err), http.StatusBadGateway)
}

func (p *Portal) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.tmpl.ExecuteTemplate(w, name, data); err != nil {
		p.cfg.Logger.Error("portal: render", "template", name, "err", err)
	}
}
