// Package pgtest starts a real, throwaway PostgreSQL for tests: initdb in a
// temporary directory, the postmaster on a free 127.0.0.1 port with its
// socket in that directory, one database per test. When we are root the
// server runs as the postgres system account, since PostgreSQL refuses to
// run as root.
//
// A package whose TestMain calls Main shares one cluster among all its
// tests; without it, every DB call starts a cluster of its own for that
// test. Tests skip with the reason when PostgreSQL is not installed.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled means no PostgreSQL server binaries were found.
var ErrNotInstalled = errors.New("PostgreSQL is not installed (apt-get install postgresql, or run scripts/test-deps.sh)")

// Cluster is one running PostgreSQL server.
type Cluster struct {
	Dir  string // temporary directory: data/ and the socket
	Port int
	cmd  *exec.Cmd
	exit chan error // the postmaster's exit status, once

	dbs atomic.Int64
}

// BinDir returns the newest /usr/lib/postgresql/<version>/bin holding
// initdb and postgres.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// Start initialises and starts a new cluster. Stop removes it.
func Start() (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "igrid-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, exit: make(chan error, 1)}
	if err := c.init(bin, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.start(bin, cred); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// runAs returns the credential of the postgres account when we are root,
// nil otherwise (the server then runs as us).
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres account to own the server: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (c *Cluster) command(bin, name string, cred *syscall.Credential, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Dir = c.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + c.Dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGTERM}
	return cmd
}

func (c *Cluster) init(bin string, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(c.Dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	out, err := c.command(bin, "initdb", cred, "-D", filepath.Join(c.Dir, "data"), "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	return nil
}

func (c *Cluster) start(bin string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	log, err := os.Create(filepath.Join(c.Dir, "postgres.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := c.command(bin, "postgres", cred, "-D", filepath.Join(c.Dir, "data"),
		"-p", strconv.Itoa(port), "-k", c.Dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
		"-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd = cmd
	go func() { c.exit <- cmd.Wait() }()
	return c.waitReady()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls until the server accepts connections or exits.
func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case werr := <-c.exit:
			c.exit <- werr
			return fmt.Errorf("postgres exited: %v: %s", werr, c.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 30s: %v: %s", err, c.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "postgres.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// URL is the connection string of database db, over TCP as postgres.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// CreateDB creates a new empty database with a unique name and returns
// its name.
func (c *Cluster) CreateDB(ctx context.Context, prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d_%d", sanitize(prefix), os.Getpid(), c.dbs.Add(1))
	return name, c.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// DropDB drops database name, closing its connections.
func (c *Cluster) DropDB(ctx context.Context, name string) error {
	return c.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 40 {
		out = out[:40]
	}
	return "t_" + out
}

// Stop shuts the server down fast and removes its directory.
func (c *Cluster) Stop() error {
	var err error
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-c.exit:
		case <-time.After(15 * time.Second):
			c.cmd.Process.Kill()
			<-c.exit
			err = errors.New("postgres did not stop within 15s; killed")
		}
	}
	if rerr := os.RemoveAll(c.Dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

var shared struct {
	sync.Mutex
	on      bool // Main is running the tests
	cluster *Cluster
	err     error
}
