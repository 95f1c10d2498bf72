package localrun

// The Lambda runtime: each function's real bootstrap runs under the official
// AWS Lambda Runtime Interface Emulator (emulator.go), in the emulator's
// classic mode, the one the SAM CLI uses. One emulator process is one sandbox:
// it owns its own loopback Runtime API (--runtime-api-address) and invoke
// address (--runtime-interface-emulator-address), starts the bootstrap on the
// first invocation (Lambda's on-demand init), enforces the function timeout,
// kills and re-initialises the runtime after a timeout or a crash, and prints
// START/END/REPORT lines as Lambda does. A Function is a pool of such
// sandboxes; each takes one invocation at a time, as a Lambda sandbox does
// (the classic emulator also cannot take more: a second concurrent invocation
// makes it panic).

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// MaxPayload is Lambda's limit for a synchronous invocation's request and
// response payloads (6 MB).
const MaxPayload = 6 * 1024 * 1024

// Errors returned by Invoke; callers test for them with errors.Is or errors.As.
// A request over MaxPayload is ErrPayloadTooLarge (the gateway's 413).
var (
	// ErrStopped: the function was stopped before or during the invocation.
	ErrStopped = errors.New("localrun: function stopped")
	// ErrTimeout: the invocation ran past the function's timeout; the emulator
	// killed the runtime, and the next invocation starts a new one.
	ErrTimeout = errors.New("localrun: task timed out")
	// ErrCrashed: the runtime (or its emulator) exited during the invocation.
	ErrCrashed = errors.New("localrun: runtime exited during the invocation")
	// ErrInitFailed: the runtime exited before it asked for the invocation; the
	// emulator tries to start it again on the next invocation.
	ErrInitFailed = errors.New("localrun: runtime failed to initialise")
	// ErrEmulator: the emulator did not start, or answered something no Lambda would.
	ErrEmulator = errors.New("localrun: emulator failure")
)

