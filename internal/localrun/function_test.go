package localrun

// The runner against the real emulator, with a tiny function built from
// testdata/bootstrap through aws-lambda-go, as the real functions are.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var testBin struct {
	once sync.Once
	path string
	err  error
}

// testBootstrap builds testdata/bootstrap once per test binary.
func testBootstrap(t testing.TB) string {
	t.Helper()
	testBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "localrun-test")
		if err != nil {
			testBin.err = err
			return
		}
		testBin.path = filepath.Join(dir, "bootstrap")
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", testBin.path, "./testdata/bootstrap")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			testBin.err = fmt.Errorf("build test bootstrap: %v\n%s", err, out)
		}
	})
	if testBin.err != nil {
		t.Fatal(testBin.err)
	}
	return testBin.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testBin.path != "" {
		os.RemoveAll(filepath.Dir(testBin.path))
	}
	os.Exit(code)
}

// emulatorOrSkip is the emulator's path; without it the test skips (CI: fails).
func emulatorOrSkip(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the Lambda Runtime Interface Emulator: not in -short mode")
	}
	p, skip, err := EmulatorForTests()
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	return p
}

type reply struct {
	Value       string            `json:"value"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineIn  int64             `json:"deadlineInMs"`
	Pid         int               `json:"pid"`
	Env         map[string]string `json:"env"`
	InFlight    int               `json:"inFlight"`
}

// logSink collects Logf lines and the functions' output.
type logSink struct {
	mu    sync.Mutex
	lines []string
	out   strings.Builder
}

func (l *logSink) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.Write(p)
}

func (l *logSink) joined() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *logSink) output() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.String()
}

func start(t *testing.T, cfg FunctionConfig) (*Function, *logSink) {
	t.Helper()
	cfg.Emulator = emulatorOrSkip(t)
	logs := &logSink{}
	if cfg.Name == "" {
		cfg.Name = "testfn"
	}
	cfg.Binary = testBootstrap(t)
	cfg.Logf = logs.logf
	cfg.Output = logs
	f, err := StartFunction(context.Background(), cfg)
	if err != nil {
		t.Fatalf("StartFunction: %v", err)
	}
	t.Cleanup(f.Stop)
	return f, logs
}

func invoke(t *testing.T, f *Function, payload string) (reply, error) {
	t.Helper()
	out, err := f.Invoke(context.Background(), []byte(payload))
	var r reply
	if err == nil {
		if uerr := json.Unmarshal(out, &r); uerr != nil {
			t.Fatalf("response %q: %v", out, uerr)
		}
	}
	return r, err
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// eventDeadline bounds a wait for something that must happen: generous, for
// a loaded machine. No test asserts how long anything took; a broken runner
// fails by the event never coming.
const eventDeadline = 60 * time.Second

// waitFor polls cond until it holds, failing the test after eventDeadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, eventDeadline)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// result is one asynchronous invocation's answer.
type result struct {
	reply reply
	err   error
}

// invokeAsync invokes f in the background; the answer arrives on the channel.
func invokeAsync(f *Function, payload string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := f.Invoke(context.Background(), []byte(payload))
		var r result
		r.err = err
		if err == nil {
			if uerr := json.Unmarshal(out, &r.reply); uerr != nil {
				r.err = fmt.Errorf("response %q: %w", out, uerr)
			}
		}
		ch <- r
	}()
	return ch
}

// await is the answer on ch, failing the test after eventDeadline.
func await(t *testing.T, what string, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(eventDeadline):
		t.Fatalf("%s: no answer after %s", what, eventDeadline)
		return result{}
	}
}

// holds is a directory for the test function's "hold" action: each held
// invocation writes start-<request id> there, then waits until the test
// writes release (testdata/bootstrap). What runs at once is counted from the
// files, not inferred from durations.
type holds struct{ dir string }

func newHolds(t *testing.T) *holds { return &holds{dir: t.TempDir()} }

func (h *holds) payload() string {
	b, _ := json.Marshal(map[string]string{"action": "hold", "value": h.dir})
	return string(b)
}

func (h *holds) count(prefix string) int {
	m, _ := filepath.Glob(filepath.Join(h.dir, prefix+"*"))
	return len(m)
}

func (h *holds) started() int { return h.count("start-") }

func (h *holds) waitStarted(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d held invocations started", n), func() bool { return h.started() >= n })
}

func (h *holds) release(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestInvokeEchoesWithLambdaContextAndEnv(t *testing.T) {
	t.Setenv("HOME_SECRET", "leaked") // the caller's environment must not reach the function
	f, logs := start(t, FunctionConfig{
		Name:    "echo",
		Memory:  256,
		Timeout: 3 * time.Second,
		Env:     map[string]string{"MY_SETTING": "on"},
	})
	out, rep, err := f.InvokeReport(context.Background(), []byte(`{"value":"hello"}`))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var r reply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.Value != "hello" {
		t.Errorf("value = %q", r.Value)
	}
	if !uuidRE.MatchString(r.RequestID) || rep.RequestID != r.RequestID {
		t.Errorf("request id %q, report's %q: want the same UUID", r.RequestID, rep.RequestID)
	}
	if !strings.HasSuffix(r.FunctionARN, ":function:echo") {
		t.Errorf("function ARN = %q", r.FunctionARN)
	}
	// The deadline is the configured timeout from the invocation's start: still
	// ahead, and never further than 3 s (how far ahead depends on the load).
	if r.DeadlineIn <= 0 || r.DeadlineIn > 3000 {
		t.Errorf("deadline in %d ms, want within the 3 s timeout", r.DeadlineIn)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "echo",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/echo",
		"_HANDLER":                        "bootstrap",
		"MY_SETTING":                      "on",
		"HOME_SECRET":                     "",
	}
	for k, v := range want {
		if r.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, r.Env[k], v)
		}
	}
	if rep.Duration <= 0 || rep.BilledDuration < rep.Duration {
		t.Errorf("report %+v: want a duration and a billed duration", rep)
	}
	// The same warm runtime serves the next invocation.
	r2, err := invoke(t, f, `{"value":"again"}`)
	if err != nil || r2.Pid != r.Pid || r2.RequestID == r.RequestID {
		t.Errorf("second invoke: pid %d (first %d), id %q, err %v", r2.Pid, r.Pid, r2.RequestID, err)
	}
	if o := logs.output(); !strings.Contains(o, "START RequestId: "+r.RequestID) || !strings.Contains(o, "REPORT RequestId: "+r.RequestID) {
		t.Errorf("the emulator's START/REPORT lines are not in the output:\n%s", o)
	}
}

func TestHandlerErrorIsFunctionError(t *testing.T) {
	f, _ := start(t, FunctionConfig{})
	_, err := invoke(t, f, `{"action":"error","value":"x"}`)
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FunctionError", err)
	}
	if fe.Type != "errorString" || fe.Message != "boom: x" {
		t.Errorf("function error = %+v", fe)
	}
	// The runtime survives a handled error.
	if _, err := invoke(t, f, `{}`); err != nil {
		t.Fatalf("after error: %v", err)
	}
}

func TestCrashIsReportedAndRestarted(t *testing.T) {
	f, logs := start(t, FunctionConfig{Timeout: 5 * time.Second})
	before, err := invoke(t, f, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = invoke(t, f, `{"action":"exit"}`)
	if !errors.Is(err, ErrCrashed) {
		t.Fatalf("err = %v, want ErrCrashed", err)
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("crash error %q does not give the exit status", err)
	}
	after, err := invoke(t, f, `{}`)
	if err != nil {
		t.Fatalf("invoke after crash: %v", err)
	}
	if after.Pid == before.Pid || alive(before.Pid) {
		t.Errorf("crashed runtime %d not replaced (now %d)", before.Pid, after.Pid)
	}
	if !strings.Contains(logs.joined(), "exit status 3") {
		t.Errorf("crash not reported; logs:\n%s", logs.joined())
	}
}

func TestPanicIsFunctionErrorThenRestarts(t *testing.T) {
	f, _ := start(t, FunctionConfig{})
	before, _ := invoke(t, f, `{}`)
	_, err := invoke(t, f, `{"action":"panic"}`)
	var fe *FunctionError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "kaboom") || !errors.Is(err, ErrCrashed) {
		t.Fatalf("err = %v, want a function error carrying the panic, and the runtime's exit", err)
	}
	after, err := invoke(t, f, `{}`)
	if err != nil || after.Pid == before.Pid {
		t.Fatalf("after panic: pid %d (before %d), err %v", after.Pid, before.Pid, err)
	}
}

func TestTimeoutKillsAndRestarts(t *testing.T) {
	f, logs := start(t, FunctionConfig{Timeout: 1 * time.Second})
	before, err := invoke(t, f, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	// A held invocation that nobody releases never ends by itself: only the
	// timeout can answer it.
	h := newHolds(t)
	began := time.Now()
	r := await(t, "an invocation past its timeout", invokeAsync(f, h.payload()))
	if !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", r.err)
	}
	if h.started() != 1 {
		t.Errorf("%d held invocations started, want 1 (the one that timed out)", h.started())
	}
	// A lower bound only, which no load can break: the timeout never fires early.
	if took := time.Since(began); took < time.Second {
		t.Errorf("timeout answered after %s, before the 1s timeout", took)
	}
	after, err := invoke(t, f, `{"action":"sleep","ms":10}`)
	if err != nil {
		t.Fatalf("invoke after timeout: %v", err)
	}
	if after.Pid == before.Pid || alive(before.Pid) {
		t.Errorf("timed-out runtime %d not replaced (now %d)", before.Pid, after.Pid)
	}
	if !strings.Contains(logs.joined(), "timed out") {
		t.Errorf("timeout not reported; logs:\n%s", logs.joined())
	}
}

// Four invocations on two sandboxes: two run at once, never more, never one
// by one; counted by the invocations themselves (held until released), not
// inferred from how long they took.
func TestOneInvocationAtATimePerSandbox(t *testing.T) {
	f, _ := start(t, FunctionConfig{Instances: 2, Timeout: 300 * time.Second})
	h := newHolds(t)
	answers := make([]<-chan result, 4)
	for i := range answers {
		answers[i] = invokeAsync(f, h.payload())
	}
	// Two start while none can end: the two sandboxes serve at once.
	h.waitStarted(t, 2)
	if n := h.started(); n != 2 {
		t.Errorf("%d invocations started while none could end, want 2 (one per sandbox)", n)
	}
	h.release(t)
	distinct := map[int]int{}
	for i, ch := range answers {
		r := await(t, fmt.Sprintf("invocation %d", i), ch)
		if r.err != nil {
			t.Fatalf("invocation %d: %v", i, r.err)
		}
		// Each counted the invocations running when it started, itself included.
		if r.reply.InFlight < 1 || r.reply.InFlight > 2 {
			t.Errorf("invocation %d started with %d in flight, want 1 or 2 (two sandboxes)", i, r.reply.InFlight)
		}
		distinct[r.reply.Pid]++
	}
	if n := h.started(); n != 4 {
		t.Errorf("%d invocations started, want 4", n)
	}
	if len(distinct) != 2 {
		t.Errorf("served by %v, want exactly 2 runtimes", distinct)
	}
}

func TestInitFailureIsReportedAndRetried(t *testing.T) {
	f, logs := start(t, FunctionConfig{Name: "broken", Env: map[string]string{"FAIL_INIT": "1"}})
	for i := range 2 {
		_, err := invoke(t, f, `{}`)
		if !errors.Is(err, ErrInitFailed) {
			t.Fatalf("invocation %d: err = %v, want ErrInitFailed", i, err)
		}
	}
	// The runtime's output reaches the log through the emulator's pipe, after
	// the invocation's answer: wait for it rather than read it at once.
	waitFor(t, "the runtime's own error, once per attempt, in its output", func() bool {
		return strings.Count(logs.output(), "FAIL_INIT is set") >= 2
	})
	if n := strings.Count(logs.output(), "FAIL_INIT is set"); n != 2 {
		t.Errorf("the runtime's own error appears %d times in its output, want 2 (one per attempt):\n%s", n, logs.output())
	}
	waitFor(t, "the init failure reported", func() bool { return strings.Contains(logs.joined(), "failed to initialise") })
	if !strings.Contains(logs.joined(), "failed to initialise") {
		t.Errorf("init failure not reported; logs:\n%s", logs.joined())
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := StartFunction(context.Background(), FunctionConfig{Name: "nope", Binary: filepath.Join(t.TempDir(), "bootstrap")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func TestStopLeavesNothingRunning(t *testing.T) {
	f, _ := start(t, FunctionConfig{Instances: 2, Timeout: 300 * time.Second})
	// Both sandboxes start a runtime: two invocations held until both started.
	warm := newHolds(t)
	answers := []<-chan result{invokeAsync(f, warm.payload()), invokeAsync(f, warm.payload())}
	warm.waitStarted(t, 2)
	warm.release(t)
	for i, ch := range answers {
		if r := await(t, "warm-up", ch); r.err != nil {
			t.Fatalf("warm-up %d: %v", i, r.err)
		}
	}
	pids := f.Pids()
	if len(pids) != 4 {
		t.Fatalf("pids = %v, want 2 emulators and their 2 runtimes", pids)
	}
	// An invocation that never ends by itself (held, never released, far from
	// its timeout) is in flight when Stop is called: Stop must not wait for it.
	held := newHolds(t)
	inflight := invokeAsync(f, held.payload())
	held.waitStarted(t, 1)
	stopped := make(chan struct{})
	go func() { f.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(eventDeadline):
		t.Fatalf("Stop has not returned after %s, with an invocation in flight", eventDeadline)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("process %d alive after Stop", p)
		}
	}
	if r := await(t, "the in-flight invocation after Stop", inflight); !errors.Is(r.err, ErrStopped) {
		t.Errorf("in-flight invocation: %v, want ErrStopped", r.err)
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrStopped) {
		t.Errorf("Invoke after Stop: %v, want ErrStopped", err)
	}
}

func TestEmulatorKilledIsRestarted(t *testing.T) {
	f, logs := start(t, FunctionConfig{})
	if _, err := invoke(t, f, `{}`); err != nil {
		t.Fatal(err)
	}
	old := f.EmulatorPids()
	if err := syscall.Kill(old[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an answer after the emulator was killed", func() bool {
		_, err := invoke(t, f, `{}`)
		return err == nil
	})
	if now := f.EmulatorPids(); len(now) != 1 || now[0] == old[0] {
		t.Errorf("emulators %v, before %v", now, old)
	}
	if !strings.Contains(logs.joined(), "emulator (pid") {
		t.Errorf("restart not reported; logs:\n%s", logs.joined())
	}
}

func TestPayloadLimit(t *testing.T) {
	f, _ := start(t, FunctionConfig{})
	big := make([]byte, MaxPayload+1)
	if _, err := f.Invoke(context.Background(), big); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("err = %v, want ErrPayloadTooLarge", err)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   error // nil: a response
		fnErr  bool
	}{
		{200, `{"statusCode":200,"body":"{}"}`, nil, false},
		{200, `{"errorType":"x"}`, nil, true},
		{200, `{"errorMessage":"m","errorType":"t","stackTrace":[]}`, nil, true},
		{200, `{"errorMessage":"m","errorType":"t","statusCode":500}`, nil, false}, // a response that happens to carry those keys
		{200, `{"errorMessage":"m"}`, nil, false},
		{200, `Task timed out after 10.00 seconds`, ErrTimeout, false},
		{502, `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1 Error: Runtime exited with error: exit status 7"}`, ErrCrashed, false},
		{502, `{"errorType":"string","errorMessage":"kaboom"}`, nil, true}, // reported, then exited
		{502, ``, ErrInitFailed, false},
		{400, ``, ErrEmulator, false},
	}
	for _, c := range cases {
		out, err := classify("id", c.status, []byte(c.body))
		var fe *FunctionError
		switch {
		case c.fnErr:
			if !errors.As(err, &fe) {
				t.Errorf("%d %s: err %v, want a FunctionError", c.status, c.body, err)
			}
		case c.want != nil:
			if !errors.Is(err, c.want) {
				t.Errorf("%d %s: err %v, want %v", c.status, c.body, err, c.want)
			}
		default:
			if err != nil || string(out) != c.body {
				t.Errorf("%d %s: got %q, %v; want the body", c.status, c.body, out, err)
			}
		}
	}
}

