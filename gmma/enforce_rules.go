package gmma

import (
	"fmt"
	"sort"
)

// checkUsageTime warns before the end and ends the session at it; it
// reports whether the session ended.
func (e *Enforcer) checkUsageTime(u *SessionUsage) bool {
	lim := u.SLA.UsageTime
	if lim <= 0 || u.SLA.Start.IsZero() {
		return false
	}
	if u.Elapsed >= lim {
		e.endOnce(u.Session, "usage_time", ReasonUsageTimeOver, u.Elapsed.Seconds(), lim.Seconds())
		return true
	}
	if lim-u.Elapsed <= e.policyOf(u.Session).WarnBefore {
		e.mu.Lock()
		st := e.st(u.Session)
		first := !st.timeWarned
		st.timeWarned = true
		e.mu.Unlock()
		if first {
			e.warn(u, AuditEvent{Parameter: "usage_time", Reason: ReasonUsageTimeSoon,
				Measured: u.Elapsed.Seconds(), Limit: lim.Seconds(),
				Message: fmt.Sprintf("session ends in %s (usage time %s)", (lim - u.Elapsed).Round(1e9), lim)})
		}
	}
	return false
}

// checkCPU renices applications above their share down, those back below it
// up, and kills those far over it for longer than the grace period — or
// less, as the session's CPU action says.
func (e *Enforcer) checkCPU(u *SessionUsage, pol EnforcePolicy) {
	limit := float64(u.SLA.CPUPercent)
	if limit <= 0 || pol.CPUAction == "none" {
		return
	}
	if pol.CPUAction == ActionWarn || pol.CPUAction == ActionEnd {
		e.checkOverFor(u, pol, "cpu_percent", ReasonCPUOverShare, u.CPUPercent, limit, pol.CPUAction)
		return
	}
	active := 0
	for _, a := range u.Apps {
		if a.CPUPercent >= 1 {
			active++
		}
	}
	share := limit / float64(max(active, 1))
	pids := map[string][]ProcUsage{}
	for _, p := range u.Procs {
		pids[p.App] = append(pids[p.App], p)
	}
	for _, a := range u.Apps {
		procs := pids[a.App]
		killNow := pol.CPUAction == ActionKill && e.farOverFor(u, a, share, pol)
		ev := AuditEvent{Session: u.Session, App: a.App, PIDs: pidsOf(procs), Parameter: "cpu_percent",
			Measured: round2(a.CPUPercent), Limit: limit, Share: round2(share)}
		switch {
		case killNow:
			e.kill(u, a, ev, pol)
		case a.CPUPercent > share*pol.ReniceAbove:
			e.renice(u.Session, procs, ev, +pol.ReniceStep)
		case a.CPUPercent < share*pol.ReniceUpBelow:
			e.renice(u.Session, procs, ev, -pol.ReniceStep)
		}
	}
}

// farOverFor tracks how long an application has been far over its share
// and reports whether that is now longer than the grace period.
func (e *Enforcer) farOverFor(u *SessionUsage, a AppUsage, share float64, pol EnforcePolicy) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.st(u.Session)
	if a.CPUPercent <= share*pol.KillAbove {
		delete(st.farSince, a.App)
		return false
	}
	since, ok := st.farSince[a.App]
	if !ok {
		st.farSince[a.App], since = u.Time, u.Time
	}
	return u.Time.Sub(since) >= pol.KillGrace
}

func (e *Enforcer) kill(u *SessionUsage, a AppUsage, ev AuditEvent, pol EnforcePolicy) {
	ev.Action, ev.Reason = ActionKill, ReasonCPUFarOver
	ev.Message = fmt.Sprintf("%s killed: %.0f%% CPU, more than %.1f× its share %.0f%% of the session's %.0f%% for %s",
		a.App, a.CPUPercent, pol.KillAbove, ev.Share, ev.Limit, pol.KillGrace)
	if err := e.cfg.Hooks.Kill(ev.PIDs); err != nil {
		ev.Error = err.Error()
	}
	e.mu.Lock()
	delete(e.st(u.Session).farSince, a.App)
	e.mu.Unlock()
	if e.cfg.Hooks.Warn != nil {
		e.cfg.Hooks.Warn(u.Session, ev.Message)
	}
	e.emit(ev)
}

