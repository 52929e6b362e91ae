package accounts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// procWatch follows every process creation, credential change and exit on
// the machine through the kernel's proc connector (netlink CN_IDX_PROC),
// so that Release knows whether any process of an account's uid is alive
// without sweeping /proc. It keeps the real uid of every live process
// (thread-group leaders, as the /proc sweep sees them). It is exact only
// while no event was lost: on an overflow (ENOBUFS) it rebuilds its table
// from /proc, and until then it says it does not know.
//
// Exactness at a Release rests on the kernel sending each event
// synchronously, before fork, setuid or exit return: once every process
// the release killed is dead, draining the socket (count) yields every
// event of every process that could still be of the uid.
type procWatch struct {
	fd int

	mu    sync.Mutex
	procs map[int32]uint32 // tgid → real uid
	byUID map[uint32]int   // live processes per uid
	lost  bool             // an event was lost: rebuild before trusting
	buf   [1 << 16]byte
}

// Proc connector wire format (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1
	procEventFork     = 0x00000001
	procEventUID      = 0x00000004
	procEventExit     = 0x80000000
	nlmsgHdrLen       = 16
	cnMsgLen          = 20
	procEventData     = nlmsgHdrLen + cnMsgLen + 16 // what, cpu, timestamp
)

var (
	procWatchOnce sync.Once
	procWatchInst *procWatch
	procWatchErr  error
)

// sharedProcWatch is the process's one proc-connector watcher, started at
// first use; nil with the reason when the connector is unavailable (not
// root, no CONFIG_PROC_EVENTS, not the initial network namespace).
func sharedProcWatch() (*procWatch, error) {
	procWatchOnce.Do(func() {
		procWatchInst, procWatchErr = newProcWatch()
		if procWatchInst != nil {
			go procWatchInst.loop()
		}
	})
	return procWatchInst, procWatchErr
}

func newProcWatch() (*procWatch, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("proc connector socket: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: 0}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("proc connector bind: %w", err)
	}
	msg := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)
	ne.PutUint32(msg[12:], uint32(os.Getpid()))
	ne.PutUint32(msg[16:], cnIdxProc)
	ne.PutUint32(msg[20:], cnValProc)
	ne.PutUint16(msg[32:], 4)
	ne.PutUint32(msg[36:], procCnMcastListen)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("proc connector listen: %w", err)
	}
	w := &procWatch{fd: fd, lost: true}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drain()
	if err := w.rebuild(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return w, nil
}

// loop applies events as they come, so the queue stays short.
func (w *procWatch) loop() {
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		w.mu.Lock()
		w.drain()
		if w.lost {
			_ = w.rebuild()
		}
		w.mu.Unlock()
	}
}

// count drains the pending events and says how many live processes have
// real uid uid; ok is false when the table cannot be trusted.
func (w *procWatch) count(uid uint32) (n int, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drain()
	if w.lost {
		if w.rebuild() != nil {
			return 0, false
		}
		w.drain() // what happened during the rebuild
		if w.lost {
			return 0, false
		}
	}
	return w.byUID[uid], true
}

// drain reads every pending message without blocking. Caller holds mu.
func (w *procWatch) drain() {
	for {
		n, _, err := unix.Recvfrom(w.fd, w.buf[:], unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil: // ENOBUFS: the kernel dropped events
			w.lost = true
			continue
		}
		for b := w.buf[:n]; len(b) >= nlmsgHdrLen; {
			l := int(binary.NativeEndian.Uint32(b))
			if l < nlmsgHdrLen || l > len(b) {
				break
			}
			w.event(b[:l])
			if next := (l + 3) &^ 3; next < len(b) {
				b = b[next:]
			} else {
				b = nil
			}
		}
	}
}

// event applies one proc connector message. Caller holds mu.
func (w *procWatch) event(m []byte) {
	ne := binary.NativeEndian
	if len(m) < procEventData+16 || w.lost ||
		ne.Uint32(m[nlmsgHdrLen:]) != cnIdxProc || ne.Uint32(m[nlmsgHdrLen+4:]) != cnValProc {
		return
	}
	d := m[procEventData:]
	switch ne.Uint32(m[nlmsgHdrLen+cnMsgLen:]) {
	case procEventFork:
		child, tgid := int32(ne.Uint32(d[8:])), int32(ne.Uint32(d[12:]))
		if child != tgid {
			return // a thread: the process is known already
		}
		// The creator is not always the parent named (CLONE_PARENT), so
		// the child's uid is read, not inherited.
		if ruid, live, ok := procStatus(int(child)); ok && live {
			w.set(child, ruid)
		}
	case procEventUID:
		pid, tgid, ruid := int32(ne.Uint32(d[0:])), int32(ne.Uint32(d[4:])), ne.Uint32(d[8:])
		if pid == tgid {
			w.set(tgid, ruid)
		}
	case procEventExit:
		pid, tgid := int32(ne.Uint32(d[0:])), int32(ne.Uint32(d[4:]))
		if pid == tgid {
			w.unset(tgid)
		}
	}
}

func (w *procWatch) set(pid int32, uid uint32) {
	if old, ok := w.procs[pid]; ok {
		w.byUID[old]--
	}
	w.procs[pid] = uid
	w.byUID[uid]++
}

func (w *procWatch) unset(pid int32) {
	if old, ok := w.procs[pid]; ok {
		w.byUID[old]--
		delete(w.procs, pid)
	}
}

// rebuild reads the table from /proc after the queue was drained; later
// events (queued meanwhile) are applied over it. Caller holds mu.
func (w *procWatch) rebuild() error {
	w.lost = false
	d, err := os.Open(procRoot)
	if err != nil {
		w.lost = true
		return err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		w.lost = true
		return err
	}
	w.procs, w.byUID = make(map[int32]uint32, len(names)), map[uint32]int{}
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if ruid, live, ok := procStatus(pid); ok && live {
			w.set(int32(pid), ruid)
		}
	}
	return nil
}
