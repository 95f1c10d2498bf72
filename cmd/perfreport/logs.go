package main

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
)

// latencyLogs reads the functions' JSON log lines and keeps the pipeline's own
// latencyMs of each "webhook" record, by provider, under the current label
// (set by the load run for each level; records outside a label are dropped).
type latencyLogs struct {
	mu    sync.Mutex
	label string
	by    map[string]map[string][]float64 // label -> provider -> ms
}

var handlerLogs = &latencyLogs{by: map[string]map[string][]float64{}}

func newLatencyLogs() *latencyLogs { return handlerLogs }

func (l *latencyLogs) setLabel(s string) {
	l.mu.Lock()
	l.label = s
	l.mu.Unlock()
}

func (l *latencyLogs) writer(provider string) io.Writer {
	return &lineWriter{fn: func(line []byte) {
		var rec struct {
			Message   string   `json:"message"` // lambdacontext.ReplaceAttr renames msg
			LatencyMs *float64 `json:"latencyMs"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Message != "webhook" || rec.LatencyMs == nil {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.label == "" {
			return
		}
		if l.by[l.label] == nil {
			l.by[l.label] = map[string][]float64{}
		}
		l.by[l.label][provider] = append(l.by[l.label][provider], *rec.LatencyMs)
	}}
}

func (l *latencyLogs) means(label string) map[string]float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]float64{}
	for p, v := range l.by[label] {
		sum := 0.0
		for _, x := range v {
			sum += x
		}
		if len(v) > 0 {
			out[p] = sum / float64(len(v))
		}
	}
	return out
}

// lineWriter calls fn for each complete line written (processes may share it).
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func([]byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 1<<20 {
		w.buf = w.buf[:0]
	}
	return len(p), nil
}
