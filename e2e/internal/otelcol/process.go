// Package otelcol drives a built collector binary from the outside: start it,
// wait for its health check, scrape its Prometheus endpoints, stop it with
// SIGTERM. Both `make run` and the end-to-end tests use it, so the path a
// newcomer runs is the path CI tests.
package otelcol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a running collector.
type Process struct {
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error
	once    sync.Once
}

// Start runs binary with the given config file and extra environment
// (appended to the current one); the collector's output goes to logPath.
func Start(binary, config, logPath string, env []string) (*Process, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("collector binary: %w (build it with `make collector`)", err)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("collector log: %w", err)
	}
	cmd := exec.Command(binary, "--config="+config)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a Ctrl-C in the terminal reaches us, and we
	// stop the collector in order, instead of both racing for the signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &Process{cmd: cmd, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM and waits up to timeout for a clean exit, then kills.
// It returns an error when the collector did not exit cleanly.
func (p *Process) Stop(timeout time.Duration) error {
	var err error
	p.once.Do(func() {
		select {
		case <-p.done:
			err = fmt.Errorf("collector had already exited: %v", p.waitErr)
			return
		default:
		}
		if sErr := p.cmd.Process.Signal(syscall.SIGTERM); sErr != nil {
			err = fmt.Errorf("signal collector: %w", sErr)
		}
		select {
		case <-p.done:
			if p.waitErr != nil {
				err = fmt.Errorf("collector exit after SIGTERM: %w", p.waitErr)
			}
		case <-time.After(timeout):
			_ = p.cmd.Process.Kill()
			<-p.done
			err = fmt.Errorf("collector did not exit within %v of SIGTERM; killed", timeout)
		}
	})
	return err
}

// LogTail returns the last n lines of the collector's output.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read collector log %s: %v)", p.logPath, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogPath is where the collector's output goes.
func (p *Process) LogPath() string { return p.logPath }

// WaitHealthy polls the health_check extension's URL until it answers 200.
// It gives up early when the collector exits (a config or port error).
func (p *Process) WaitHealthy(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("health check request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("collector exited before it was healthy: %v", p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("collector not healthy at %s: %w (last: %v)", url, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// FreePorts returns n distinct loopback ports that were free a moment ago.
// They are held together while picked, so they are distinct; a race with
// another process grabbing one before the collector binds it stays possible
// and surfaces as a collector start error.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// PortUse names a port the collector needs and what it is for.
type PortUse struct {
	Port int
	What string
}

// CheckPortsFree fails with one clear message per loopback port already taken.
func CheckPortsFree(uses []PortUse) error {
	var errs []error
	for _, u := range uses {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", u.Port))
		if err != nil {
			errs = append(errs, fmt.Errorf("port %d (%s) is in use on 127.0.0.1; "+
				"is another collector running? find the process with `ss -ltnp 'sport = :%d'` or `lsof -i :%d`",
				u.Port, u.What, u.Port, u.Port))
			continue
		}
		l.Close()
	}
	return errors.Join(errs...)
}

// Validate runs `<binary> validate` on a config and returns its output on failure.
func Validate(ctx context.Context, binary, config string, env []string) error {
	cmd := exec.CommandContext(ctx, binary, "validate", "--config="+config)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("validate %s: %w\n%s", config, err, out.String())
	}
	return nil
}
