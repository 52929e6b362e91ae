package sensor

// CgroupSensorName names the session cgroup sensor.
const CgroupSensorName = "session_cgroup"

// CgroupSensor copies the kernel's totals for the session cgroup: CPU time
// of every process that ever ran there, memory charge and peak, OOM kills,
// pids and refused forks.
type CgroupSensor struct{}

var _ SessionSensor = (*CgroupSensor)(nil)

// NewCgroupSensor returns the cgroup sensor.
func NewCgroupSensor() *CgroupSensor { return &CgroupSensor{} }

// Name implements SessionSensor.
func (*CgroupSensor) Name() string { return CgroupSensorName }

// CollectSession implements SessionSensor.
func (*CgroupSensor) CollectSession(t *Target, out *Session) error {
	if t.Group == nil {
		return nil
	}
	u, err := t.Group.Usage()
	if err != nil {
		return err
	}
	out.Cgroup = u
	return nil
}
