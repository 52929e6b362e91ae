package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/bus"
)

func TestDistribution(t *testing.T) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	drmConn, err := bus.Connect(srv.URL(), "drm")
	if err != nil {
		t.Fatal(err)
	}
	defer drmConn.Close()
	nodeConn, err := bus.Connect(srv.URL(), "node")
	if err != nil {
		t.Fatal(err)
	}
	defer nodeConn.Close()

	v1 := examplesT(t)
	pub := NewPublisher(drmConn, nil)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer pub.Shutdown()
	if err := pub.Publish(v1); err != nil {
		t.Fatal(err)
	}

	state := filepath.Join(t.TempDir(), "policy-state.json")
	sub, err := NewSubscriber(nodeConn, SubscriberConfig{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sub.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if sub.Current().Version() != v1.Version() {
		t.Fatalf("node has %s, want %s (fetched by request)", sub.Current().Version(), v1.Version())
	}
	seq1 := sub.Seq()

	// A new set is pushed.
	src := v1.Sources()
	src["guest.yaml"] = append(src["guest.yaml"], []byte("executables: [bc]\n")...)
	v2, err := LoadFiles(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(v2); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if sub.Current().Version() != v2.Version() {
			return errors.New("v2 not applied")
		}
		return nil
	})

	// A replayed older bundle is ignored; a tampered one is rejected.
	old, _ := json.Marshal(Bundle{Version: v1.Version(), Seq: seq1, Files: v1.Sources()})
	forged := v2.Sources()
	forged["guest.yaml"] = []byte("class: guest\ninherits: [base]\nusers: [\"*\"]\naccount_pool: {prefix: iggst}\n")
	tampered, _ := json.Marshal(Bundle{Version: v2.Version(), Seq: sub.Seq() + 10, Files: forged})
	broken, _ := json.Marshal(Bundle{Version: "sha256:x", Seq: sub.Seq() + 20, Files: map[string][]byte{"a.yaml": []byte("class: [")}})
	for _, m := range [][]byte{old, tampered, broken} {
		if err := drmConn.Publish(SubjectSet, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := drmConn.Flush(); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if err := sub.LastError(); err == nil || !strings.Contains(err.Error(), "does not compile") {
			return fmt.Errorf("last error = %v, want the broken bundle's", err)
		}
		return nil
	})
	if sub.Current().Version() != v2.Version() {
		t.Fatalf("node went to %s, want to stay on v2", sub.Current().Version())
	}

	// A node restarted without a DRM starts from the newest set it saw.
	sub.Shutdown()
	pub.Shutdown()
	again, err := NewSubscriber(nodeConn, SubscriberConfig{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	if again.Current() == nil || again.Current().Version() != v2.Version() {
		t.Fatalf("restarted node has %v, want v2", again.Current())
	}
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown()
	if _, err := os.Stat(state); err != nil {
		t.Fatal(err)
	}
}

// TestPublisherSeqGrows: equal versions are not re-sent; new ones get a
// larger sequence number even when the clock does not move.
func TestPublisherSeqGrows(t *testing.T) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := bus.Connect(srv.URL(), "t")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p := NewPublisher(nc, nil)
	a, b := examplesT(t), loadT(t, "testdata/diamond")
	if err := p.Publish(a); err != nil {
		t.Fatal(err)
	}
	s1 := p.cur.Seq
	if err := p.Publish(a); err != nil || p.cur.Seq != s1 {
		t.Fatalf("same version re-sequenced: %v", err)
	}
	p.cur.Seq = 1 << 62 // a clock far ahead
	if err := p.Publish(b); err != nil || p.cur.Seq != 1<<62+1 {
		t.Fatalf("seq = %d, want %d", p.cur.Seq, uint64(1<<62+1))
	}
}

// TestSubscriberBeforePublisher: a node that starts before the DRM gets the
// set at the first publication.
func TestSubscriberBeforePublisher(t *testing.T) {
	srv, err := bus.StartEmbedded(bus.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := bus.Connect(srv.URL(), "t")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := NewSubscriber(nc, SubscriberConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Start(); err != nil {
		t.Fatalf("start without a publisher: %v", err)
	}
	defer sub.Shutdown()
	if sub.Current() != nil {
		t.Fatal("a set before any publication")
	}
	got := make(chan *Set, 1)
	sub.Subscribe(func(s *Set) { got <- s })
	pub := NewPublisher(nc, nil)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer pub.Shutdown()
	want := examplesT(t)
	if err := pub.Publish(want); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sub.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.Version() != want.Version() {
		t.Errorf("subscriber got %s, want %s", s.Version(), want.Version())
	}
}