// renice moves every process of an application by step (down: +, up: −).
// Going up only undoes what this enforcer did.
func (e *Enforcer) renice(session string, procs []ProcUsage, ev AuditEvent, step int) {
	var changed []int
	var nice int
	var errs []string
	for _, p := range procs {
		e.mu.Lock()
		st := e.st(session)
		_, ours := st.reniced[p.PID]
		e.mu.Unlock()
		target := min(p.Nice+step, 19)
		if step < 0 {
			if !ours || p.Nice <= 0 {
				continue
			}
			target = max(p.Nice+step, 0)
		}
		if target == p.Nice {
			continue
		}
		if err := e.cfg.Hooks.Renice(p.PID, target); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		e.mu.Lock()
		if target == 0 {
			delete(e.st(session).reniced, p.PID)
		} else {
			e.st(session).reniced[p.PID] = target
		}
		e.mu.Unlock()
		changed, nice = append(changed, p.PID), target
	}
	if len(changed) == 0 && len(errs) == 0 {
		return
	}
	sort.Ints(changed)
	ev.PIDs, ev.Nice = changed, nice
	if step > 0 {
		ev.Action, ev.Reason = ActionReniceDown, ReasonCPUOverShare
		ev.Message = fmt.Sprintf("%s reniced to %d: %.0f%% CPU above its share %.0f%%", ev.App, nice, ev.Measured, ev.Share)
	} else {
		ev.Action, ev.Reason = ActionReniceUp, ReasonCPUBackInShare
		ev.Message = fmt.Sprintf("%s reniced back to %d: %.0f%% CPU within its share %.0f%%", ev.App, nice, ev.Measured, ev.Share)
	}
	if len(errs) > 0 {
		ev.Error = fmt.Sprint(errs)
	}
	e.emit(ev)
}

// checkProcesses warns when the session reaches its process limit (the
// kernel's pids.max holds it; forks past it fail).
func (e *Enforcer) checkProcesses(u *SessionUsage) {
	lim := u.SLA.MaxProcesses
	if lim <= 0 || u.Processes < lim && u.PidsLimitHits == 0 {
		return
	}
	e.warn(u, AuditEvent{Parameter: "processes", Reason: ReasonProcessesAt, Measured: float64(u.Processes), Limit: float64(lim),
		Message: fmt.Sprintf("session at its process limit: %d of %d (new programs will fail to start)", u.Processes, lim)})
}

// checkOverFor warns while a parameter is over its limit and, when act is
// end, ends the session once it has been over for the grace period.
func (e *Enforcer) checkOverFor(u *SessionUsage, pol EnforcePolicy, param, reason string, v, lim float64, act Action) {
	if lim <= 0 {
		return
	}
	e.mu.Lock()
	st := e.st(u.Session)
	if v <= lim {
		delete(st.overSince, param)
		e.mu.Unlock()
		return
	}
	since, ok := st.overSince[param]
	if !ok {
		st.overSince[param], since = u.Time, u.Time
	}
	e.mu.Unlock()
	msg := fmt.Sprintf("%s %.1f over the SLA limit %.0f", param, v, lim)
	grace := pol.DiskGrace
	if param == "cpu_percent" {
		grace = pol.KillGrace
	}
	if act == ActionEnd && u.Time.Sub(since) >= grace {
		e.endOnce(u.Session, param, reason, v, lim)
		return
	}
	e.warn(u, AuditEvent{Parameter: param, Reason: reason, Measured: round2(v), Limit: lim, Message: msg})
}

func pidsOf(ps []ProcUsage) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.PID
	}
	sort.Ints(out)
	return out
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
