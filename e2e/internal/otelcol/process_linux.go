//go:build linux

package otelcol

import "syscall"

// dieWithParent has the kernel send the collector SIGTERM when the process
// that started it dies without stopping it: a test binary panicking on its
// -timeout runs no t.Cleanup, and the collector would keep its ports.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }
