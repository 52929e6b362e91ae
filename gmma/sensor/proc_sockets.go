package sensor

import (
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
)

// SocketSensorName names the per-process socket sensor.
const SocketSensorName = "proc_sockets"

// SocketSensor counts a process's open sockets (fd links "socket:[inode]")
// and keeps their inodes for the network sensor.
type SocketSensor struct{ fs procfs.FS }

var _ SlowSensor = (*SocketSensor)(nil)

// NewSocketSensor returns the socket sensor.
func NewSocketSensor(fs procfs.FS) *SocketSensor { return &SocketSensor{fs: fs} }

// Name implements ProcSensor.
func (*SocketSensor) Name() string { return SocketSensorName }

// CollectProc implements ProcSensor.
func (s *SocketSensor) CollectProc(pid int, out *Proc) error {
	p, err := s.fs.Proc(pid)
	if err != nil {
		return err
	}
	targets, err := p.FileDescriptorTargets()
	if err != nil {
		return err
	}
	out.Sockets, out.SocketInodes = 0, out.SocketInodes[:0]
	for _, t := range targets {
		rest, ok := strings.CutPrefix(t, "socket:[")
		if !ok {
			continue
		}
		ino, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
		if err != nil {
			continue
		}
		out.Sockets++
		out.SocketInodes = append(out.SocketInodes, ino)
	}
	return nil
}

// Carry implements SlowSensor.
func (*SocketSensor) Carry(from, to *Proc) {
	to.Sockets = from.Sockets
	to.SocketInodes = from.SocketInodes
}
