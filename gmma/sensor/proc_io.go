package sensor

import "github.com/prometheus/procfs"

// IOSensorName names the per-process I/O sensor.
const IOSensorName = "proc_io"

// IOSensor reads /proc/<pid>/io: bytes the process made the storage layer
// read and write.
type IOSensor struct{ fs procfs.FS }

var _ SlowSensor = (*IOSensor)(nil)

// NewIOSensor returns the I/O sensor.
func NewIOSensor(fs procfs.FS) *IOSensor { return &IOSensor{fs: fs} }

// Name implements ProcSensor.
func (*IOSensor) Name() string { return IOSensorName }

// CollectProc implements ProcSensor.
func (s *IOSensor) CollectProc(pid int, out *Proc) error {
	p, err := s.fs.Proc(pid)
	if err != nil {
		return err
	}
	io, err := p.IO()
	if err != nil {
		return err
	}
	out.ReadBytes = io.ReadBytes
	out.WriteBytes = io.WriteBytes
	return nil
}

// Carry implements SlowSensor.
func (*IOSensor) Carry(from, to *Proc) {
	to.ReadBytes = from.ReadBytes
	to.WriteBytes = from.WriteBytes
}
