package node

import (
	"context"
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
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Heartbeat/2)
	defer cancel()
	// The DRM's affinity pass prefers nodes that hold the user's reserved
	// account or a fresh copy of their files.
	reserved, cached, err := a.Affinity(ctx)
	if err != nil {
		a.log.Warn("heartbeat: cached users", "err", err)
	}
	return proto.Heartbeat{
		ReservedAccounts: reserved, CachedUsers: cached,
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
