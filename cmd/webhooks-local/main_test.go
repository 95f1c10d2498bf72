package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
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
		"webhookctl tail -provider", "--endpoint-url http://127.0.0.1:", // how to read a queue and the table
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
	case <-time.After(60 * time.Second): // generous: a bound on a hang, not a timing
		t.Fatal("did not stop within 60s of the signal")
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

// `make demo` beside a running `make run` (and a second run beside it) never
// touches the running one's logs or state file; the run's state file names
// the Invoke API and the function names.
func TestDemoLeavesARunningRunAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server and the functions")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(awskit.ErrMotoNotInstalled)
		}
		t.Skip(awskit.ErrMotoNotInstalled)
	}
	rie, skip, err := localrun.EmulatorForTests()
	if err != nil {
		t.Fatal(err)
	} else if skip != "" {
		t.Skip(skip)
	}
	t.Setenv(localrun.EmulatorEnv, rie) // found from the module, which the run below is not in
	bin := t.TempDir()
	if _, err := localrun.BuildFunctions("../..", bin, "tiki"); err != nil {
		t.Fatal(err)
	}
	events, err := filepath.Abs("../../events")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Chdir(t.TempDir()) // the default .run/ paths land here
	common := []string{"-addr", "127.0.0.1:0", "-bin", bin, "-events", events}

	// `make run`, with the default paths.
	runOut := &awskit.SyncBuffer{}
	runURL, stopRun := startServing(t, common, runOut)

	st, err := localrun.LoadState(".run/local.json")
	if err != nil {
		t.Fatal(err)
	}
	if st.Gateway != runURL || st.Lambda != runURL || st.Functions["tiki"] != "tiki" || len(st.Functions) != len(localrun.Providers) || st.Queues["tiki"] == "" {
		t.Errorf("state %+v", st)
	}
	// The Invoke API on the run's address, named by the state file.
	req, _ := http.NewRequest("POST", st.Lambda+localrun.InvokePath(st.Functions["tiki"]), strings.NewReader(`{"reprocess":{"eventId":"does-not-exist"}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" {
		t.Errorf("Invoke API on the run: %d %v", resp.StatusCode, resp.Header)
	}
	runLog, err := os.ReadFile(".run/logs/tiki.log")
	if err != nil || !strings.Contains(string(runLog), "START RequestId: "+resp.Header.Get("X-Amzn-RequestId")) {
		t.Fatalf("the run's tiki log (%v):\n%s", err, runLog)
	}
	state, _ := os.ReadFile(".run/local.json")

	// `make demo`, with the default paths, while the run is up.
	demoOut := &awskit.SyncBuffer{}
	if code := run(context.Background(), append(common, "-demo", "-exit"), demoOut); code != 0 {
		t.Fatalf("demo exited %d:\n%s", code, demoOut.String())
	}
	if !strings.Contains(demoOut.String(), "Function logs: .run/demo/logs/<provider>.log") {
		t.Errorf("demo banner does not name its own log directory:\n%s", demoOut.String())
	}
	if b, err := os.ReadFile(".run/demo/logs/tiki.log"); err != nil || !strings.Contains(string(b), `"outcome":"accepted"`) {
		t.Errorf("demo's tiki log (%v):\n%s", err, b)
	}
	// A second run beside the first: its own log directory, and the first one's state file stays.
	secondOut := &awskit.SyncBuffer{}
	secondURL, stopSecond := startServing(t, common, secondOut)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(secondURL, "http://"))
	if !strings.Contains(secondOut.String(), "this run's logs go to .run/logs-"+port) || !strings.Contains(secondOut.String(), "belongs to the webhooks-local at "+runURL) {
		t.Errorf("second run:\n%s", secondOut.String())
	}
	if code := stopSecond(); code != 0 {
		t.Errorf("second run exited %d", code)
	}

	if b, _ := os.ReadFile(".run/logs/tiki.log"); !bytes.Equal(b, runLog) {
		t.Errorf("the run's tiki log changed:\n--- before\n%s\n--- after\n%s", runLog, b)
	}
	if b, _ := os.ReadFile(".run/local.json"); !bytes.Equal(b, state) {
		t.Errorf("the run's state file changed:\n%s", b)
	}

	if code := stopRun(); code != 0 {
		t.Errorf("run exited %d", code)
	}
	for _, p := range []string{".run/local.json", ".run/logs/.owner", ".run/demo/logs/.owner", ".run/logs-" + port + "/.owner"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
}

// startServing runs the command until its stop func (or the test's end)
// stops it, and returns its URL once it serves. stop returns the exit status.
func startServing(t *testing.T, args []string, out *awskit.SyncBuffer) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, out) }()
	stop := sync.OnceValue(func() int { cancel(); return <-done })
	t.Cleanup(func() { stop() }) // also when the test fails half-way: nothing is left running
	re := regexp.MustCompile(`Listening on (http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], stop
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("exited %d before serving:\n%s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after 60s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
