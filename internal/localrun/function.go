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
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"webhooks/internal/awskit"
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
		id = newUUID()
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

type invocation struct {
	id      string
	payload []byte
	report  bool
	done    chan struct{}
	body    []byte
	rep     Report
	err     error
}

func (inv *invocation) finish(body []byte, rep Report, err error) {
	inv.body, inv.rep, inv.err = body, rep, err
	close(inv.done)
}

// sandbox is one emulator, restarted if it ever exits on its own.
type sandbox struct {
	f     *Function
	index int

	mu      sync.Mutex
	proc    *emulator     // nil while restarting
	changed chan struct{} // closed and replaced when proc changes
	done    chan struct{} // closed when the supervisor returns
}

// emulator is one run of aws-lambda-rie.
type emulator struct {
	cmd    *exec.Cmd
	url    string // its invoke endpoint
	exited chan struct{}
	out    *emulatorOutput
}

func (sb *sandbox) running() *emulator {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.proc
}

func (sb *sandbox) setProc(p *emulator) {
	sb.mu.Lock()
	sb.proc = p
	close(sb.changed)
	sb.changed = make(chan struct{})
	sb.mu.Unlock()
}

// spawn starts an emulator on two free loopback ports and waits until it
// listens. A port taken between choosing and binding makes it exit: then it
// tries other ports, three times in all.
func (sb *sandbox) spawn(ctx context.Context) (*emulator, error) {
	c := sb.f.cfg
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		invokeAddr, apiAddr, err := twoFreeAddrs()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: choose ports: %v", ErrEmulator, c.Name, err)
		}
		out := &emulatorOutput{f: sb.f, tail: tailBuffer{max: 4096}, waiting: map[string]chan Report{}}
		cmd := exec.Command(c.Emulator,
			"--log-level", c.EmulatorLogLevel,
			"--runtime-interface-emulator-address", invokeAddr,
			"--runtime-api-address", apiAddr,
			c.Binary)
		cmd.Env = sb.f.env
		cmd.Dir = filepath.Dir(c.Binary)
		cmd.Stdout, cmd.Stderr = out, out // one pipe: lines keep their order
		cmd.SysProcAttr = emulatorProcAttr()
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("%w: %s: start %s: %v", ErrEmulator, c.Name, c.Emulator, err)
		}
		p := &emulator{cmd: cmd, url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", exited: make(chan struct{}), out: out}
		go func() { _ = cmd.Wait(); close(p.exited) }()
		if err := waitListening(ctx, invokeAddr, cmd.Process.Pid, p.exited, c.StartTimeout); err != nil {
			terminate(p)
			lastErr = fmt.Errorf("%w: %s: the emulator did not start: %v; its output: %s", ErrEmulator, c.Name, err, lastLines(out.tail.String(), 3))
			if ctx.Err() != nil || !strings.Contains(out.tail.String(), "address already in use") {
				return nil, lastErr
			}
			continue
		}
		return p, nil
	}
	return nil, lastErr
}

// waitListening waits until the emulator (process group pgid) listens on
// addr. Only its own socket counts: the port was free when chosen, and
// another process may have taken it since (then the emulator exits, and
// spawn tries other ports).
func waitListening(ctx context.Context, addr string, pgid int, exited <-chan struct{}, limit time.Duration) error {
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			select {
			case <-exited:
				return errors.New("it exited")
			default:
				if awskit.OwnsListeningPort(pgid, port) {
					return nil
				}
			}
		}
		select {
		case <-exited:
			return errors.New("it exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s", addr, limit)
		}
	}
}

// supervise restarts the emulator if it exits while the function runs (it
// should not: it handles runtime crashes itself).
func (sb *sandbox) supervise() {
	defer close(sb.done)
	backoff := 100 * time.Millisecond
	for {
		p := sb.running()
		select {
		case <-p.exited:
		case <-sb.f.stopping:
			return
		}
		select {
		case <-sb.f.stopping:
			return
		default:
		}
		sb.setProc(nil)
		sb.f.cfg.Logf("%s: emulator (pid %d) exited (%s; last output: %s); starting a new one", sb.f.cfg.Name, p.cmd.Process.Pid,
			p.cmd.ProcessState, lastLines(p.out.tail.String(), 2))
		for {
			select {
			case <-sb.f.stopping:
				return
			case <-time.After(backoff):
			}
			np, err := sb.spawn(sb.f.stopCtx)
			if err == nil {
				sb.setProc(np)
				backoff = 100 * time.Millisecond
				break
			}
			sb.f.cfg.Logf("%s: %v", sb.f.cfg.Name, err)
			backoff = min(backoff*2, 5*time.Second)
		}
	}
}

