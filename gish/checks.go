package gish

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// check is `check cpu|memory|storage`: the node's capacity, as the grid
// sources' `check` commands report it.
func (sh *Shell) check(w io.Writer, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: check cpu|memory|storage")
	}
	switch args[0] {
	case "cpu":
		return checkCPU(w)
	case "memory":
		return checkMemory(w)
	case "storage":
		return sh.checkStorage(w)
	}
	return fmt.Errorf("unknown check %q (want cpu, memory or storage)", args[0])
}

func checkCPU(w io.Writer) error {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	n, model, mhz := 0, "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		switch strings.TrimSpace(k) {
		case "processor":
			n++
		case "model name":
			model = strings.TrimSpace(v)
		case "cpu MHz":
			mhz = strings.TrimSpace(v)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "cpu: %d x %s @ %s MHz\n", n, model, mhz)
	fmt.Fprintf(w, "load: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	return nil
}

func checkMemory(w io.Writer) error {
	m, err := meminfo()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "memory: %d MiB total, %d MiB available\n", m["MemTotal"]/1024, m["MemAvailable"]/1024)
	fmt.Fprintf(w, "swap: %d MiB total, %d MiB free\n", m["SwapTotal"]/1024, m["SwapFree"]/1024)
	return nil
}

func meminfo() (map[string]uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	m := map[string]uint64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if f := strings.Fields(v); ok && len(f) > 0 {
			m[k], _ = strconv.ParseUint(f[0], 10, 64)
		}
	}
	return m, nil
}

func (sh *Shell) checkStorage(w io.Writer) error {
	for _, d := range []string{sh.cfg.Home, "/tmp"} {
		var st unix.Statfs_t
		if err := unix.Statfs(d, &st); err != nil {
			continue
		}
		bs := uint64(st.Bsize)
		fmt.Fprintf(w, "storage %s: %d MiB total, %d MiB free\n", d, st.Blocks*bs>>20, st.Bavail*bs>>20)
	}
	return nil
}

// usage is what the session uses now: processes and CPU seconds of the
// shell's Unix session, and the bytes in the home.
func (sh *Shell) usage() (procs int, cpuSec float64, homeBytes int64) {
	sid, _ := unix.Getsid(0)
	ents, _ := os.ReadDir("/proc")
	tick := 100.0 // USER_HZ
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		i := strings.LastIndexByte(string(b), ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 || f[3] != strconv.Itoa(sid) || pid == 0 {
			continue
		}
		procs++
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		cpuSec += (ut + st) / tick
	}
	filepath.WalkDir(sh.cfg.Home, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				homeBytes += info.Size()
			}
		}
		return nil
	})
	return procs, cpuSec, homeBytes
}
