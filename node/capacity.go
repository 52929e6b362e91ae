package node

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/policies"
	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// osReleasePaths are read in order for the OS vendor and version.
var osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

// ReadCapacity reads the node's static description: CPU type, clock and
// cores, memory and swap, the disk of homeRoot, the OS, and the
// applications (executables named by any class of set that exist here).
func ReadCapacity(fs procfs.FS, name, cluster, homeRoot string, set *policies.Set) (proto.NodeInfo, error) {
	info := proto.NodeInfo{Name: name, Cluster: cluster, TrustLevel: TrustLevel}
	info.CPU = proto.CPU{Type: machineType(), Cores: runtime.NumCPU()}
	cpus, err := fs.CPUInfo()
	if err != nil {
		return info, fmt.Errorf("cpuinfo: %w", err)
	}
	for _, c := range cpus {
		info.CPU.ClockMHz = max(info.CPU.ClockMHz, int(math.Round(c.CPUMHz)))
	}
	mem, err := fs.Meminfo()
	if err != nil {
		return info, fmt.Errorf("meminfo: %w", err)
	}
	info.MemoryMB, info.SwapMB = kbToMB(mem.MemTotal), kbToMB(mem.SwapTotal)
	if info.DiskMB, _, err = diskMB(homeRoot); err != nil {
		return info, err
	}
	if info.OS, err = readOSRelease(osReleasePaths); err != nil {
		return info, err
	}
	info.Applications = applications(set)
	return info, nil
}

// machineType is the kernel's machine name ("x86_64", "aarch64"), as
// templates ask for it.
func machineType() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		if m := unix.ByteSliceToString(u.Machine[:]); m != "" {
			return m
		}
	}
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	}
	return runtime.GOARCH
}

func kbToMB(kb *uint64) int {
	if kb == nil {
		return 0
	}
	return int(*kb / 1024)
}

// diskMB returns the total and available size of the filesystem of path.
func diskMB(path string) (total, free int, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return int(st.Blocks * bs >> 20), int(st.Bavail * bs >> 20), nil
}

// readOSRelease reads the OS vendor (ID) and version (VERSION_ID) from the
// first os-release file that exists.
func readOSRelease(paths []string) (proto.OS, error) {
	out := proto.OS{Name: runtime.GOOS}
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
			if !ok || strings.HasPrefix(k, "#") {
				continue
			}
			v = strings.Trim(v, `"'`)
			switch k {
			case "ID":
				out.Vendor = v
			case "VERSION_ID":
				out.Version = v
			}
		}
		return out, sc.Err()
	}
	return out, nil
}

// applications lists the names of every executable some class allows that
// resolves on this node, sorted and unique.
func applications(set *policies.Set) []string {
	seen := map[string]bool{}
	for _, name := range set.Names() {
		c, _ := set.Class(name)
		exe, _ := c.ResolveExecutables("")
		for n := range exe {
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
