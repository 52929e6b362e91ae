package cgroup

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// StartIn starts cmd inside g. On v2 the child is cloned straight into the
// group (CLONE_INTO_CGROUP), so not one instruction runs outside it. On v1
// the kernel has no such clone: the child is moved into the group right
// after fork, before the caller's Start returns; code that must never run
// outside (user input) belongs behind a re-exec helper that Joins the group
// itself first (the account may, after Delegate) — as GISH's helper does.
//
// On a hybrid v1 host the child is cloned into the group's v2 network
// companion (NetDir), so its sockets are counted from the start.
func StartIn(cmd *exec.Cmd, g Group) error {
	if dir := NetDir(g); dir != "" {
		d, err := os.Open(dir)
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", g.Name(), err)
		}
		defer d.Close()
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(d.Fd())
		if g.Version() == 2 {
			return cmd.Start()
		}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := g.Add(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return err
	}
	return nil
}
