package sensor

import "golang.org/x/sys/unix"

// procCPUNanos reads process pid's CPU time (every thread, user + system)
// from its POSIX CPU clock (clock_gettime on the clock id the kernel derives
// from the pid, CPUCLOCK_SCHED): nanosecond precision, brought up to date
// for a thread running right now. /proc/<pid>/stat gives the same total in
// 10 ms ticks only, too coarse for a process a few ticks old at a 100 ms
// sample period.
func procCPUNanos(pid int) (int64, bool) {
	const cpuclockSched = 2
	var ts unix.Timespec
	if err := unix.ClockGettime(int32((^pid)<<3|cpuclockSched), &ts); err != nil {
		return 0, false
	}
	return ts.Nano(), true
}

// bootSeconds is CLOCK_BOOTTIME, the clock of /proc/uptime and of the
// processes' start times, at nanosecond precision (/proc/uptime has 10 ms).
func bootSeconds() (float64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, false
	}
	return float64(ts.Nano()) / 1e9, true
}
