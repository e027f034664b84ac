//go:build !linux

package e2e

import "syscall"

// dieWithTest: only Linux has a parent-death signal; elsewhere the test's
// cleanup stops the child.
func dieWithTest(*syscall.SysProcAttr) {}
