package sensor

import "github.com/prometheus/procfs"

// IOSensorName names the per-process I/O sensor.
const IOSensorName = "proc_io"

// IOSensor reads /proc/<pid>/io: bytes the process made the storage layer
// read and write.
type IOSensor struct{}

var _ ProcSensor = (*IOSensor)(nil)

// NewIOSensor returns the I/O sensor.
func NewIOSensor() *IOSensor { return &IOSensor{} }

// Name implements ProcSensor.
func (*IOSensor) Name() string { return IOSensorName }

// CollectProc implements ProcSensor.
func (*IOSensor) CollectProc(p procfs.Proc, out *Proc) error {
	io, err := p.IO()
	if err != nil {
		return err
	}
	out.ReadBytes = io.ReadBytes
	out.WriteBytes = io.WriteBytes
	return nil
}