// FunctionError is the error a handler returned (or a panic it raised), as
// the runtime reported it on /invocation/{id}/error and the emulator answered
// it: a 200 whose body is {"errorType","errorMessage"[,"stackTrace"]}. The
// classic emulator sets no X-Amz-Function-Error header, so the body's shape
// is what tells it apart, as `sam local start-api` does.
type FunctionError struct {
	Type    string          `json:"errorType"`
	Message string          `json:"errorMessage"`
	Stack   json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// FunctionConfig describes one function.
type FunctionConfig struct {
	Name   string            // function name, e.g. "webhooks-local-<provider>"
	Binary string            // path of the bootstrap executable
	Env    map[string]string // the function's own environment (added to Lambda's variables)
	Memory int               // MB, reported to the function; default 128
	// Timeout per invocation, in whole seconds as on Lambda (rounded up); default 10s.
	Timeout time.Duration
	// Instances is how many sandboxes (emulators) serve invocations
	// concurrently, one each at a time; default 1.
	Instances int
	// Emulator is the aws-lambda-rie executable; default FindEmulator().
	Emulator string
	// EmulatorLogLevel is the emulator's own log level (--log-level); default
	// "warn" (crashes, timeouts). "info" adds its INIT and INVOKE lines, which
	// InvokeReport reads the init phase from.
	EmulatorLogLevel string
	// StartTimeout bounds how long an emulator may take to listen; default 10s.
	StartTimeout time.Duration
	// Output receives the emulators' and the functions' stdout and stderr,
	// whole lines at a time; nil discards them.
	Output io.Writer
	// Logf reports runtime events (crashes, timeouts, init failures); nil discards them.
	Logf func(format string, args ...any)
}

// Report is what the emulator printed about one invocation, as Lambda writes
// it to CloudWatch Logs.
type Report struct {
	RequestID      string
	Duration       time.Duration // REPORT … Duration
	BilledDuration time.Duration // REPORT … Billed Duration
	// InitDuration is the REPORT line's Init Duration, printed on an
	// emulator's first invocation only. This emulator starts the runtime
	// asynchronously and times only that call, so it is a fraction of a
	// millisecond: use InitPhase.
	InitDuration time.Duration
	// InitPhase is the emulator's "INIT REPORT(durationMs: …)": from starting
	// the runtime process to its first request for work, for an invocation that
	// started a runtime (logged at EmulatorLogLevel "info" only; 0 otherwise).
	// Duration then includes it.
	InitPhase time.Duration
}

// Function is a started function. Its methods are safe for concurrent use.
type Function struct {
	cfg       FunctionConfig
	env       []string
	sandboxes []*sandbox
	idle      chan *sandbox
	stopping  chan struct{}
	stopCtx   context.Context
	cancel    context.CancelFunc
	stopOnce  sync.Once
	outMu     sync.Mutex
	client    *http.Client
	startTime time.Duration
}

// StartFunction starts the function's emulators and waits until each listens.
// The bootstrap itself starts on a sandbox's first invocation, as on Lambda.
// On error nothing is left running.
func StartFunction(ctx context.Context, cfg FunctionConfig) (*Function, error) {
	if cfg.Name == "" || cfg.Binary == "" {
		return nil, errors.New("localrun: FunctionConfig needs Name and Binary")
	}
	abs, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("localrun: %s: %w", cfg.Name, err)
	}
	cfg.Binary = abs
	if _, err := os.Stat(cfg.Binary); err != nil {
		return nil, fmt.Errorf("localrun: %s: %w", cfg.Name, err)
	}
	if cfg.Emulator == "" {
		if cfg.Emulator, err = FindEmulator(); err != nil {
			return nil, err
		}
	}
	if cfg.Memory <= 0 {
		cfg.Memory = 128
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	cfg.Timeout = time.Duration(math.Ceil(cfg.Timeout.Seconds())) * time.Second
	if cfg.Instances <= 0 {
		cfg.Instances = 1
	}
	if cfg.EmulatorLogLevel == "" {
		cfg.EmulatorLogLevel = "warn"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	f := &Function{
		cfg:      cfg,
		idle:     make(chan *sandbox, cfg.Instances),
		stopping: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{
			Proxy:               nil, // loopback only, whatever HTTP_PROXY says
			MaxIdleConnsPerHost: 2,
			DisableCompression:  true,
		}},
	}
	f.stopCtx, f.cancel = context.WithCancel(context.Background())
	f.env = f.environ()

	began := time.Now()
	errs := make([]error, cfg.Instances)
	f.sandboxes = make([]*sandbox, cfg.Instances)
	var wg sync.WaitGroup
	for i := range f.sandboxes {
		sb := &sandbox{f: f, index: i, changed: make(chan struct{}), done: make(chan struct{})}
		f.sandboxes[i] = sb
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := sb.spawn(ctx)
			if err != nil {
				errs[i] = err
				close(sb.done)
				return
			}
			sb.proc = p
			go sb.supervise()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		f.Stop()
		return nil, err
	}
	f.startTime = time.Since(began)
	for _, sb := range f.sandboxes {
		f.idle <- sb
	}
	return f, nil
}

// Name is the function's name.
func (f *Function) Name() string { return f.cfg.Name }

// Timeout is the per-invocation timeout the emulators enforce.
func (f *Function) Timeout() time.Duration { return f.cfg.Timeout }

// StartDuration is how long StartFunction took until every emulator listened.
func (f *Function) StartDuration() time.Duration { return f.startTime }

// EmulatorPids lists the emulator processes, one per sandbox.
func (f *Function) EmulatorPids() []int {
	var pids []int
	for _, sb := range f.sandboxes {
		if p := sb.running(); p != nil {
			pids = append(pids, p.cmd.Process.Pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// Pids lists every process of the function: the emulators and the runtimes
// they started (a runtime exists once its sandbox took an invocation).
func (f *Function) Pids() []int {
	emus := f.EmulatorPids()
	pids := append([]int(nil), emus...)
	for _, pid := range emus {
		pids = append(pids, childPids(pid)...)
	}
	sort.Ints(pids)
	return pids
}

// Invoke runs one invocation synchronously (RequestResponse) and returns the
// function's response payload. A handler error is a *FunctionError; a
// timeout, crash, init failure or stop is ErrTimeout, ErrCrashed,
// ErrInitFailed or ErrStopped (wrapped). When ctx ends first Invoke returns
// ctx.Err(), and the invocation still runs to its end in its sandbox, as it
// would on Lambda.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, _, err := f.invoke(ctx, payload, false)
	return out, err
}

// InvokeReport is Invoke that also returns the emulator's report of the
// invocation (when it printed one: not for a crash).
func (f *Function) InvokeReport(ctx context.Context, payload []byte) ([]byte, Report, error) {
	return f.invoke(ctx, payload, true)
}

func (f *Function) invoke(ctx context.Context, payload []byte, wantReport bool) ([]byte, Report, error) {
	if len(payload) > MaxPayload {
		return nil, Report{}, fmt.Errorf("%w: a %d-byte request is over Lambda's 6 MB invocation limit", ErrPayloadTooLarge, len(payload))
	}
	var sb *sandbox
	select {
	case sb = <-f.idle:
	case <-f.stopping:
		return nil, Report{}, ErrStopped
	case <-ctx.Done():
		return nil, Report{}, ctx.Err()
	}
	id := invocationID(ctx) // the Invoke API's request id, when it is the caller
	if id == "" {
		id = NewUUID()
	}
	inv := &invocation{id: id, payload: payload, report: wantReport, done: make(chan struct{})}
	go func() {
		sb.run(inv)
		f.idle <- sb
	}()
	select {
	case <-inv.done:
		return inv.body, inv.rep, inv.err
	case <-ctx.Done():
		return nil, Report{}, ctx.Err()
	}
}

// Stop ends every emulator (SIGTERM: it kills its runtime and exits; SIGKILL
// after three seconds) and any runtime left behind, and waits for them.
// Invocations in flight are answered with ErrStopped.
func (f *Function) Stop() {
	f.stopOnce.Do(func() {
		close(f.stopping)
		f.cancel()
		var wg sync.WaitGroup
		for _, sb := range f.sandboxes {
			wg.Add(1)
			go func() { defer wg.Done(); sb.stop() }()
		}
		wg.Wait()
		f.client.CloseIdleConnections()
	})
}

// environ is the emulator's environment, which it hands on to the bootstrap:
// a clean one, as on Lambda (the caller's credentials or profile never leak
// in), with Lambda's variables and the function's own.
func (f *Function) environ() []string {
	c := f.cfg
	dir := filepath.Dir(c.Binary)
	m := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        c.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(c.Memory),
		// Read by the emulator: its timeout, in seconds.
		"AWS_LAMBDA_FUNCTION_TIMEOUT":    strconv.Itoa(int(c.Timeout / time.Second)),
		"AWS_LAMBDA_FUNCTION_VERSION":    "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":      "/aws/lambda/" + c.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":     time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(randomBytes(16)),
		"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
		"_HANDLER":                       "bootstrap",
		"LAMBDA_TASK_ROOT":               dir,
		"LAMBDA_RUNTIME_DIR":             dir,
		"TZ":                             ":UTC",
		"LANG":                           "en_US.UTF-8",
		"PATH":                           "/usr/local/bin:/usr/bin:/bin",
	}
	for k, v := range c.Env {
		m[k] = v
	}
	if r := c.Env["AWS_REGION"]; r != "" && c.Env["AWS_DEFAULT_REGION"] == "" {
		m["AWS_DEFAULT_REGION"] = r
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

var _ Invoker = (*Function)(nil)
