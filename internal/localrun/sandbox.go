package localrun

// The sandbox supervisor: one emulator at a time per sandbox, restarted after a crash, a timeout or an init failure, and the invocations it runs.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"webhooks/internal/awskit"
)

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