func TestParseReport(t *testing.T) {
	r := parseReport("REPORT RequestId: abc\tInit Duration: 0.08 ms\tDuration: 73.06 ms\tBilled Duration: 74 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t")
	if r.RequestID != "abc" || r.InitDuration != 80*time.Microsecond || r.Duration != 73060*time.Microsecond || r.BilledDuration != 74*time.Millisecond {
		t.Errorf("%+v", r)
	}
}

func TestFindEmulator(t *testing.T) {
	t.Setenv(EmulatorEnv, filepath.Join(t.TempDir(), "aws-lambda-rie"))
	if _, err := FindEmulator(); !errors.Is(err, ErrNoEmulator) {
		t.Errorf("WEBHOOKS_RIE naming a missing file: %v, want ErrNoEmulator", err)
	}
	// The Makefile installs the version this package expects, where it looks.
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RIE_VERSION := " + EmulatorVersion, "RIE_PKG     := " + EmulatorPackage, "TOOLS_DIR   ?= .run/tools"} {
		if !strings.Contains(string(mk), want) {
			t.Errorf("Makefile lacks %q", want)
		}
	}
	if filepath.ToSlash(EmulatorRelPath) != ".run/tools/aws-lambda-rie-"+EmulatorVersion+"/aws-lambda-rie" {
		t.Errorf("EmulatorRelPath %s", EmulatorRelPath)
	}
}

// BenchmarkInvoke measures the emulator's overhead per invocation (its
// invoke endpoint, the Runtime API round trip and the handler's JSON work).
func BenchmarkInvoke(b *testing.B) {
	emu, skip, err := EmulatorForTests()
	if err != nil {
		b.Fatal(err)
	}
	if skip != "" {
		b.Skip(skip)
	}
	f, err := StartFunction(context.Background(), FunctionConfig{Name: "bench", Binary: testBootstrap(b), Emulator: emu})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Stop()
	payload := []byte(`{"value":"x"}`)
	if _, err := f.Invoke(context.Background(), payload); err != nil { // the runtime's start
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
}
