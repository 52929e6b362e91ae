package accounts

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
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
// zombie). ok is false when the process is gone.
func procStatus(pid int) (ruid uint32, live, ok bool) {
	f, err := os.Open(fmt.Sprintf("%s/%d/status", procRoot, pid))
	if err != nil {
		return 0, false, false
	}
	defer f.Close()
	live = true
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		switch {
		case k == "State" && len(fields) > 0:
			live = fields[0] != "Z" && fields[0] != "X"
		case k == "Uid" && len(fields) > 0:
			u, err := strconv.ParseUint(fields[0], 10, 32)
			return uint32(u), live, err == nil
		}
	}
	return 0, false, false
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
