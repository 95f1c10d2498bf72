// Package lambdarun runs a Lambda function's real bootstrap binary on this
// machine, behind a local implementation of the AWS Lambda Runtime API
// (version 2018-06-01). It is local tooling: never deployed.
//
// Each Function owns a small pool of instances. An instance is one child
// process plus its own loopback Runtime API server, so it handles one
// invocation at a time, as Lambda does. A process that exits is restarted and
// the crash is reported; an invocation that runs past the timeout is answered
// with an error and its process is killed and restarted, as Lambda resets a
// sandbox that timed out.
package lambdarun

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
)

// MaxPayload is Lambda's limit for a synchronous invocation's request and
// response payloads (6 MB).
const MaxPayload = 6 * 1024 * 1024

// Errors returned by Invoke; callers test for them with errors.Is or errors.As.
var (
	// ErrStopped: the function was stopped before or during the invocation.
	ErrStopped = errors.New("lambdarun: function stopped")
	// ErrTimeout: the invocation ran past the function's timeout; its process was killed and restarted.
	ErrTimeout = errors.New("lambdarun: task timed out")
	// ErrCrashed: the process exited while it held the invocation; it was restarted.
	ErrCrashed = errors.New("lambdarun: runtime exited during the invocation")
	// ErrInitFailed: the process keeps exiting (or reports an init error) before it asks for work.
	ErrInitFailed = errors.New("lambdarun: runtime failed to initialise")
	// ErrPayloadTooLarge: the request or the response is over MaxPayload.
	ErrPayloadTooLarge = errors.New("lambdarun: payload over the 6 MB invocation limit")
)

