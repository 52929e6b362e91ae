package sac

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Timeout bounds one round trip (dial, request, reply); no answer in time
// is an error, which GISH turns into a denial (fail closed).
const Timeout = 5 * time.Second

// Client keeps one connection to the SAC socket and sends every request on
// it, one at a time. A connection that breaks is dropped and the next
// request dials again; a request that failed on a reused connection (the
// agent restarted, say) is retried once on a fresh one.
type Client struct {
	path string
	mu   sync.Mutex
	c    *net.UnixConn
	r    *bufio.Reader
}

// NewClient returns a client of the SAC socket at path; it dials lazily.
func NewClient(path string) *Client { return &Client{path: path} }

// Ask asks whether app may start with argv.
func (cl *Client) Ask(app string, argv []string) (Decision, error) {
	return cl.do(Request{App: app, Argv: argv}, nil)
}

// Stage sends the open file f and its signature (the text of FILE.sig)
// for staging; an allowed Decision carries the staged copy's Path.
func (cl *Client) Stage(name string, f *os.File, sig []byte) (Decision, error) {
	return cl.do(Request{Op: OpStage, App: name, Sig: string(sig)}, f)
}

// Close closes the connection; a later request dials again.
func (cl *Client) Close() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.drop()
}

func (cl *Client) drop() error {
	if cl.c == nil {
		return nil
	}
	err := cl.c.Close()
	cl.c, cl.r = nil, nil
	return err
}

func (cl *Client) do(req Request, f *os.File) (Decision, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return Decision{}, err
	}
	b = append(b, '\n')
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for attempt := 0; ; attempt++ {
		fresh := cl.c == nil
		if fresh {
			c, err := net.DialTimeout("unix", cl.path, Timeout)
			if err != nil {
				return Decision{}, fmt.Errorf("sac: dial %s: %w", cl.path, err)
			}
			cl.c, cl.r = c.(*net.UnixConn), bufio.NewReader(c)
		}
		d, err := cl.roundTrip(b, f)
		if err == nil {
			return d, nil
		}
		cl.drop()
		if fresh || attempt > 0 {
			return Decision{}, err
		}
	}
}

func (cl *Client) roundTrip(line []byte, f *os.File) (Decision, error) {
	_ = cl.c.SetDeadline(time.Now().Add(Timeout))
	var err error
	if f != nil {
		_, _, err = cl.c.WriteMsgUnix(line, unix.UnixRights(int(f.Fd())), nil)
		runtime.KeepAlive(f)
	} else {
		_, err = cl.c.Write(line)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("sac: send: %w", err)
	}
	reply, err := cl.r.ReadBytes('\n')
	if err != nil {
		return Decision{}, fmt.Errorf("sac: read reply: %w", err)
	}
	var d Decision
	if err := json.Unmarshal(reply, &d); err != nil {
		return Decision{}, fmt.Errorf("sac: bad reply %q: %w", reply, err)
	}
	return d, nil
}

// Ask sends one request on a connection of its own and returns the
// decision (tools and tests; GISH keeps a Client).
func Ask(socketPath, app string, argv []string) (Decision, error) {
	cl := NewClient(socketPath)
	defer cl.Close()
	return cl.Ask(app, argv)
}
