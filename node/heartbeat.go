package node

import (
	"encoding/json"
	"time"

	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
)

// heartbeatLoop publishes a heartbeat at once and then every interval until
// stop is closed.
func (a *Agent) heartbeatLoop(stop <-chan struct{}) {
	t := time.NewTicker(a.cfg.Heartbeat)
	defer t.Stop()
	for {
		a.publishHeartbeat()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// heartbeat builds the next heartbeat.
func (a *Agent) heartbeat() proto.Heartbeat {
	ids := a.sessionIDs()
	a.seq++
	return proto.Heartbeat{
		Node:     a.info,
		Seq:      a.seq,
		Time:     time.Now().UTC(),
		Interval: proto.Duration(a.cfg.Heartbeat),
		Load:     a.load.sample(len(ids)),
		SSH:      proto.SSHConnect{Host: a.cfg.SSHHost, Port: a.sshPort},
		Sessions: ids,
	}
}

func (a *Agent) publishHeartbeat() {
	b, err := json.Marshal(a.heartbeat())
	if err != nil {
		a.log.Error("heartbeat encode", "err", err)
		return
	}
	if err := a.nc.Publish(bus.HeartbeatSubject(a.cfg.Name), b); err != nil {
		a.log.Warn("heartbeat publish", "err", err)
	}
}
