package sensor

import "github.com/prometheus/procfs"

// StatSensorName names the per-process stat sensor.
const StatSensorName = "proc_stat"

// StatSensor reads /proc/<pid>/stat: command, parent, nice, CPU time,
// resident memory and threads, from one file read.
type StatSensor struct{}

var _ ProcSensor = (*StatSensor)(nil)

// NewStatSensor returns the stat sensor.
func NewStatSensor() *StatSensor { return &StatSensor{} }

// Name implements ProcSensor.
func (*StatSensor) Name() string { return StatSensorName }

// CollectProc implements ProcSensor.
func (*StatSensor) CollectProc(p procfs.Proc, out *Proc) error {
	st, err := p.Stat()
	if err != nil {
		return err
	}
	out.App = st.Comm
	out.PPID = st.PPID
	out.Nice = st.Nice
	out.StartTicks = st.Starttime
	out.CPUSeconds = st.CPUTime()
	out.RSSBytes = uint64(st.ResidentMemory())
	out.Threads = st.NumThreads
	return nil
}
