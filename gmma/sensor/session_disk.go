package sensor

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// DiskSensorName names the session disk sensor.
const DiskSensorName = "session_disk"

// DiskSensor sums the allocated size (st_blocks × 512, like du) of every
// file under the session's areas, counting hard links once. It does not
// cross into other file systems mounted below an area.
type DiskSensor struct{}

var _ SessionSensor = (*DiskSensor)(nil)

// NewDiskSensor returns the disk sensor.
func NewDiskSensor() *DiskSensor { return &DiskSensor{} }

// Name implements SessionSensor.
func (*DiskSensor) Name() string { return DiskSensorName }

// CollectSession implements SessionSensor.
func (*DiskSensor) CollectSession(t *Target, out *Session) error {
	var total uint64
	seen := map[[2]uint64]bool{}
	for _, root := range t.DiskPaths {
		total += du(root, seen)
	}
	out.DiskBytes = total
	return nil
}

func du(root string, seen map[[2]uint64]bool) uint64 {
	var st syscall.Stat_t
	if err := syscall.Lstat(root, &st); err != nil {
		return 0
	}
	dev := st.Dev
	var total uint64
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished or unreadable: count what is there
		}
		var s syscall.Stat_t
		if syscall.Lstat(path, &s) != nil {
			return nil
		}
		if s.Dev != dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		key := [2]uint64{s.Dev, s.Ino}
		if s.Nlink > 1 && seen[key] {
			return nil
		}
		seen[key] = true
		total += uint64(s.Blocks) * 512
		return nil
	})
	return total
}
