package netbpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Counts are a group's network totals since Attach.
type Counts struct {
	RxBytes   uint64 `json:"rx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
}

// Counter is the pair of programs attached to one cgroup and their map.
type Counter struct {
	mu    sync.Mutex
	dir   string
	mapFd int
	links []int
}

// Attach loads the ingress and egress counting programs and links them to
// the cgroup-v2 directory dir. Every socket created by a process of the
// group (or of a group below it) is counted from then on.
func Attach(dir string) (*Counter, error) {
	cg, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: open cgroup %s: %v", ErrUnavailable, dir, err)
	}
	defer unix.Close(cg)
	mfd, err := createArray(valueSize, 2)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	c := &Counter{dir: dir, mapFd: mfd}
	for _, p := range []struct {
		name string
		slot int32
		typ  uint32
	}{
		{"igrid_net_in", slotIngress, unix.BPF_CGROUP_INET_INGRESS},
		{"igrid_net_out", slotEgress, unix.BPF_CGROUP_INET_EGRESS},
	} {
		pfd, err := loadProg(p.name, countProg(mfd, p.slot), p.typ)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		lfd, err := linkCgroup(pfd, cg, p.typ)
		unix.Close(pfd) // the link holds the program
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%w: %s on %s: %v", ErrUnavailable, p.name, dir, err)
		}
		c.links = append(c.links, lfd)
	}
	return c, nil
}

// Dir is the cgroup the counter is attached to.
func (c *Counter) Dir() string { return c.dir }

// Read returns the totals since Attach.
func (c *Counter) Read() (Counts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mapFd < 0 {
		return Counts{}, ErrClosed
	}
	var v [valueSize]byte
	var out Counts
	if err := lookup(c.mapFd, slotIngress, v[:]); err != nil {
		return out, err
	}
	out.RxBytes, out.RxPackets = binary.NativeEndian.Uint64(v[0:]), binary.NativeEndian.Uint64(v[8:])
	if err := lookup(c.mapFd, slotEgress, v[:]); err != nil {
		return out, err
	}
	out.TxBytes, out.TxPackets = binary.NativeEndian.Uint64(v[0:]), binary.NativeEndian.Uint64(v[8:])
	return out, nil
}

// Close detaches both programs (closing their links) and frees the map.
// Closing twice is harmless.
func (c *Counter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for _, l := range c.links {
		err = errors.Join(err, unix.Close(l))
	}
	c.links = nil
	if c.mapFd >= 0 {
		err = errors.Join(err, unix.Close(c.mapFd))
		c.mapFd = -1
	}
	return err
}
