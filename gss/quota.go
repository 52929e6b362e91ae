package gss

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ProjectQuota says whether the file system holding dir enforces project
// quotas (ext4/xfs mounted with prjquota), which the kernel could hold the
// SLA's home quota to. Where it does not, the quota is measured
// (HomeUsage, by GMMA) and enforced by refusing the GSS save (ErrQuota) and
// reporting; the reason says which.
func ProjectQuota(dir string) (bool, string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false, err.Error()
	}
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false, err.Error()
	}
	best, opts, fstype := "", "", ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		mp := f[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, fstype, opts = mp, f[2], f[3]
		}
	}
	for _, o := range strings.Split(opts, ",") {
		if o == "prjquota" || o == "pquota" {
			return true, fmt.Sprintf("%s (%s) is mounted with %s", best, fstype, o)
		}
	}
	return false, fmt.Sprintf("%s (%s, options %s) has no project quota: the home quota is measured and enforced at save", best, fstype, opts)
}
