package gmma

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/igrid/igrid/internal/proto"
)

// GridView is the DRM's window on the top of the hierarchy: it follows
// igrid.gmma.grid and keeps every node's latest load and the application
// summaries (for profiles).
type GridView struct {
	sub *nats.Subscription

	mu    sync.Mutex
	loads map[string]NodeLoad
	apps  []AppSummary
	last  GridAggregate
	msgs  int
	recv  time.Time // when the last grid aggregate arrived
}

// WatchGrid subscribes nc to the grid aggregate.
func WatchGrid(nc *nats.Conn) (*GridView, error) {
	v := &GridView{loads: map[string]NodeLoad{}}
	sub, err := nc.Subscribe(GridSubject, v.receive)
	if err != nil {
		return nil, fmt.Errorf("gmma grid view: %w", err)
	}
	v.sub = sub
	return v, nc.Flush()
}

// Close unsubscribes.
func (v *GridView) Close() error { return v.sub.Unsubscribe() }

func (v *GridView) receive(m *nats.Msg) {
	var ga GridAggregate
	if json.Unmarshal(m.Data, &ga) != nil || ga.Level != LevelGrid {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.msgs++
	if ga.Full {
		v.loads = map[string]NodeLoad{}
	}
	for _, l := range ga.Loads {
		v.loads[l.Node] = l
	}
	for _, g := range ga.Gone {
		delete(v.loads, g)
	}
	v.apps, v.last, v.recv = ga.Apps, ga, time.Now()
}

// Overlay, when the last grid aggregate arrived at most maxAge before now,
// calls set(i, load) for each i in [0, n) whose node name(i) the aggregate
// lists, all under one lock (a scheduler snapshot of ten thousand nodes
// takes it once); it reports whether the view was fresh.
func (v *GridView) Overlay(now time.Time, maxAge time.Duration, n int, name func(i int) string, set func(i int, l NodeLoad)) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.recv.IsZero() || now.Sub(v.recv) > maxAge || len(v.loads) == 0 {
		return false
	}
	for i := 0; i < n; i++ {
		if l, ok := v.loads[name(i)]; ok {
			set(i, l)
		}
	}
	return true
}

// LoadIfFresh returns a node's load from the grid aggregate when the last
// aggregate arrived at most maxAge before now and still lists the node (a
// node whose load did not move past the dead band keeps its last value; a
// node gone silent is dropped by the aggregators).
func (v *GridView) LoadIfFresh(node string, now time.Time, maxAge time.Duration) (NodeLoad, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, ok := v.loads[node]
	if !ok || v.recv.IsZero() || now.Sub(v.recv) > maxAge {
		return NodeLoad{}, false
	}
	return l, true
}

// Load returns a node's load as the top of the hierarchy last reported it.
func (v *GridView) Load(node string) (proto.Load, time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, ok := v.loads[node]
	return l.Load(), l.Time, ok
}

// Nodes lists the nodes the view knows, sorted.
func (v *GridView) Nodes() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(v.loads))
	for n := range v.loads {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Apps returns the last application summaries.
func (v *GridView) Apps() []AppSummary {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]AppSummary(nil), v.apps...)
}

// Last returns the last grid aggregate and how many arrived.
func (v *GridView) Last() (GridAggregate, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last, v.msgs
}
