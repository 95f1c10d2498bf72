package loadtest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "LOADTEST_KILL_HELPER_URL"

// killHelper is the child process of TestRuntimeKillerKillsTheCallerMidRequest
// (TestMain runs it when helperEnv is set): it makes one AWS-shaped call to
// url and exits 0 if it ever gets an answer.
func killHelper(url string) int {
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	res.Body.Close()
	return 0
}

func TestRuntimeKillerKillsTheCallerMidRequest(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("needs Linux's /proc")
	}
	var applied atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		applied.Add(1)
		io.WriteString(w, `{}`)
	}))
	defer upstream.Close()
	p, _ := NewFaultProxy(upstream.URL, 1)
	// Only children of this test process may be killed.
	var victims []string
	p.SetKills(RuntimeKiller(func() map[int]string { return map[int]string{os.Getpid(): "the test"} }, func(parent string, pid int) {
		victims = append(victims, fmt.Sprintf("%s:%d", parent, pid))
	}), KillRule{Service: "dynamodb", Operation: "PutItem", After: true, Rate: 1})
	srv := httptest.NewServer(p)
	defer srv.Close()

	// The test process itself is no child of itself: its call goes through, applied, answer lost.
	if st, _ := awsCall(t, srv.URL, "DynamoDB_20120810.PutItem"); st != 500 {
		t.Errorf("a call from a process that is not a runtime: %d; want the lost answer's 500", st)
	}
	if killed, missed := p.Kills(); len(killed) != 0 || missed != 1 {
		t.Fatalf("killed %v, missed %d: the killer must spare a process that is not a runtime", killed, missed)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+srv.URL)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the helper was not killed; output: %s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, not SIGKILL; output: %s", err, out)
	}
	srv.Close() // waits for the proxy's handler to finish
	if applied.Load() != 2 {
		t.Errorf("%d calls applied; want both (the kill came after the call)", applied.Load())
	}
	if killed, _ := p.Kills(); killed["dynamodb/PutItem/after"] != 1 {
		t.Errorf("kills: %v", killed)
	}
	if want := fmt.Sprintf("the test:%d", cmd.Process.Pid); len(victims) != 1 || victims[0] != want {
		t.Errorf("onKill saw %v; want [%s]", victims, want)
	}
}

func TestProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:80":    "0100007F:0050",
		"10.1.2.3:65535":  "0302010A:FFFF",
		"127.0.0.1:41234": "0100007F:A112",
	} {
		if got, err := procAddr(in); got != want || err != nil {
			t.Errorf("procAddr(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := procAddr("[::1]:80"); !errors.Is(err, ErrNotARuntime) {
		t.Errorf("IPv6: %v", err)
	}
}
