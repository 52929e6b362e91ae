package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// Client talks to one DRM with one token.
type Client struct {
	base  string
	token string
	// HTTP is the client used for requests; New sets one with a timeout.
	HTTP *http.Client
}

// New returns a client for baseURL (ending in /api/v1) sending token as a
// bearer token; token may be empty for Register and Login.
func New(baseURL, token string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// Token returns the bearer token the client sends.
func (c *Client) Token() string { return c.token }

// APIError is every non-2xx answer of the API.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.Status, e.Code)
}

// RegisterRequest is the body of POST /users. Class and Admin are honoured
// only when the client's token is an administrator's.
type RegisterRequest struct {
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Class    string   `json:"class,omitempty"`
	Admin    bool     `json:"admin,omitempty"`
	SSHKeys  []string `json:"ssh_keys,omitempty"`
}

// User is the API's user object.
type User struct {
	Name    string    `json:"name"`
	Class   string    `json:"class"`
	Admin   bool      `json:"admin"`
	Created time.Time `json:"created"`
	SSHKeys []string  `json:"ssh_keys"`
}

// TokenResponse answers POST /tokens.
type TokenResponse struct {
	Token   string    `json:"token"`
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

// Register creates a user.
func (c *Client) Register(ctx context.Context, req RegisterRequest) error {
	return c.do(ctx, http.MethodPost, "/users", req, nil)
}

// Login exchanges a name and password for a token. It does not change the
// token the client sends.
func (c *Client) Login(ctx context.Context, user, password string) (string, error) {
	var out TokenResponse
	err := c.do(ctx, http.MethodPost, "/tokens", map[string]string{"name": user, "password": password}, &out)
	return out.Token, err
}

// Me returns the token's user.
func (c *Client) Me(ctx context.Context) (*User, error) {
	var u User
	if err := c.do(ctx, http.MethodGet, "/users/me", nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// AddKey adds an authorized_keys line to the token's user.
func (c *Client) AddKey(ctx context.Context, key string) error {
	return c.do(ctx, http.MethodPost, "/users/me/keys", map[string]string{"key": key}, nil)
}

// RequestSession books a session. When no node fits, the DRM answers 409
// "denied": RequestSession then returns the session recorded as denied (if
// the answer carried it) together with the *APIError.
func (c *Client) RequestSession(ctx context.Context, t proto.Template) (*proto.Session, error) {
	var s proto.Session
	err := c.do(ctx, http.MethodPost, "/sessions", t, &s)
	var ae *apiErrorWithSession
	if errors.As(err, &ae) {
		return ae.session, ae.APIError
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// Sessions lists the token user's sessions (all sessions for an admin).
func (c *Client) Sessions(ctx context.Context) ([]proto.Session, error) {
	var out []proto.Session
	err := c.do(ctx, http.MethodGet, "/sessions", nil, &out)
	return out, err
}

// Session returns one session.
func (c *Client) Session(ctx context.Context, id string) (*proto.Session, error) {
	var s proto.Session
	if err := c.do(ctx, http.MethodGet, "/sessions/"+id, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// EndSession ends a session early and returns it as the DRM left it.
func (c *Client) EndSession(ctx context.Context, id string) (*proto.Session, error) {
	var s proto.Session
	if err := c.do(ctx, http.MethodDelete, "/sessions/"+id, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Nodes lists the nodes with their status.
func (c *Client) Nodes(ctx context.Context) ([]proto.NodeStatus, error) {
	var out []proto.NodeStatus
	err := c.do(ctx, http.MethodGet, "/nodes", nil, &out)
	return out, err
}

// apiErrorWithSession carries the session of a 409 denied answer.
type apiErrorWithSession struct {
	*APIError
	session *proto.Session
}

func (e *apiErrorWithSession) Unwrap() error { return e.APIError }

// do sends one request and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: bad answer: %w", method, path, err)
	}
	return nil
}

// decodeError builds the *APIError of a non-2xx answer.
func decodeError(status int, data []byte) error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Session *proto.Session `json:"session"`
	}
	ae := &APIError{Status: status}
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		ae.Code, ae.Message = body.Error.Code, body.Error.Message
	} else {
		ae.Code, ae.Message = "http_"+fmt.Sprint(status), strings.TrimSpace(string(data))
		if ae.Message == "" {
			ae.Message = http.StatusText(status)
		}
	}
	if body.Session != nil {
		return &apiErrorWithSession{APIError: ae, session: body.Session}
	}
	return ae
}

// Explained is a session with the scheduler's decision trace, as
// GET /sessions/{id}?explain=1 returns it. Explain is the trace's JSON
// (drm.Trace).
type Explained struct {
	proto.Session
	Explain json.RawMessage `json:"explain"`
}

// Explain returns a session with its decision trace.
func (c *Client) Explain(ctx context.Context, id string) (*Explained, error) {
	var s Explained
	if err := c.do(ctx, http.MethodGet, "/sessions/"+id+"?explain=1", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Extend lengthens a session by d and returns it with its new end.
func (c *Client) Extend(ctx context.Context, id string, d time.Duration) (*proto.Session, error) {
	var s proto.Session
	in := map[string]proto.Duration{"by": proto.Duration(d)}
	if err := c.do(ctx, http.MethodPost, "/sessions/"+id+"/extend", in, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Profile is an application profile as GET /profiles returns it.
type Profile struct {
	App           string    `json:"app"`
	CPUPercent    float64   `json:"cpu_percent"`
	BandwidthKbps float64   `json:"bandwidth_kbps"`
	Samples       int       `json:"samples"`
	Updated       time.Time `json:"updated"`
}

// Profiles lists the application profiles.
func (c *Client) Profiles(ctx context.Context) ([]Profile, error) {
	var out []Profile
	err := c.do(ctx, http.MethodGet, "/profiles", nil, &out)
	return out, err
}
