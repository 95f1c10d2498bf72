package localrun

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An invocation its emulator never received (the connection was refused: the
// emulator exited, for instance because another process took one of its
// ports as it started) is sent again to the emulator the supervisor starts in
// its place, and answered from there; one that was received and then failed
// is never sent twice. (Seen once in ten loaded make test runs: three
// invocations failed "the emulator exited: connection refused".)
func TestUndeliveredInvocationIsSentAgain(t *testing.T) {
	// A port nothing listens on: the first emulator's, gone.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/2015-03-31/functions/function/invocations"
	ln.Close()
	var served atomic.Int32
	next := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer next.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &Function{cfg: FunctionConfig{Name: "t", Timeout: 5 * time.Second, Logf: func(string, ...any) {}},
		stopping: make(chan struct{}), stopCtx: ctx, client: &http.Client{}}
	sb := &sandbox{f: f, changed: make(chan struct{}), done: make(chan struct{})}
	first := &emulator{url: dead, exited: make(chan struct{})}
	sb.setProc(first)
	// The supervisor's part: the first emulator exits, another takes its place.
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(first.exited)
		sb.setProc(&emulator{url: next.URL, exited: make(chan struct{})})
	}()
	inv := &invocation{id: "req-1", payload: []byte(`{}`), done: make(chan struct{})}
	sb.run(inv)
	<-inv.done
	if inv.err != nil || string(inv.body) != `{"ok":true}` || served.Load() != 1 {
		t.Fatalf("answer %s, %v; served %d times, want once", inv.body, inv.err, served.Load())
	}

	// Received, then the connection broke: a crash, never sent again.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		hj, _ := w.(http.Hijacker)
		c, _, _ := hj.Hijack()
		c.Close()
	}))
	defer broken.Close()
	sb.setProc(&emulator{url: broken.URL, exited: make(chan struct{})})
	served.Store(0)
	inv = &invocation{id: "req-2", payload: []byte(`{}`), done: make(chan struct{})}
	sb.run(inv)
	<-inv.done
	if inv.err == nil || !strings.Contains(inv.err.Error(), "exited") || served.Load() != 1 {
		t.Fatalf("a received invocation: %v, served %d times, want a crash after one", inv.err, served.Load())
	}
}
