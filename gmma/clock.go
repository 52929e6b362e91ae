package gmma

import (
	"time"

	"golang.org/x/sys/unix"
)

// sampleClock wakes the sampling thread every period. It is a kernel timer
// (timerfd, CLOCK_MONOTONIC) the sampling thread itself blocks on with
// poll(2), beside an eventfd that Shutdown writes: the kernel wakes that
// thread (nice -10, raisePriority) directly when a period is due. A Go
// ticker would wake it only after the runtime's timer code ran on some other
// thread of ordinary priority, which the machine's load can hold back by
// tens of milliseconds (docs/benchmarks.md, GMMA). Without timerfd it falls
// back to a Go ticker.
type sampleClock struct {
	period time.Duration
	tfd    int // timerfd, -1 for the Go ticker
	efd    int // eventfd: stop
	first  time.Time
	n      int64 // periods elapsed since first
	ticker *time.Ticker
	stop   <-chan struct{}
}

func newSampleClock(period time.Duration, stop <-chan struct{}) *sampleClock {
	c := &sampleClock{period: period, tfd: -1, efd: -1, first: time.Now(), stop: stop}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC)
	if err == nil {
		efd, err2 := unix.Eventfd(0, unix.EFD_CLOEXEC)
		ts := unix.NsecToTimespec(period.Nanoseconds())
		if err2 == nil && unix.TimerfdSettime(tfd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil) == nil {
			c.tfd, c.efd = tfd, efd
			return c
		}
		unix.Close(tfd)
		if err2 == nil {
			unix.Close(efd)
		}
	}
	c.ticker = time.NewTicker(period)
	return c
}

// wait blocks until the next period is due and returns when it was due
// (periods missed while sampling are skipped, as a ticker does); false once
// stopped.
func (c *sampleClock) wait() (time.Time, bool) {
	if c.tfd < 0 {
		select {
		case <-c.stop:
			return time.Time{}, false
		case <-c.ticker.C:
			c.n++
			return c.first.Add(time.Duration(c.n) * c.period), true
		}
	}
	fds := []unix.PollFd{{Fd: int32(c.tfd), Events: unix.POLLIN}, {Fd: int32(c.efd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return time.Time{}, false
		}
		if fds[1].Revents != 0 {
			return time.Time{}, false
		}
		if fds[0].Revents == 0 {
			continue
		}
		var buf [8]byte
		if _, err := unix.Read(c.tfd, buf[:]); err != nil {
			continue
		}
		expirations := int64(buf[0]) | int64(buf[1])<<8 | int64(buf[2])<<16 | int64(buf[3])<<24 |
			int64(buf[4])<<32 | int64(buf[5])<<40 | int64(buf[6])<<48 | int64(buf[7])<<56
		c.n += expirations
		return c.first.Add(time.Duration(c.n) * c.period), true
	}
}

// interrupt makes a blocked wait return false (Shutdown).
func (c *sampleClock) interrupt() {
	if c.efd >= 0 {
		one := [8]byte{1}
		_, _ = unix.Write(c.efd, one[:])
	}
}

func (c *sampleClock) close() {
	if c.tfd >= 0 {
		unix.Close(c.tfd)
		unix.Close(c.efd)
	}
	if c.ticker != nil {
		c.ticker.Stop()
	}
}
