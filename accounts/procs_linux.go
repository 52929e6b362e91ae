package accounts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// procRoot is where processes are listed; tests never change it, but it
// keeps the one place that reads /proc obvious.
const procRoot = "/proc"

// ProcessesOf lists the live (not zombie) processes whose real uid is uid.
func ProcessesOf(uid uint32) ([]int, error) {
	d, err := os.Open(procRoot)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if ruid, live, ok := procStatus(pid); ok && live && ruid == uid {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// procStatus reads a process's real uid and whether it is alive (not a
// zombie). ok is false when the process is gone. It is the hot loop of
// every release: one open, one read, one close, no allocation per line.
func procStatus(pid int) (ruid uint32, live, ok bool) {
	var buf [2048]byte
	fd, err := unix.Open(procRoot+"/"+strconv.Itoa(pid)+"/status", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false, false
	}
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil || n <= 0 {
		return 0, false, false
	}
	b := buf[:n]
	live = true
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		switch {
		case bytes.HasPrefix(line, []byte("State:")):
			f := bytes.Fields(line[6:])
			live = len(f) > 0 && f[0][0] != 'Z' && f[0][0] != 'X'
		case bytes.HasPrefix(line, []byte("Uid:")):
			f := bytes.Fields(line[4:])
			if len(f) == 0 {
				return 0, false, false
			}
			u, err := strconv.ParseUint(string(f[0]), 10, 32)
			return uint32(u), live, err == nil
		}
	}
	return 0, false, false
}

// killStrays kills every process of uid left outside the cgroups Release
// already killed. When the proc connector watcher is running and counts
// no live process of uid, there is none and the /proc sweep is skipped;
// otherwise (a process left, events lost, no connector) killUID sweeps.
func (m *Manager) killStrays(uid uint32, timeout time.Duration) error {
	if uid == 0 || int(uid) == os.Getuid() {
		return fmt.Errorf("refusing to kill the processes of uid %d (root or the agent itself)", uid)
	}
	if m.procs != nil {
		if n, ok := m.procs.count(uid); ok && n == 0 {
			return nil
		}
	}
	return killUID(uid, timeout)
}

// killUID SIGKILLs every process of uid until none is left or timeout
// passes. Each round first stops every process it sees (so a fork bomb
// cannot outrun the sweep), then kills them. Each process is signalled
// through a pidfd after re-checking its uid, so a recycled pid is never hit.
func killUID(uid uint32, timeout time.Duration) error {
	if uid == 0 || int(uid) == os.Getuid() {
		return fmt.Errorf("refusing to kill the processes of uid %d (root or the agent itself)", uid)
	}
	deadline := time.Now().Add(timeout)
	for {
		pids, err := ProcessesOf(uid)
		if err != nil {
			return fmt.Errorf("list processes: %w", err)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes of uid %d survive SIGKILL after %v: %v", len(pids), uid, timeout, pids)
		}
		for _, pid := range pids {
			signalPid(pid, uid, unix.SIGSTOP)
		}
		for _, pid := range pids {
			signalPid(pid, uid, unix.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func signalPid(pid int, uid uint32, sig unix.Signal) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if !errors.Is(err, unix.ESRCH) {
			_ = unix.Kill(pid, sig) // kernels without pidfd; uid was just checked
		}
		return
	}
	defer unix.Close(fd)
	if ruid, _, ok := procStatus(pid); ok && ruid == uid {
		_ = unix.PidfdSendSignal(fd, sig, nil, 0)
	}
}
