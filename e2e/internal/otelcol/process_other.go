//go:build !linux

package otelcol

import "syscall"

// dieWithParent is Linux-only (Pdeathsig); elsewhere a collector whose
// starter died without stopping it keeps running.
func dieWithParent(*syscall.SysProcAttr) {}