// current waits (up to limit) for a running emulator.
func (sb *sandbox) current(limit time.Duration) *emulator {
	deadline := time.After(limit)
	for {
		sb.mu.Lock()
		p, changed := sb.proc, sb.changed
		sb.mu.Unlock()
		if p != nil {
			select {
			case <-p.exited:
			default:
				return p
			}
		}
		select {
		case <-changed:
		case <-deadline:
			return nil
		case <-sb.f.stopping:
			return nil
		}
	}
}

// undeliveredRetries is how many times an invocation that never reached its
// emulator (the connection was refused: the emulator exited, for example
// because another process took one of its ports as it started) is sent again
// to the emulator the supervisor starts in its place.
const undeliveredRetries = 3

// run sends inv to this sandbox's emulator and reads the answer. It returns
// when the sandbox may take the next invocation. An invocation the emulator
// never received (connection refused) is sent again, up to
// undeliveredRetries times, once the sandbox has a running emulator: nothing
// of it ran, so nothing runs twice.
func (sb *sandbox) run(inv *invocation) {
	for attempt := 0; ; attempt++ {
		p := sb.current(sb.f.cfg.Timeout)
		if p == nil {
			if sb.stopped() {
				inv.finish(nil, Report{}, ErrStopped)
				return
			}
			inv.finish(nil, Report{}, fmt.Errorf("%w (request %s): its emulator is not running", ErrCrashed, inv.id))
			return
		}
		if !sb.send(p, inv, attempt < undeliveredRetries) {
			return
		}
		// Not delivered: wait for the supervisor to notice the exit (or a
		// moment, if the emulator is still up), then try again.
		select {
		case <-p.exited:
		case <-time.After(200 * time.Millisecond):
		case <-sb.f.stopping:
		}
	}
}

