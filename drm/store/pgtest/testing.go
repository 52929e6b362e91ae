package pgtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// Main runs a package's tests with one cluster shared by all of them,
// started by the first DB call, and stops it afterwards. Call it from
// TestMain in place of m.Run; it does not return.
func Main(m *testing.M) {
	shared.Lock()
	shared.on = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	if shared.cluster != nil {
		shared.cluster.Stop()
		shared.cluster = nil
	}
	shared.Unlock()
	os.Exit(code)
}

// ClusterFor returns the cluster tests should use: the shared one under Main,
// else a new one stopped at the end of t. It skips t when PostgreSQL is not
// installed.
func ClusterFor(t testing.TB) *Cluster {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.on {
		if shared.cluster == nil && shared.err == nil {
			shared.cluster, shared.err = Start()
		}
		return check(t, shared.cluster, shared.err)
	}
	c, err := Start()
	c = check(t, c, err)
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
	})
	return c
}

func check(t testing.TB, c *Cluster, err error) *Cluster {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) {
		t.Skip("needs PostgreSQL: " + err.Error())
	}
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	return c
}

// DB creates an empty database for t, dropped when t ends, and returns its
// connection URL.
func DB(t testing.TB) string {
	t.Helper()
	c := ClusterFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := c.CreateDB(ctx, t.Name())
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DropDB(ctx, name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return c.URL(name)
}
