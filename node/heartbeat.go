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

// AffinityRefresh is how often the heartbeat re-reads which users' cached
// files are fresh: each refresh asks GSS for every cached user's latest
// version (a request each on S3), too much for every 2 s beat.
var AffinityRefresh = 30 * time.Second

// heartbeat builds the next heartbeat. It runs in the heartbeat loop only.
func (a *Agent) heartbeat() proto.Heartbeat {
	ids := a.sessionIDs()
	a.seq++
	// The DRM's affinity pass prefers nodes that hold the user's reserved
	// account or a fresh copy of their files.
	reserved, cached := a.affinity()
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

// affinity is Affinity for the heartbeat: reserved accounts every beat
// (memory), fresh cached users every AffinityRefresh (GSS round trips) or
// at the first beat after a session here started or ended.
func (a *Agent) affinity() (reserved, cached []string) {
	if a.cacheMoved.Swap(false) || a.cachedAt.IsZero() || time.Since(a.cachedAt) >= AffinityRefresh {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Heartbeat/2)
		defer cancel()
		users, err := a.freshCachedUsers(ctx)
		if err != nil {
			a.log.Warn("heartbeat: cached users", "err", err)
		}
		a.cachedUsers, a.cachedAt = users, time.Now()
	}
	return a.reservedUsers(), a.cachedUsers
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