// send sends inv to emulator p and finishes it, unless the connection was
// refused (the request never reached the emulator) and retry is set: then it
// reports true, and inv is not finished.
func (sb *sandbox) send(p *emulator, inv *invocation, retry bool) (undelivered bool) {
	c := sb.f.cfg
	var reports chan Report
	if inv.report {
		reports = p.out.expect(inv.id)
		defer p.out.forget(inv.id)
	}
	// The emulator enforces the timeout; this deadline only catches an emulator that hangs.
	ctx, cancel := context.WithTimeout(sb.f.stopCtx, c.Timeout+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(inv.payload))
	if err != nil {
		inv.finish(nil, Report{}, err)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", inv.id)
	resp, err := sb.f.client.Do(req)
	var status int
	var body []byte
	if err == nil {
		status = resp.StatusCode
		body, err = io.ReadAll(io.LimitReader(resp.Body, MaxPayload+1))
		resp.Body.Close()
	}
	if err != nil {
		switch {
		case sb.stopped():
			inv.finish(nil, Report{}, ErrStopped)
		case ctx.Err() != nil:
			c.Logf("%s: emulator did not answer request %s within %s; killing it", c.Name, inv.id, c.Timeout+10*time.Second)
			terminate(p) // the supervisor starts another
			inv.finish(nil, Report{}, fmt.Errorf("%w (request %s): the emulator did not answer", ErrTimeout, inv.id))
		case retry && errors.Is(err, syscall.ECONNREFUSED):
			c.Logf("%s: request %s did not reach its emulator (%v); sending it again", c.Name, inv.id, err)
			return true
		default:
			inv.finish(nil, Report{}, fmt.Errorf("%w (request %s): the emulator exited: %v", ErrCrashed, inv.id, err))
		}
		return false
	}
	out, err := classify(inv.id, status, body)
	switch {
	case errors.Is(err, ErrTimeout):
		c.Logf("%s: request %s timed out after %s; the emulator killed the runtime (the next invocation starts a new one)", c.Name, inv.id, c.Timeout)
	case errors.Is(err, ErrCrashed):
		c.Logf("%s: %v; the next invocation starts a new runtime", c.Name, err)
	case errors.Is(err, ErrInitFailed):
		c.Logf("%s: %v; the next invocation tries again", c.Name, err)
	}
	rep := Report{RequestID: inv.id}
	if reports != nil && !errors.Is(err, ErrCrashed) && !errors.Is(err, ErrInitFailed) {
		// The emulator prints REPORT before it answers; give the pipe a moment.
		select {
		case rep = <-reports:
		case <-time.After(500 * time.Millisecond):
		}
	}
	inv.finish(out, rep, err)
	return false
}

// classify maps the classic emulator's answer to the invocation's outcome:
//
//	200 "Task timed out after N.00 seconds"     the timeout (runtime killed)
//	200 {"errorType","errorMessage"[,"stackTrace"]}  a function error
//	200 anything else                           the function's response
//	502 {"errorType":"Runtime.ExitError",…}     the runtime exited during the invocation
//	502 {"errorType":<other>,…}                 the runtime reported a function error, then
//	                                            exited (aws-lambda-go after a panic)
//	502 empty                                   the runtime exited during init
func classify(id string, status int, body []byte) ([]byte, error) {
	switch {
	case status == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out after")):
		return nil, fmt.Errorf("%w (request %s): %s", ErrTimeout, id, body)
	case status == http.StatusOK && len(body) > MaxPayload:
		return nil, &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("response over Lambda's %d-byte limit", MaxPayload)}
	case status == http.StatusOK:
		if fe := asFunctionError(body); fe != nil {
			return nil, fe
		}
		return body, nil
	case status == http.StatusBadGateway && len(bytes.TrimSpace(body)) == 0:
		return nil, fmt.Errorf("%w (request %s): the runtime exited before it asked for work (its output is in the function's log)", ErrInitFailed, id)
	case status == http.StatusBadGateway:
		var fe FunctionError
		if json.Unmarshal(body, &fe) == nil && fe.Type != "" {
			if strings.HasPrefix(fe.Type, "Runtime.") || strings.HasPrefix(fe.Type, "Sandbox.") {
				return nil, fmt.Errorf("%w (request %s): %s: %s", ErrCrashed, id, fe.Type, fe.Message)
			}
			return nil, fmt.Errorf("%w (request %s: it reported %w)", ErrCrashed, id, &fe)
		}
		return nil, fmt.Errorf("%w (request %s): %s", ErrCrashed, id, truncate(string(body), 200))
	}
	return nil, fmt.Errorf("%w: request %s answered %d %s", ErrEmulator, id, status, truncate(string(body), 200))
}

// asFunctionError recognises an error response: a JSON object of errorType,
// errorMessage and optionally stackTrace, nothing else.
func asFunctionError(body []byte) *FunctionError {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(b, &keys) != nil {
		return nil
	}
	if _, ok := keys["errorType"]; !ok {
		return nil
	}
	for k := range keys {
		if k != "errorType" && k != "errorMessage" && k != "stackTrace" {
			return nil
		}
	}
	fe := &FunctionError{}
	if json.Unmarshal(b, fe) != nil {
		return nil
	}
	return fe
}

func (sb *sandbox) stopped() bool {
	select {
	case <-sb.f.stopping:
		return true
	default:
		return false
	}
}

func (sb *sandbox) stop() {
	if p := sb.running(); p != nil {
		terminate(p)
	}
	<-sb.done
	// An emulator may have been started between the read above and the stop.
	if p := sb.running(); p != nil {
		terminate(p)
	}
}

