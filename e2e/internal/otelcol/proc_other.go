//go:build !linux

package otelcol

import "errors"

// Usage is a process's resource use so far, from /proc.
type Usage struct {
	CPUSeconds float64
	RSSBytes   int64
	PeakRSS    int64
}

// ProcUsage needs Linux's /proc.
func ProcUsage(int) (Usage, error) { return Usage{}, errors.New("process usage needs Linux /proc") }
