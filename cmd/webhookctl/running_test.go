package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"webhooks/internal/localrun"
)

// gatewayStub is a local listener standing in for make run's gateway: it
// records what reaches it and accepts every webhook.
type gatewayStub struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD host path"
}

func newGatewayStub(t *testing.T) *gatewayStub {
	t.Helper()
	g := &gatewayStub{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.reqs = append(g.reqs, r.Method+" "+r.Host+" "+r.URL.Path)
		g.mu.Unlock()
		w.Header().Set("X-Webhook-Outcome", "accepted")
		_, _ = w.Write([]byte(`{"success":true}`))
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gatewayStub) requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.reqs...)
}

// writeRunState writes a make run state file naming gateway and pid, as
// cmd/webhooks-local does.
func writeRunState(t *testing.T, gateway string, pid int) string {
	t.Helper()
	state := filepath.Join(t.TempDir(), "local.json")
	st := localrun.State{
		Gateway: gateway, Lambda: gateway, Table: "webhooks-local-events", Pid: pid,
		AWS:    localrun.AWSEnv{Endpoint: gateway, Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test"},
		Queues: map[string]string{"tiki": gateway + "/q.fifo"}, DLQs: map[string]string{"tiki": gateway + "/dlq.fifo"},
	}
	if err := localrun.WriteState(state, st); err != nil {
		t.Fatal(err)
	}
	return state
}

// closedAddr is a loopback address on which nothing listens any more.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// exitedPid is the id of a process that has exited.
func exitedPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	pid := cmd.ProcessState.Pid()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Skipf("pid %d already reused (%v)", pid, err)
	}
	return pid
}

const tikiBody = `{"data":{"date":"2022-10-26T14:22:05+07:00","ref_code":"TR22","order_code":"347171821","main_state":"processing","main_substate":"ready_for_pickup"}}`

// sign and send address the running make run's gateway, whatever its port;
// -url overrides it.
func TestSignAndSendFollowTheRunningMakeRun(t *testing.T) {
	t.Setenv(EnvStack, "")
	g := newGatewayStub(t)
	host := strings.TrimPrefix(g.URL, "http://")
	state := writeRunState(t, g.URL, os.Getpid())
	signArgs := []string{"-provider", "tiki", "-kind", "order", "-secrets", devSecrets, "-data", tikiBody, "-state", state}

	if out := mustCtl(t, append([]string{"sign", "-format", "curl"}, signArgs...)...); !strings.Contains(out, "'"+g.URL+"/webhooks/tiki/order'") {
		t.Errorf("sign -format curl does not address %s:\n%s", g.URL, out)
	}
	if out := mustCtl(t, append([]string{"sign", "-format", "http"}, signArgs...)...); !strings.Contains(out, "\nHost: "+host+"\n") {
		t.Errorf("sign -format http has no Host: %s:\n%s", host, out)
	}
	var ev struct {
		Headers        map[string]string `json:"headers"`
		RequestContext struct {
			DomainName string `json:"domainName"`
		} `json:"requestContext"`
	}
	out := mustCtl(t, append([]string{"sign", "-format", "event"}, signArgs...)...)
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Headers["host"] != host {
		t.Errorf("sign -format event: host %q (%v), want %q", ev.Headers["host"], err, host)
	}

	out = mustCtl(t, append([]string{"send"}, signArgs...)...)
	if !strings.Contains(out, "200 OK  POST "+g.URL+"/webhooks/tiki/order") || !strings.Contains(out, "X-Webhook-Outcome: accepted") {
		t.Errorf("send:\n%s", out)
	}
	out = mustCtl(t, "send", "-sample", eventsDir+"/tiki/order-processing.json", "-state", state)
	if !strings.Contains(out, "POST "+g.URL+"/webhooks/tiki/order") {
		t.Errorf("send -sample:\n%s", out)
	}
	want := []string{"POST " + host + " /webhooks/tiki/order", "POST " + host + " /webhooks/tiki/order"}
	if got := g.requests(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the gateway got %q, want %q", got, want)
	}

	// An explicit -url wins over the state file, and needs none.
	other := newGatewayStub(t)
	for _, st := range []string{state, filepath.Join(t.TempDir(), "none.json")} {
		out = mustCtl(t, "send", "-provider", "tiki", "-kind", "order", "-secrets", devSecrets, "-data", tikiBody, "-state", st, "-url", other.URL+"/")
		if !strings.Contains(out, "POST "+other.URL+"/webhooks/tiki/order") {
			t.Errorf("send -url %s (state %s):\n%s", other.URL, st, out)
		}
		if out := mustCtl(t, "sign", "-format", "curl", "-provider", "tiki", "-kind", "order", "-secrets", devSecrets, "-data", tikiBody, "-state", st, "-url", other.URL); !strings.Contains(out, other.URL+"/webhooks/tiki/order") {
			t.Errorf("sign -url %s:\n%s", other.URL, out)
		}
	}
	if n := len(other.requests()); n != 2 {
		t.Errorf("-url gateway got %d requests, want 2", n)
	}
	if n := len(g.requests()); n != 2 {
		t.Errorf("the state file's gateway got %d requests with -url given, want 2 (none new)", n)
	}
}