// terminate ends an emulator by its pid: SIGTERM makes it kill its runtime
// and exit; SIGKILL after three seconds. Runtimes it leaves behind are killed
// by their pids.
func terminate(p *emulator) {
	if p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	pid := p.cmd.Process.Pid
	children := childPids(pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-p.exited
	}
	for _, c := range children {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
}

// childPids lists the processes whose parent is pid, from /proc (Linux; none elsewhere).
func childPids(pid int) []int {
	var out []int
	for child := range Children(func(ppid int) bool { return ppid == pid }) {
		out = append(out, child)
	}
	return out
}

// Children maps each process whose parent is one isParent accepts to that
// parent, reading /proc once (Linux; none elsewhere).
func Children(isParent func(ppid int) bool) map[int]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil && isParent(ppid) {
			out[pid] = ppid
		}
	}
	return out
}

func twoFreeAddrs() (string, string, error) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	defer a.Close()
	b, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	defer b.Close()
	return a.Addr().String(), b.Addr().String(), nil
}

// emulatorOutput receives one emulator's stdout and stderr: it passes whole
// lines to the function's Output, keeps the last few for error messages, and
// reads the START, INIT REPORT and REPORT lines for InvokeReport.
type emulatorOutput struct {
	f       *Function
	tail    tailBuffer
	mu      sync.Mutex
	partial []byte
	current string        // request id of the last START line
	init    time.Duration // INIT REPORT seen since that START
	waiting map[string]chan Report
}

func (o *emulatorOutput) Write(p []byte) (int, error) {
	o.tail.Write(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		line := o.partial[:i+1]
		o.line(strings.TrimRight(string(line), "\r\n"))
		o.f.outMu.Lock()
		_, _ = o.f.cfg.Output.Write(line)
		o.f.outMu.Unlock()
		o.partial = o.partial[i+1:]
	}
	if len(o.partial) > 64*1024 { // a runaway line: pass it on unsplit
		o.f.outMu.Lock()
		_, _ = o.f.cfg.Output.Write(o.partial)
		o.f.outMu.Unlock()
		o.partial = nil
	}
	return len(p), nil
}

// line reads the emulator's own lines; the caller holds o.mu.
func (o *emulatorOutput) line(s string) {
	switch {
	case strings.HasPrefix(s, "START RequestId: "):
		o.current, _, _ = strings.Cut(strings.TrimPrefix(s, "START RequestId: "), " ")
		o.init = 0
	case strings.Contains(s, "INIT REPORT(durationMs: "):
		_, v, _ := strings.Cut(s, "INIT REPORT(durationMs: ")
		v, _, _ = strings.Cut(v, ")")
		if ms, err := strconv.ParseFloat(v, 64); err == nil {
			o.init = msDuration(ms)
		}
	case strings.HasPrefix(s, "REPORT RequestId: "):
		rep := parseReport(s)
		if rep.RequestID == o.current {
			rep.InitPhase = o.init
		}
		if ch := o.waiting[rep.RequestID]; ch != nil {
			ch <- rep
			delete(o.waiting, rep.RequestID)
		}
	}
}

func (o *emulatorOutput) expect(id string) chan Report {
	ch := make(chan Report, 1)
	o.mu.Lock()
	o.waiting[id] = ch
	o.mu.Unlock()
	return ch
}

func (o *emulatorOutput) forget(id string) {
	o.mu.Lock()
	delete(o.waiting, id)
	o.mu.Unlock()
}

// parseReport reads "REPORT RequestId: <id>\t[Init Duration: X ms\t]Duration:
// X ms\tBilled Duration: X ms\tMemory Size: …".
func parseReport(s string) Report {
	var r Report
	for i, field := range strings.Split(strings.TrimPrefix(s, "REPORT "), "\t") {
		k, v, ok := strings.Cut(field, ": ")
		if !ok {
			continue
		}
		if i == 0 && k == "RequestId" {
			r.RequestID = strings.TrimSpace(v)
			continue
		}
		ms, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "ms")), 64)
		if err != nil {
			continue
		}
		switch k {
		case "Init Duration":
			r.InitDuration = msDuration(ms)
		case "Duration":
			r.Duration = msDuration(ms)
		case "Billed Duration":
			r.BilledDuration = msDuration(ms)
		}
	}
	return r
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// ---- helpers ----

func newUUID() string {
	b := randomBytes(16)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

var _ Invoker = (*Function)(nil)