// FunctionError is the error a handler returned (or a panic it raised), as the
// runtime reported it on /invocation/{id}/error.
type FunctionError struct {
	Type    string          `json:"errorType"`
	Message string          `json:"errorMessage"`
	Stack   json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Config describes one function.
type Config struct {
	Name    string            // function name, e.g. "tiki"
	Binary  string            // path of the bootstrap executable
	Env     map[string]string // the function's own environment (added to the standard Lambda variables)
	Memory  int               // MB, reported to the runtime; default 128
	Timeout time.Duration     // per invocation; default 10s
	// Instances is how many processes serve invocations concurrently; default 1.
	Instances int
	// StartTimeout bounds how long Start waits for every process to ask for
	// its first invocation; default 10s.
	StartTimeout time.Duration
	// Output receives the processes' stdout and stderr; nil discards them.
	Output io.Writer
	// Logf reports runtime events (crashes, restarts, timeouts); nil discards them.
	Logf func(format string, args ...any)
	// Region and AccountID make up the invoked function ARN; defaults us-east-1 and 000000000000.
	Region, AccountID string
}

// Function is a started function. Its methods are safe for concurrent use.
type Function struct {
	cfg       Config
	arn       string
	instances []*instance
	idle      chan *instance
	stopping  chan struct{}
	stopOnce  sync.Once
	initTime  time.Duration
}

// Start launches the function's processes and waits until each has asked the
// Runtime API for work. It fails, leaving nothing running, when a process
// exits or reports an init error first.
func Start(ctx context.Context, cfg Config) (*Function, error) {
	if cfg.Name == "" || cfg.Binary == "" {
		return nil, errors.New("lambdarun: Config needs Name and Binary")
	}
	abs, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("lambdarun: %s: %w", cfg.Name, err)
	}
	cfg.Binary = abs // the process runs in its binary's directory
	if _, err := os.Stat(cfg.Binary); err != nil {
		return nil, fmt.Errorf("lambdarun: %s: %w", cfg.Name, err)
	}
	if cfg.Memory <= 0 {
		cfg.Memory = 128
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Instances <= 0 {
		cfg.Instances = 1
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
	if cfg.Region == "" {
		cfg.Region = cmp.Or(cfg.Env["AWS_REGION"], "us-east-1")
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	f := &Function{
		cfg:      cfg,
		arn:      fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.Region, cfg.AccountID, cfg.Name),
		idle:     make(chan *instance, cfg.Instances),
		stopping: make(chan struct{}),
	}
	began := time.Now()
	for i := 0; i < cfg.Instances; i++ {
		in, err := f.newInstance(i)
		if err != nil {
			f.Stop()
			return nil, err
		}
		f.instances = append(f.instances, in)
	}
	deadline := time.NewTimer(cfg.StartTimeout)
	defer deadline.Stop()
	for _, in := range f.instances {
		select {
		case <-in.firstReady:
		case err := <-in.firstFailure:
			f.Stop()
			return nil, fmt.Errorf("lambdarun: %s: %w: %v", cfg.Name, ErrInitFailed, err)
		case <-deadline.C:
			f.Stop()
			return nil, fmt.Errorf("lambdarun: %s: %w: no request for work within %s", cfg.Name, ErrInitFailed, cfg.StartTimeout)
		case <-ctx.Done():
			f.Stop()
			return nil, ctx.Err()
		}
	}
	f.initTime = time.Since(began)
	for _, in := range f.instances {
		f.idle <- in
	}
	return f, nil
}

// Name is the function's name.
func (f *Function) Name() string { return f.cfg.Name }

// InitDuration is how long Start took from launching the processes until all
// of them asked for their first invocation.
func (f *Function) InitDuration() time.Duration { return f.initTime }

// Pids lists the process ids currently running for this function.
func (f *Function) Pids() []int {
	var pids []int
	for _, in := range f.instances {
		in.mu.Lock()
		if in.proc != nil {
			pids = append(pids, in.proc.cmd.Process.Pid)
		}
		in.mu.Unlock()
	}
	return pids
}

// Invoke runs one invocation synchronously (RequestResponse) and returns the
// function's response payload. A handler error is a *FunctionError; a crash,
// timeout or stop is ErrCrashed, ErrTimeout or ErrStopped (wrapped). When ctx
// ends first Invoke returns ctx.Err(), and the invocation still runs to its
// end on its instance, as it would on Lambda.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return nil, ErrPayloadTooLarge
	}
	var in *instance
	select {
	case in = <-f.idle:
	case <-f.stopping:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	inv := &invocation{
		id:       newRequestID(),
		payload:  payload,
		deadline: time.Now().Add(f.cfg.Timeout),
		traceID:  newTraceID(),
		done:     make(chan struct{}),
	}
	go func() {
		in.run(inv)
		f.idle <- in
	}()
	select {
	case <-inv.done:
		return inv.res.body, inv.res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stop ends every process of the function (SIGTERM to its process group, then
// SIGKILL after two seconds), waits for them and closes the Runtime API
// servers. Invocations in flight are answered with ErrStopped.
func (f *Function) Stop() {
	f.stopOnce.Do(func() {
		close(f.stopping)
		var wg sync.WaitGroup
		for _, in := range f.instances {
			wg.Add(1)
			go func() { defer wg.Done(); in.stop() }()
		}
		wg.Wait()
	})
}

type result struct {
	body []byte
	err  error
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	traceID  string
	done     chan struct{} // closed by the first finish
	res      result
	once     sync.Once
}

// finish records the invocation's outcome; the first call wins.
func (inv *invocation) finish(body []byte, err error) {
	inv.once.Do(func() { inv.res = result{body, err}; close(inv.done) })
}

// process is one run of the bootstrap binary.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed after Wait returns
	asked  bool          // it called /next at least once (guarded by instance.mu)
	tail   *tailBuffer
}

type instance struct {
	f        *Function
	index    int
	listener net.Listener
	server   *http.Server
	next     chan *invocation // unbuffered: handed to a waiting /next

	mu       sync.Mutex
	proc     *process
	current  *invocation // held by the running process, between /next and its answer
	initErr  error       // set while the process fails before asking for work
	initBody string      // last body posted to /init/error
	changed  chan struct{}

	firstReady   chan struct{}
	firstFailure chan error
	readyOnce    sync.Once
	supervisor   chan struct{} // closed when the supervisor loop returns
}

func (f *Function) newInstance(index int) (*instance, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdarun: listen: %w", err)
	}
	in := &instance{
		f:            f,
		index:        index,
		listener:     l,
		next:         make(chan *invocation),
		changed:      make(chan struct{}),
		firstReady:   make(chan struct{}),
		firstFailure: make(chan error, 1),
		supervisor:   make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", in.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", in.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", in.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", in.handleInitError)
	in.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = in.server.Serve(l) }()

	// Spawn under the lock: the new process's first /next must see in.proc set.
	in.mu.Lock()
	p, err := in.spawn()
	if err == nil {
		in.proc = p
	}
	in.mu.Unlock()
	if err != nil {
		_ = in.server.Close()
		return nil, err
	}
	go in.supervise(p)
	return in, nil
}

// env is the environment a process starts with: a clean one, as on Lambda
// (the caller's credentials or profile never leak in), plus the function's own.
func (in *instance) env() []string {
	c := in.f.cfg
	abs := c.Binary
	m := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          in.listener.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME":        c.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(c.Memory),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + c.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(randomBytes(16)),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                filepath.Dir(abs),
		"LAMBDA_RUNTIME_DIR":              filepath.Dir(abs),
		"AWS_REGION":                      c.Region,
		"AWS_DEFAULT_REGION":              c.Region,
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
	}
	for k, v := range c.Env {
		m[k] = v
	}
	if r, ok := c.Env["AWS_REGION"]; ok && c.Env["AWS_DEFAULT_REGION"] == "" {
		m["AWS_DEFAULT_REGION"] = r
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// spawn starts a process; the caller holds in.mu.
func (in *instance) spawn() (*process, error) {
	c := in.f.cfg
	cmd := exec.Command(c.Binary)
	cmd.Env = in.env()
	cmd.Dir = filepath.Dir(c.Binary)
	tail := &tailBuffer{max: 4096}
	w := io.MultiWriter(c.Output, tail)
	cmd.Stdout, cmd.Stderr = w, w
	// Own process group, so stop and timeout kill everything the function started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lambdarun: start %s: %w", c.Binary, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{}), tail: tail}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// supervise waits for each process to exit, answers its in-flight invocation,
// reports the crash and starts a new process, backing off while the process
// keeps failing before it asks for work.
func (in *instance) supervise(p *process) {
	defer close(in.supervisor)
	backoff := 100 * time.Millisecond
	for {
		<-p.exited
		select {
		case <-in.f.stopping:
			in.mu.Lock()
			cur := in.current
			in.current, in.proc = nil, nil
			in.mu.Unlock()
			if cur != nil {
				cur.finish(nil, ErrStopped)
			}
			return
		default:
		}
		in.mu.Lock()
		cur := in.current
		in.current, in.proc = nil, nil
		asked := p.asked
		status := p.cmd.ProcessState.String()
		reason := status
		if in.initBody != "" {
			reason += "; init error: " + in.initBody
			in.initBody = ""
		}
		if t := strings.TrimSpace(p.tail.String()); t != "" {
			reason += "; last output: " + lastLines(t, 3)
		}
		if !asked {
			in.initErr = fmt.Errorf("%w: %s", ErrInitFailed, reason)
		}
		in.broadcastLocked()
		in.mu.Unlock()

		if !asked {
			select {
			case in.firstFailure <- errors.New(reason):
			default:
			}
		}
		if cur != nil {
			cur.finish(nil, fmt.Errorf("%w (request %s): %s", ErrCrashed, cur.id, reason))
			in.f.cfg.Logf("%s: runtime crashed during request %s (%s); restarting", in.f.cfg.Name, cur.id, reason)
		} else {
			in.f.cfg.Logf("%s: runtime exited (%s); restarting", in.f.cfg.Name, reason)
		}
		if asked {
			backoff = 100 * time.Millisecond
		} else {
			select {
			case <-time.After(backoff):
			case <-in.f.stopping:
				return
			}
			backoff = min(backoff*2, 5*time.Second)
		}
		in.mu.Lock()
		select {
		case <-in.f.stopping:
			in.mu.Unlock()
			return
		default:
		}
		np, err := in.spawn()
		if err == nil {
			in.proc = np
		}
		in.mu.Unlock()
		if err != nil {
			in.f.cfg.Logf("%s: cannot restart: %v", in.f.cfg.Name, err)
			in.mu.Lock()
			in.initErr = fmt.Errorf("%w: %v", ErrInitFailed, err)
			in.broadcastLocked()
			in.mu.Unlock()
			select {
			case in.firstFailure <- err:
			default:
			}
			select {
			case <-time.After(backoff):
			case <-in.f.stopping:
				return
			}
			p = &process{exited: closedChan(), cmd: p.cmd, tail: p.tail}
			continue
		}
		p = np
	}
}

func (in *instance) broadcastLocked() {
	close(in.changed)
	in.changed = make(chan struct{})
}

// run hands inv to this instance's process and waits for its answer, the
// timeout or a crash. It returns when the instance may take the next one.
func (in *instance) run(inv *invocation) {
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	// Hand off: wait until the process asks for work.
	for handed := false; !handed; {
		in.mu.Lock()
		if in.initErr != nil {
			err := in.initErr
			in.mu.Unlock()
			inv.finish(nil, fmt.Errorf("lambdarun: %s: %w", in.f.cfg.Name, err))
			return
		}
		changed := in.changed
		in.mu.Unlock()
		select {
		case in.next <- inv:
			handed = true
		case <-changed:
		case <-timer.C:
			inv.finish(nil, fmt.Errorf("%w after %s (request %s): the runtime never asked for it", ErrTimeout, in.f.cfg.Timeout, inv.id))
			return
		case <-in.f.stopping:
			inv.finish(nil, ErrStopped)
			return
		}
	}
	select {
	case <-inv.done:
	case <-timer.C:
		inv.finish(nil, fmt.Errorf("%w after %s (request %s)", ErrTimeout, in.f.cfg.Timeout, inv.id))
		in.f.cfg.Logf("%s: request %s timed out after %s; killing and restarting the runtime", in.f.cfg.Name, inv.id, in.f.cfg.Timeout)
		in.mu.Lock()
		p := in.proc
		if in.current == inv {
			in.current = nil
		}
		in.mu.Unlock()
		if p != nil {
			killGroup(p, syscall.SIGKILL)
			<-p.exited
		}
	case <-in.f.stopping:
		inv.finish(nil, ErrStopped)
	}
}

func (in *instance) stop() {
	in.mu.Lock()
	p := in.proc
	in.mu.Unlock()
	if p != nil {
		killGroup(p, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(2 * time.Second):
			killGroup(p, syscall.SIGKILL)
			<-p.exited
		}
	}
	<-in.supervisor
	// A process may have been spawned between the read above and the stop signal.
	in.mu.Lock()
	p = in.proc
	in.mu.Unlock()
	if p != nil {
		killGroup(p, syscall.SIGKILL)
		<-p.exited
	}
	_ = in.server.Close()
}

func killGroup(p *process, sig syscall.Signal) {
	if p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// ---- Runtime API handlers ----

func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.mu.Lock()
	if in.proc != nil {
		in.proc.asked = true
	}
	in.initErr = nil
	// Asking for the next invocation completes the previous one; one answered
	// neither way is a runtime bug, reported as such.
	prev := in.current
	in.current = nil
	in.broadcastLocked()
	in.mu.Unlock()
	if prev != nil {
		prev.finish(nil, fmt.Errorf("%w (request %s): the runtime asked for more work without answering", ErrCrashed, prev.id))
	}
	in.readyOnce.Do(func() { close(in.firstReady) })

	select {
	case inv := <-in.next:
		in.mu.Lock()
		if in.proc == nil {
			// The process that asked has exited meanwhile (the supervisor cleared it).
			in.mu.Unlock()
			inv.finish(nil, fmt.Errorf("%w (request %s): exited while receiving it", ErrCrashed, inv.id))
			return
		}
		in.current = inv
		in.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", in.f.arn)
		h.Set("Lambda-Runtime-Trace-Id", inv.traceID)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	case <-in.f.stopping:
		http.Error(w, `{"errorType":"ShuttingDown"}`, http.StatusGone)
	}
}

// take returns the in-flight invocation with this id, clearing it.
func (in *instance) take(id string) *invocation {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.current == nil || in.current.id != id {
		return nil
	}
	inv := in.current
	in.current = nil
	return inv
}

func (in *instance) handleResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	inv := in.take(id)
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with id "+id)
		return
	}
	switch {
	case err != nil:
		inv.finish(nil, fmt.Errorf("%w (request %s): reading the response: %v", ErrCrashed, id, err))
	case len(body) > MaxPayload:
		inv.finish(nil, fmt.Errorf("%w: response of request %s", ErrPayloadTooLarge, id))
		writeRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response over 6 MB")
		return
	case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		// A streamed response that failed part-way reports its error in trailers.
		fe := &FunctionError{Type: r.Trailer.Get("Lambda-Runtime-Function-Error-Type")}
		if raw, derr := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body")); derr == nil {
			_ = json.Unmarshal(raw, fe)
		}
		inv.finish(nil, fe)
	default:
		inv.finish(body, nil)
	}
	writeAccepted(w)
}

func (in *instance) handleError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxPayload))
	inv := in.take(id)
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with id "+id)
		return
	}
	inv.finish(nil, parseFunctionError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type")))
	writeAccepted(w)
}

func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64*1024))
	fe := parseFunctionError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
	in.mu.Lock()
	in.initBody = fe.Error()
	in.mu.Unlock()
	in.f.cfg.Logf("%s: runtime reported an init error: %v", in.f.cfg.Name, fe)
	writeAccepted(w)
}

func parseFunctionError(body []byte, typ string) *FunctionError {
	fe := &FunctionError{}
	if err := json.Unmarshal(body, fe); err != nil || (fe.Type == "" && fe.Message == "") {
		fe = &FunctionError{Message: strings.TrimSpace(string(body))}
	}
	if fe.Type == "" {
		fe.Type = cmp.Or(typ, "Unhandled")
	}
	return fe
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func writeRuntimeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ---- helpers ----

func newRequestID() string {
	b := randomBytes(16)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newTraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hex.EncodeToString(randomBytes(12)), hex.EncodeToString(randomBytes(8)))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
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
