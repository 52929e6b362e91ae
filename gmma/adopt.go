package gmma

import (
	"os"
	"strconv"
	"syscall"

	"github.com/igrid/igrid/gmma/cgroup"
)

// AdoptByUID moves every process of uid that is not yet in g into it, and
// returns how many it moved. The node agent runs it each sample for every
// session, so a process of the dynamic account that started outside the
// group (a login path that did not join it) is still held by the session's
// limits and counted by its sensors.
func AdoptByUID(g cgroup.Group, uid uint32, procRoot string) (int, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	in, err := g.Pids()
	if err != nil {
		return 0, err
	}
	have := make(map[int]bool, len(in))
	for _, p := range in {
		have[p] = true
	}
	d, err := os.Open(procRoot)
	if err != nil {
		return 0, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || have[pid] {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(procRoot+"/"+n, &st) != nil || st.Uid != uid {
			continue
		}
		if g.Add(pid) == nil {
			moved++
		}
	}
	return moved, nil
}
