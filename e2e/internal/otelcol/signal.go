package otelcol

import (
	"fmt"
	"syscall"
)

// Pid is the collector's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL, as the kernel's OOM killer or a node failure would,
// and waits for the process to be gone. Nothing is flushed.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("SIGKILL collector: %w", err)
	}
	<-p.done
	return nil
}
