package e2e

import "syscall"

// dieWithTest makes the kernel kill a child when the test process dies
// (a test binary killed by its -timeout runs no cleanup).
func dieWithTest(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
