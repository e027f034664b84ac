//go:build linux

package otelcol

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// Usage is a process's resource use so far, from /proc.
type Usage struct {
	CPUSeconds float64 // user + system
	RSSBytes   int64   // resident now (VmRSS)
	PeakRSS    int64   // high-water mark of the resident set (VmHWM)
}

// ProcUsage reads a process's CPU time and resident memory from /proc.
func ProcUsage(pid int) (Usage, error) {
	var u Usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// The command name may hold spaces: fields start after its ')'.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return u, fmt.Errorf("stat of %d: %d fields", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return u, fmt.Errorf("stat of %d: utime %q stime %q", pid, fields[11], fields[12])
	}
	u.CPUSeconds = float64(utime+stime) / clockTicks
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, fmt.Errorf("read status of %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return u, fmt.Errorf("status of %d: %s %q", pid, k, v)
		}
		if k == "VmRSS" {
			u.RSSBytes = kb << 10
		} else {
			u.PeakRSS = kb << 10
		}
	}
	return u, sc.Err()
}
