package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"
)

// envRunMain makes the test binary run eppsim's main instead of the tests,
// so that tests can run the whole program (exit codes, signals, pipes).
const envRunMain = "EPPSIM_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mainCommand is eppsim's main with args, in a child process whose
// environment is the test's plus env.
func mainCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), envRunMain+"=1"), env...)
	return cmd
}

// runMain runs eppsim's main to the end and returns its exit code.
func runMain(t *testing.T, env []string, stdin io.Reader, stdout, stderr io.Writer, args ...string) int {
	t.Helper()
	cmd := mainCommand(t, env, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		t.Fatalf("eppsim: %v", err)
		return -1
	}
}