// When no make run is running — no state file, or one left by a run whose
// process or port is gone — every command that works on it refuses at once,
// in one line that says to start make run (or what to give instead): it
// tries no other address (a fallback to some port would fail otherwise, or
// reach whatever listens there).
func TestNothingRunningIsARefusal(t *testing.T) {
	t.Setenv(EnvStack, "")
	live := newGatewayStub(t)
	dir := t.TempDir()
	states := map[string]string{
		"no state file": filepath.Join(dir, "none.json"),
		"process gone":  writeRunState(t, live.URL, exitedPid(t)),
		"port gone":     writeRunState(t, "http://"+closedAddr(t), os.Getpid()),
		"both gone":     writeRunState(t, "http://"+closedAddr(t), exitedPid(t)),
	}
	sign := []string{"-provider", "tiki", "-kind", "order", "-secrets", devSecrets, "-data", tikiBody}
	commands := map[string][]string{
		"sign":          append([]string{"sign", "-format", "curl"}, sign...),
		"send":          append([]string{"send"}, sign...),
		"send -sample":  {"send", "-sample", eventsDir + "/tiki/order-processing.json"},
		"status":        {"status", "0123456789abcdef0123456789abcdef"},
		"quarantine":    {"quarantine", "list"},
		"reprocess":     {"reprocess", "-provider", "tiki", "0123456789abcdef0123456789abcdef"},
		"redrive":       {"redrive", "-all", "-older-than", "0s"},
		"replay":        {"replay", "-provider", "tiki", "-from", "2026-01-01T00:00:00Z", "-to", "2026-01-02T00:00:00Z", "-dry-run"},
		"dlq redrive":   {"dlq", "redrive", "-provider", "tiki"},
		"tail -consume": {"tail", "-provider", "tiki", "-consume"},
		"tail -dlq":     {"tail", "-provider", "tiki", "-dlq"},
		"tail -f":       {"tail", "-provider", "tiki", "-f"},
	}
	for why, state := range states {
		for name, args := range commands {
			began := time.Now()
			out, errOut, code := ctl(append(args, "-state", state)...)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			alternative := "-stack NAME"
			if args[0] == "sign" || args[0] == "send" {
				alternative = "-url URL"
			}
			if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "webhookctl: no running make run (") ||
				!strings.Contains(lines[0], "start it (make run), or give "+alternative) {
				t.Errorf("%s, %s: exit %d, want 1 and one line saying to start make run or give %s; stderr:\n%s", why, name, code, alternative, errOut)
			}
			if why != "no state file" && !strings.Contains(errOut, "is stale") {
				t.Errorf("%s, %s: does not say the state file is stale: %s", why, name, errOut)
			}
			if out != "" {
				t.Errorf("%s, %s: printed %q", why, name, out)
			}
			if d := time.Since(began); d > 60*time.Second {
				t.Errorf("%s, %s: took %v to refuse", why, name, d) // a bound on a hang, not a timing
			}
		}
	}
	if n := len(live.requests()); n != 0 {
		t.Errorf("the gateway of a run whose process is gone got %d requests", n)
	}
}

// The running make run is found by its state file only while its process
// and its gateway are up.
func TestLoadRunning(t *testing.T) {
	g := newGatewayStub(t)
	st, err := loadRunning(writeRunState(t, g.URL, os.Getpid()))
	if err != nil || st.Gateway != g.URL {
		t.Fatalf("live run: %+v %v", st, err)
	}
	u, _ := url.Parse(g.URL)
	if _, err := loadRunning(writeRunState(t, g.URL, exitedPid(t))); err == nil || !strings.Contains(err.Error(), "has exited") {
		t.Errorf("exited run: %v", err)
	}
	g.Close()
	if _, err := loadRunning(writeRunState(t, "http://"+u.Host, os.Getpid())); err == nil || !strings.Contains(err.Error(), "nothing listens") {
		t.Errorf("closed gateway: %v", err)
	}
	var none *NoLocalRunError
	if _, err := loadRunning(filepath.Join(t.TempDir(), "none.json")); !errors.As(err, &none) {
		t.Errorf("no state file: %v", err)
	}
}
