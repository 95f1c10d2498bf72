package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"webhooks/internal/awskit"
	"webhooks/internal/localrun"
)

// The command as `make run` and `make demo` use it: start, demo every sample,
// keep serving, stop on the signal (context) with no child left.
func TestRunDemoServeAndStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server and the functions")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(awskit.ErrMotoNotInstalled)
		}
		t.Skip(awskit.ErrMotoNotInstalled)
	}
	if _, skip, err := localrun.EmulatorForTests(); err != nil {
		t.Fatal(err)
	} else if skip != "" {
		t.Skip(skip)
	}
	bin := t.TempDir()
	if _, err := localrun.BuildFunctions("../..", bin, "tiki"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "") // let the command start its own moto_server

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &awskit.SyncBuffer{}
	logs := t.TempDir()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-bin", bin, "-events", "../../events", "-logs", filepath.Join(logs, "logs"), "-demo"}, out)
	}()

	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Listening on") {
		select {
		case code := <-done:
			t.Fatalf("exited %d before serving:\n%s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after 60s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	console := out.String()
	for _, want := range []string{
		"/webhooks/apigift/dev-apigift-3kF9qL2xVb7TzR8mW1nY", // URL with the dev token
		"webhooks-local/tiki", "devTikiOrderKey",             // secrets
		"sqs receive-message --queue-url", "--endpoint-url http://127.0.0.1:", // how to read a queue
		"tiki/order-processing", "tiki/tampered-body", "Demo: all",
		"tiki.order.status_changed", // request log and queue listing
	} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if strings.Contains(console, "FAIL") {
		t.Errorf("demo reported a failure:\n%s", console)
	}
	if _, err := os.Stat(filepath.Join(logs, "local.json")); err != nil {
		t.Errorf("state file for webhookctl: %v", err)
	}

	// Still serving after the demo: an unrouted request gets API Gateway's 404.
	m := regexp.MustCompile(`Listening on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(console)
	if m == nil {
		t.Fatalf("no address in:\n%s", console)
	}
	resp, err := http.Post(m[1]+"/webhooks/nope", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("unrouted request: %v %v", resp, err)
	}
	resp.Body.Close()

	cancel() // what Ctrl-C does
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d after the signal", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not stop within 15s of the signal")
	}
	stopped := regexp.MustCompile(`stopped (\d+) child processes \[([\d ]*)\]`).FindStringSubmatch(out.String())
	if stopped == nil || stopped[1] != "3" {
		t.Fatalf("want moto_server, tiki's emulator and its runtime stopped; console tail:\n%s", tail(out.String(), 5))
	}
	for _, f := range strings.Fields(stopped[2]) {
		pid, _ := strconv.Atoi(f)
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("child %d still running", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(logs, "local.json")); !os.IsNotExist(err) {
		t.Errorf("state file left behind: %v", err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
