package localrun

// The emulator's output: its START, END and REPORT lines parsed into reports, and small text helpers.

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"
)

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

// NewUUID is a random (version 4) UUID, as Lambda's request ids are.
func NewUUID() string {
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
