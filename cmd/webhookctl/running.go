package main

// The running `make run`: its state file (.run/local.json, written by
// cmd/webhooks-local while it runs and removed when it stops) names its
// gateway, which also serves the Lambda Invoke API, its AWS endpoint, table
// and queues. A file left behind by a run that was killed hard names a
// process and a port that are gone: that is no running make run either,
// never a reason to try some other address.

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"webhooks/internal/localrun"
)

// NoLocalRunError means no make run is running: there is no state file, or
// the one there names a run that is gone. Why says which, in a few words.
type NoLocalRunError struct {
	State string
	Why   string
}

func (e *NoLocalRunError) Error() string { return "no running make run (" + e.Why + ")" }

// dialTimeout bounds the check that the gateway still listens: a loopback
// connection is accepted or refused at once.
const dialTimeout = 2 * time.Second

// loadRunning reads the state file at path and checks that its run is up:
// its process exists and its gateway accepts connections.
func loadRunning(path string) (localrun.State, error) {
	st, err := localrun.LoadState(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, &NoLocalRunError{State: path, Why: path + " not found"}
	}
	if err != nil {
		return st, err
	}
	if st.Gateway == "" || st.Table == "" {
		return st, fmt.Errorf("%s names no gateway or table: is it from this version of make run?", path)
	}
	if st.Pid > 0 && !processExists(st.Pid) {
		return st, &NoLocalRunError{State: path, Why: fmt.Sprintf("%s is stale: its run, pid %d, has exited", path, st.Pid)}
	}
	u, err := url.Parse(st.Gateway)
	if err != nil || u.Host == "" {
		return st, fmt.Errorf("%s: gateway %q is not a URL", path, st.Gateway)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	conn, err := net.DialTimeout("tcp", host, dialTimeout)
	if err != nil {
		return st, &NoLocalRunError{State: path, Why: fmt.Sprintf("%s is stale: nothing listens on its gateway %s", path, st.Gateway)}
	}
	conn.Close()
	return st, nil
}

// processExists reports whether a process with this id exists (one of
// another user's counts).
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// gatewayURL is the base URL sign and send use: -url when given, else the
// running make run's gateway. Nothing running and no -url is an error that
// says what to do; never a guessed address.
func gatewayURL(flagURL, state string) (string, error) {
	if flagURL != "" {
		return strings.TrimSuffix(flagURL, "/"), nil
	}
	st, err := loadRunning(state)
	if err != nil {
		var none *NoLocalRunError
		if errors.As(err, &none) {
			return "", fmt.Errorf("%w: start it (make run), or give -url URL", err)
		}
		return "", err
	}
	return strings.TrimSuffix(st.Gateway, "/"), nil
}
