package gish

import (
	"context"
	"os"
	"os/exec"
	"syscall"
)

// jobAttrs sets how a program is started relative to the shell: in the
// shell's process group, so that the terminal's Ctrl-C reaches the
// running program (and the shell, which only cancels the line).
func (sh *Shell) jobAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// waitJob waits for a started program; a cancelled line (Ctrl-C, Ctrl-Z
// at the prompt) interrupts it and wakes it if it was stopped.
func (sh *Shell) waitJob(ctx context.Context, cmd *exec.Cmd, wait func() error) error {
	stop := context.AfterFunc(ctx, func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Process.Signal(syscall.SIGCONT)
	})
	defer stop()
	return exitStatus(wait())
}
