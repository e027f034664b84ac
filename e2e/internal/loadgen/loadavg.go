package loadgen

import (
	"os"
	"strings"
)

// LoadAvg is the machine's load average (1, 5, 15 minutes) from
// /proc/loadavg, to print next to figures measured on a shared machine;
// "unknown" where there is no /proc.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
