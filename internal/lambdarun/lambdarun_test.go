package lambdarun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bootstrap is the test function binary, built once for the whole package.
var bootstrap string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdarun-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bootstrap = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "./testdata/bootstrap")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test bootstrap: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type reply struct {
	Value       string            `json:"value"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineIn  int64             `json:"deadlineInMs"`
	Pid         int               `json:"pid"`
	Env         map[string]string `json:"env"`
}

// logSink collects Logf lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) joined() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func start(t *testing.T, cfg Config) (*Function, *logSink) {
	t.Helper()
	logs := &logSink{}
	if cfg.Name == "" {
		cfg.Name = "testfn"
	}
	cfg.Binary = bootstrap
	cfg.Logf = logs.logf
	f, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
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

func TestInvokeEchoesWithLambdaContextAndEnv(t *testing.T) {
	f, _ := start(t, Config{
		Name:    "echo",
		Memory:  256,
		Timeout: 3 * time.Second,
		Env:     map[string]string{"MY_SETTING": "on"},
	})
	t.Setenv("HOME_SECRET", "leaked") // the caller's environment must not reach the function
	r, err := invoke(t, f, `{"value":"hello"}`)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if r.Value != "hello" {
		t.Errorf("value = %q", r.Value)
	}
	if len(r.RequestID) != 36 {
		t.Errorf("request id = %q, want a UUID", r.RequestID)
	}
	if r.FunctionARN != "arn:aws:lambda:us-east-1:000000000000:function:echo" {
		t.Errorf("function ARN = %q", r.FunctionARN)
	}
	if r.DeadlineIn <= 2000 || r.DeadlineIn > 3000 {
		t.Errorf("deadline in %d ms, want about 3000", r.DeadlineIn)
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
	if !strings.HasPrefix(r.Env["_X_AMZN_TRACE_ID"], "Root=1-") {
		t.Errorf("trace id = %q", r.Env["_X_AMZN_TRACE_ID"])
	}
	// The same warm process serves the next invocation.
	r2, err := invoke(t, f, `{"value":"again"}`)
	if err != nil || r2.Pid != r.Pid || r2.RequestID == r.RequestID {
		t.Errorf("second invoke: pid %d (first %d), id %q, err %v", r2.Pid, r.Pid, r2.RequestID, err)
	}
}

func TestHandlerErrorIsFunctionError(t *testing.T) {
	f, _ := start(t, Config{})
	_, err := invoke(t, f, `{"action":"error","value":"x"}`)
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FunctionError", err)
	}
	if fe.Type != "errorString" || fe.Message != "boom: x" {
		t.Errorf("function error = %+v", fe)
	}
	// The process survives a handled error.
	if _, err := invoke(t, f, `{}`); err != nil {
		t.Fatalf("after error: %v", err)
	}
}

func TestCrashIsReportedAndRestarted(t *testing.T) {
	f, logs := start(t, Config{Timeout: 5 * time.Second})
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
	if after.Pid == before.Pid {
		t.Errorf("same pid %d after a crash: not restarted", after.Pid)
	}
	if alive(before.Pid) {
		t.Errorf("crashed process %d still alive", before.Pid)
	}
	if !strings.Contains(logs.joined(), "crashed during request") {
		t.Errorf("crash not reported; logs:\n%s", logs.joined())
	}
}

func TestPanicAnswersWithErrorThenRestarts(t *testing.T) {
	f, _ := start(t, Config{})
	before, _ := invoke(t, f, `{}`)
	_, err := invoke(t, f, `{"action":"panic"}`)
	var fe *FunctionError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "kaboom") {
		t.Fatalf("err = %v, want a function error carrying the panic", err)
	}
	after, err := invoke(t, f, `{}`)
	if err != nil || after.Pid == before.Pid {
		t.Fatalf("after panic: pid %d (before %d), err %v", after.Pid, before.Pid, err)
	}
}

func TestTimeoutKillsAndRestarts(t *testing.T) {
	f, logs := start(t, Config{Timeout: 300 * time.Millisecond})
	before, _ := invoke(t, f, `{}`)
	began := time.Now()
	_, err := invoke(t, f, `{"action":"sleep","ms":5000}`)
	took := time.Since(began)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if took > 2*time.Second {
		t.Errorf("timeout answered after %s", took)
	}
	after, err := invoke(t, f, `{"action":"sleep","ms":10}`)
	if err != nil {
		t.Fatalf("invoke after timeout: %v", err)
	}
	if after.Pid == before.Pid || alive(before.Pid) {
		t.Errorf("timed-out process %d not replaced (now %d)", before.Pid, after.Pid)
	}
	if !strings.Contains(logs.joined(), "timed out") {
		t.Errorf("timeout not reported; logs:\n%s", logs.joined())
	}
}

func TestOneInvocationAtATimePerProcess(t *testing.T) {
	f, _ := start(t, Config{Instances: 2, Timeout: 5 * time.Second})
	var wg sync.WaitGroup
	pids := make([]int, 4)
	began := time.Now()
	for i := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := invoke(t, f, `{"action":"sleep","ms":200}`)
			if err != nil {
				t.Error(err)
			}
			pids[i] = r.Pid
		}()
	}
	wg.Wait()
	took := time.Since(began)
	// Four 200 ms invocations on two processes: two rounds, never four at once, never one by one.
	if took < 400*time.Millisecond || took > 750*time.Millisecond {
		t.Errorf("4 invocations on 2 instances took %s, want about 400ms", took)
	}
	distinct := map[int]int{}
	for _, p := range pids {
		distinct[p]++
	}
	if len(distinct) != 2 {
		t.Errorf("served by %v, want exactly 2 processes", distinct)
	}
}

func TestInitFailureFailsStart(t *testing.T) {
	_, err := Start(context.Background(), Config{
		Name:   "broken",
		Binary: bootstrap,
		Env:    map[string]string{"FAIL_INIT": "1"},
	})
	if !errors.Is(err, ErrInitFailed) {
		t.Fatalf("err = %v, want ErrInitFailed", err)
	}
	if !strings.Contains(err.Error(), "FAIL_INIT is set") {
		t.Errorf("error %q does not carry the process output", err)
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := Start(context.Background(), Config{Name: "nope", Binary: filepath.Join(t.TempDir(), "bootstrap")})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func TestStopLeavesNothingRunning(t *testing.T) {
	f, _ := start(t, Config{Instances: 2, Timeout: 5 * time.Second})
	pids := f.Pids()
	if len(pids) != 2 {
		t.Fatalf("pids = %v", pids)
	}
	inflight := make(chan error, 1)
	go func() {
		_, err := f.Invoke(context.Background(), []byte(`{"action":"sleep","ms":3000}`))
		inflight <- err
	}()
	time.Sleep(100 * time.Millisecond)
	began := time.Now()
	f.Stop()
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("Stop took %s", d)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("process %d alive after Stop", p)
		}
	}
	select {
	case err := <-inflight:
		if err == nil {
			t.Errorf("in-flight invocation succeeded after Stop")
		}
	case <-time.After(2 * time.Second):
		t.Errorf("in-flight invocation not answered after Stop")
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrStopped) {
		t.Errorf("Invoke after Stop: %v, want ErrStopped", err)
	}
}

func TestPayloadLimit(t *testing.T) {
	f, _ := start(t, Config{})
	big := make([]byte, MaxPayload+1)
	if _, err := f.Invoke(context.Background(), big); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("err = %v, want ErrPayloadTooLarge", err)
	}
}

// BenchmarkInvoke measures the local runtime's overhead per invocation
// (loopback Runtime API round trip plus the handler's JSON work).
func BenchmarkInvoke(b *testing.B) {
	f, err := Start(context.Background(), Config{Name: "bench", Binary: bootstrap})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Stop()
	payload := []byte(`{"value":"x"}`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.InitDuration().Microseconds()), "init-µs")
}
