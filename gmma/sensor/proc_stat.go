package sensor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// StatSensorName names the per-process stat sensor.
const StatSensorName = "proc_stat"

// StatSensor reads /proc/<pid>/stat: command, parent, nice, CPU time,
// resident memory and threads, from one file read. It parses the line
// itself into a stack buffer: prometheus/procfs's Proc.Stat scans all 44
// fields with fmt.Fscan and costs 2.2× a plain read+parse (docs/benchmarks.md),
// which the per-process budget (≤ 1.5×) does not allow.
//
// It keeps each process's stat file open between passes and re-reads it
// with pread at offset 0 (the kernel regenerates it), which saves the path
// walk of open(2) on every sample; a read that fails (process gone) closes
// the file and retries with a fresh open. Sweep closes the files of
// processes no longer sampled.
type StatSensor struct {
	root     string
	live     bool // root is the real /proc: CPU time from the process CPU clock
	pageSize uint64

	mu   sync.Mutex
	fds  map[int]*statFD
	pass uint64
	// boot is CLOCK_BOOTTIME read at mono (once per pass, at Sweep): the
	// clock of start times, to tell young processes without a syscall each.
	boot float64
	mono time.Time
}

type statFD struct {
	fd   int
	used uint64
}

var _ ProcSensor = (*StatSensor)(nil)

// NewStatSensor returns the stat sensor reading procRoot ("" = /proc).
func NewStatSensor(procRoot string) *StatSensor {
	if procRoot == "" {
		procRoot = "/proc"
	}
	s := &StatSensor{root: procRoot, live: procRoot == "/proc", pageSize: uint64(os.Getpagesize()), fds: map[int]*statFD{}}
	s.boot, _ = bootSeconds()
	s.mono = time.Now()
	return s
}

// preciseAge: processes younger than this (seconds) get their CPU time from
// the process CPU clock; older ones from /proc/<pid>/stat's ticks, whose
// 10 ms steps are small against their age and the sample period.
const preciseAge = 2.0

// Name implements ProcSensor.
func (*StatSensor) Name() string { return StatSensorName }

// userHZ is the kernel's USER_HZ, fixed at 100 on every Linux ABI.
const userHZ = 100

// CollectProc implements ProcSensor.
func (s *StatSensor) CollectProc(pid int, out *Proc) error {
	var buf [1024]byte
	s.mu.Lock()
	e := s.fds[pid]
	pass := s.pass
	s.mu.Unlock()
	if e != nil {
		if n, err := syscall.Pread(e.fd, buf[:], 0); err == nil && n > 0 {
			e.used = pass
			return s.parseCPU(pid, buf[:n], out)
		}
		s.drop(pid)
	}
	path := s.root + "/" + strconv.Itoa(pid) + "/stat"
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	n, err := syscall.Pread(fd, buf[:], 0)
	if err != nil {
		syscall.Close(fd)
		return &os.PathError{Op: "read", Path: path, Err: err}
	}
	s.mu.Lock()
	if old := s.fds[pid]; old != nil {
		syscall.Close(old.fd)
	}
	s.fds[pid] = &statFD{fd: fd, used: pass}
	s.mu.Unlock()
	return s.parseCPU(pid, buf[:n], out)
}

// parseCPU parses the stat line and, on the live /proc, replaces the
// tick-counted CPU time of a young process with the process CPU clock's.
// (A process crossing preciseAge changes source once: its CPU delta in that
// interval is off by less than one 10 ms tick.)
func (s *StatSensor) parseCPU(pid int, b []byte, out *Proc) error {
	if err := s.parse(b, out); err != nil {
		return err
	}
	if !s.live {
		return nil
	}
	s.mu.Lock()
	now := s.boot + time.Since(s.mono).Seconds()
	s.mu.Unlock()
	if now-float64(out.StartTicks)/userHZ < preciseAge {
		if ns, ok := procCPUNanos(pid); ok {
			out.CPUSeconds = float64(ns) / 1e9
		}
	}
	return nil
}

func (s *StatSensor) drop(pid int) {
	s.mu.Lock()
	if e := s.fds[pid]; e != nil {
		syscall.Close(e.fd)
		delete(s.fds, pid)
	}
	s.mu.Unlock()
}

// Sweep closes the files of processes not read since the last Sweep.
func (s *StatSensor) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, e := range s.fds {
		if e.used < s.pass {
			syscall.Close(e.fd)
			delete(s.fds, pid)
		}
	}
	s.pass++
	if b, ok := bootSeconds(); ok {
		s.boot, s.mono = b, time.Now()
	}
}

// Open is how many stat files are held open.
func (s *StatSensor) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fds)
}

func readSmall(path string, buf []byte) (int, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	n, err := syscall.Read(fd, buf)
	if err != nil {
		return 0, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return n, nil
}

// Field numbers after the ")" that closes comm (state is 0).
const (
	fPPID      = 1
	fUTime     = 11
	fSTime     = 12
	fNice      = 16
	fThreads   = 17
	fStartTime = 19
	fRSS       = 21
)

func (s *StatSensor) parse(b []byte, out *Proc) error {
	l, r := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if l < 0 || r < l || r+2 > len(b) {
		return fmt.Errorf("stat: unexpected format %q", b)
	}
	out.App = string(b[l+1 : r])
	var utime, stime uint64
	field, start := 0, r+2
	for i := start; i <= len(b); i++ {
		if i < len(b) && b[i] != ' ' && b[i] != '\n' {
			continue
		}
		tok := b[start:i]
		start = i + 1
		switch field {
		case fPPID:
			out.PPID = int(atoi(tok))
		case fUTime:
			utime = uint64(atoi(tok))
		case fSTime:
			stime = uint64(atoi(tok))
		case fNice:
			out.Nice = int(atoi(tok))
		case fThreads:
			out.Threads = int(atoi(tok))
		case fStartTime:
			out.StartTicks = uint64(atoi(tok))
		case fRSS:
			out.RSSBytes = uint64(atoi(tok)) * s.pageSize
			out.CPUSeconds = float64(utime+stime) / userHZ
			return nil
		}
		field++
	}
	return fmt.Errorf("stat: only %d fields in %q", field, b)
}

// atoi parses a decimal integer with an optional leading '-'.
func atoi(b []byte) int64 {
	var n int64
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -n
	}
	return n
}
