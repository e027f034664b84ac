//go:build linux

package otelcol

import (
	"os"
	"testing"
	"time"
)

func TestProcUsageOfSelf(t *testing.T) {
	u0, err := ProcUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn some CPU and hold some memory: both must show.
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		buf[x%len(buf)]++
	}
	u1, err := ProcUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u1.CPUSeconds <= u0.CPUSeconds {
		t.Errorf("CPU %v -> %v: did not grow", u0.CPUSeconds, u1.CPUSeconds)
	}
	if u1.PeakRSS < 64<<20 || u1.RSSBytes > u1.PeakRSS {
		t.Errorf("RSS %d, peak %d: want a peak of at least 64 MiB, above the current RSS", u1.RSSBytes, u1.PeakRSS)
	}
	if _, err := ProcUsage(-1); err == nil {
		t.Error("ProcUsage(-1) = nil error")
	}
}
