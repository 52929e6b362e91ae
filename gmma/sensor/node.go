package sensor

import (
	"runtime"
	"strings"
	"syscall"

	"github.com/prometheus/procfs"
)

// Names of the node-wide sensors.
const (
	NodeCPUSensorName  = "node_cpu"
	NodeMemSensorName  = "node_mem"
	NodeDiskSensorName = "node_disk"
	NodeNetSensorName  = "node_net"
)

// NodeCPUSensor reads /proc/stat and /proc/loadavg.
type NodeCPUSensor struct{ fs procfs.FS }

// NodeMemSensor reads /proc/meminfo.
type NodeMemSensor struct{ fs procfs.FS }

// NodeDiskSensor reports the size and free space of one file system.
type NodeDiskSensor struct{ root string }

// NodeNetSensor sums /proc/net/dev over every interface but loopback.
type NodeNetSensor struct{ fs procfs.FS }

var (
	_ NodeSensor = (*NodeCPUSensor)(nil)
	_ NodeSensor = (*NodeMemSensor)(nil)
	_ NodeSensor = (*NodeDiskSensor)(nil)
	_ NodeSensor = (*NodeNetSensor)(nil)
)

// NewNodeCPUSensor returns the node CPU sensor.
func NewNodeCPUSensor(fs procfs.FS) *NodeCPUSensor { return &NodeCPUSensor{fs: fs} }

// NewNodeMemSensor returns the node memory sensor.
func NewNodeMemSensor(fs procfs.FS) *NodeMemSensor { return &NodeMemSensor{fs: fs} }

// NewNodeDiskSensor returns the node disk sensor for the file system at root.
func NewNodeDiskSensor(root string) *NodeDiskSensor { return &NodeDiskSensor{root: root} }

// NewNodeNetSensor returns the node network sensor.
func NewNodeNetSensor(fs procfs.FS) *NodeNetSensor { return &NodeNetSensor{fs: fs} }

// Name implements NodeSensor.
func (*NodeCPUSensor) Name() string { return NodeCPUSensorName }

// CollectNode implements NodeSensor.
func (s *NodeCPUSensor) CollectNode(out *Node) error {
	st, err := s.fs.Stat()
	if err != nil {
		return err
	}
	c := st.CPUTotal
	idle := c.Idle + c.Iowait
	busy := c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
	out.CPUBusySeconds, out.CPUTotalSeconds = busy, busy+idle
	out.Cores = len(st.CPU)
	if out.Cores == 0 {
		out.Cores = runtime.NumCPU()
	}
	if la, err := s.fs.LoadAvg(); err == nil {
		out.Load1 = la.Load1
	}
	return nil
}

// Name implements NodeSensor.
func (*NodeMemSensor) Name() string { return NodeMemSensorName }

// CollectNode implements NodeSensor.
func (s *NodeMemSensor) CollectNode(out *Node) error {
	m, err := s.fs.Meminfo()
	if err != nil {
		return err
	}
	if m.MemTotal != nil {
		out.MemTotalBytes = *m.MemTotal * 1024
	}
	if m.MemAvailable != nil {
		out.MemAvailBytes = *m.MemAvailable * 1024
	}
	return nil
}

// Name implements NodeSensor.
func (*NodeDiskSensor) Name() string { return NodeDiskSensorName }

// CollectNode implements NodeSensor.
func (s *NodeDiskSensor) CollectNode(out *Node) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.root, &st); err != nil {
		return err
	}
	out.DiskTotalBytes = st.Blocks * uint64(st.Bsize)
	out.DiskFreeBytes = st.Bavail * uint64(st.Bsize)
	return nil
}

// Name implements NodeSensor.
func (*NodeNetSensor) Name() string { return NodeNetSensorName }

// CollectNode implements NodeSensor.
func (s *NodeNetSensor) CollectNode(out *Node) error {
	nd, err := s.fs.NetDev()
	if err != nil {
		return err
	}
	for name, l := range nd {
		if name == "lo" || strings.HasPrefix(name, "lo:") {
			continue
		}
		out.NetRxBytes += l.RxBytes
		out.NetTxBytes += l.TxBytes
	}
	return nil
}
