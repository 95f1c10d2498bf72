package consumer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// logLines decodes the JSON lines of a log.
func logLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range bytes.Lines(b) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func keysOf(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// syncBuffer is a log sink for records handled in parallel.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// The data values of the tiki order body, which no log line may hold.
var tikiOrderValues = []string{"347171821", "TR22", "processing", "ready_for_pickup", "2022-10-26T14:22:05+07:00", "secret-extra"}

func panicRecord(id, group string) events.SQSMessage {
	body := strings.Replace(fmt.Sprintf(tikiOrderBody, `"secret-extra"`), "0123456789abcdef0123456789abcdef", fmt.Sprintf("%032x", len(id)*7919+int(id[0])), 1)
	return events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{"MessageGroupId": group}}
}

// A record whose Handle panics fails and is logged with the same line as a
// record whose Handle returns an error: the same message and attributes, an
// error that says where it panicked, and no data value (a panic's value may
// hold the data: it is not logged).
func TestHandlerPanicIsLoggedLikeAFailure(t *testing.T) {
	for _, groups := range []int{1, 3} {
		var log syncBuffer
		h := &Handler{Groups: groups, Logger: slog.New(slog.NewJSONHandler(&log, nil)), Handle: func(_ context.Context, m *Message) error {
			d, _ := DataAs[TikiOrderStatusChanged](m)
			switch m.MessageID {
			case "error":
				return errors.New("downstream refused the order")
			case "panic-value":
				panic(fmt.Sprintf("bad order %s in state %s (%s)", d.OrderCode, d.MainState, m.Event.Data))
			case "panic-data":
				panic(d)
			case "panic-runtime":
				var none map[string]int
				none[d.OrderCode]++ // assignment to entry in nil map
			}
			return nil
		}}
		batch := events.SQSEvent{Records: []events.SQSMessage{
			panicRecord("error", "g1"), panicRecord("panic-value", "g2"), panicRecord("panic-data", "g3"),
			panicRecord("panic-runtime", "g4"), panicRecord("ok", "g5"),
		}}
		res := h.Process(context.Background(), batch)
		want := Result{"error": Failed, "panic-value": Failed, "panic-data": Failed, "panic-runtime": Failed, "ok": Handled}
		if !maps.Equal(res, want) {
			t.Fatalf("groups %d: %v, want %v", groups, res, want)
		}
		raw := log.Bytes()
		for _, v := range tikiOrderValues {
			if bytes.Contains(raw, []byte(v)) {
				t.Errorf("the log holds the data value %q:\n%s", v, raw)
			}
		}
		lines := map[string]map[string]any{}
		for _, l := range logLines(t, raw) {
			lines[l["messageId"].(string)] = l
		}
		if len(lines) != 4 {
			t.Fatalf("%d log lines, want one per failed record:\n%s", len(lines), raw)
		}
		shape := keysOf(lines["error"])
		for _, id := range []string{"panic-value", "panic-data", "panic-runtime"} {
			l := lines[id]
			if got := keysOf(l); !slices.Equal(got, shape) || l["msg"] != lines["error"]["msg"] {
				t.Errorf("%s: line %v; a failed Handle's line has %v, msg %q", id, l, shape, lines["error"]["msg"])
			}
			e, _ := l["error"].(string)
			if !strings.HasPrefix(e, "consumer: panic in Handle: ") || !strings.Contains(e, "TestHandlerPanicIsLoggedLikeAFailure") || !strings.Contains(e, "panic_test.go:") {
				t.Errorf("%s: error %q, want the panic and where it happened", id, e)
			}
		}
		if e := lines["panic-runtime"]["error"].(string); !strings.Contains(e, "assignment to entry in nil map") {
			t.Errorf("a runtime error's own text is kept: %q", e)
		}
		if e := lines["panic-value"]["error"].(string); !strings.Contains(e, "a value of type string") {
			t.Errorf("a panic's value is described by its type: %q", e)
		}
	}
}

// panickingStore panics in the methods named.
type panickingStore struct {
	MemoryStore
	claim, complete, release bool
}

func (s *panickingStore) Claim(ctx context.Context, key string, now, leaseUntil, expires time.Time) (bool, error) {
	if s.claim {
		panic(key)
	}
	return s.MemoryStore.Claim(ctx, key, now, leaseUntil, expires)
}

func (s *panickingStore) Complete(ctx context.Context, key string, expires time.Time) error {
	if s.complete {
		panic(key)
	}
	return s.MemoryStore.Complete(ctx, key, expires)
}

func (s *panickingStore) Release(ctx context.Context, key string) error {
	if s.release {
		panic(key)
	}
	return s.MemoryStore.Release(ctx, key)
}

// failingStore returns an error from the methods named.
type failingStore struct {
	MemoryStore
	claim, complete, release bool
}

var errStore = errors.New("store unavailable")

func (s *failingStore) Claim(ctx context.Context, key string, now, leaseUntil, expires time.Time) (bool, error) {
	if s.claim {
		return false, errStore
	}
	return s.MemoryStore.Claim(ctx, key, now, leaseUntil, expires)
}

func (s *failingStore) Complete(ctx context.Context, key string, expires time.Time) error {
	if s.complete {
		return errStore
	}
	return s.MemoryStore.Complete(ctx, key, expires)
}

func (s *failingStore) Release(ctx context.Context, key string) error {
	if s.release {
		return errStore
	}
	return s.MemoryStore.Release(ctx, key)
}

// A Store that panics is a Store that failed: each of its methods, when it
// panics, gives the record the outcome and the log line it gives when it
// returns an error (with the panic, not its value, as the error).
func TestStorePanicIsLikeAStoreError(t *testing.T) {
	for _, c := range []struct {
		what                     string
		claim, complete, release bool
		handleFails              bool
	}{
		{what: "Claim", claim: true},
		{what: "Complete", complete: true},
		{what: "Release", release: true, handleFails: true},
	} {
		run := func(s Store) (Result, []map[string]any) {
			var log bytes.Buffer
			h := &Handler{Idempotency: &Idempotency{Store: s}, Logger: slog.New(slog.NewJSONHandler(&log, nil)),
				Handle: func(context.Context, *Message) error {
					if c.handleFails {
						return errors.New("handler failed")
					}
					return nil
				}}
			res := h.Process(context.Background(), events.SQSEvent{Records: []events.SQSMessage{panicRecord("a", "g")}})
			for _, v := range tikiOrderValues {
				if bytes.Contains(log.Bytes(), []byte(v)) {
					t.Errorf("%s: the log holds the data value %q", c.what, v)
				}
			}
			return res, logLines(t, log.Bytes())
		}
		wantRes, wantLog := run(&failingStore{claim: c.claim, complete: c.complete, release: c.release})
		gotRes, gotLog := run(&panickingStore{claim: c.claim, complete: c.complete, release: c.release})
		if !maps.Equal(gotRes, wantRes) || len(gotLog) != len(wantLog) || len(gotLog) == 0 {
			t.Fatalf("%s panics: %v, log %v; when it fails: %v, log %v", c.what, gotRes, gotLog, wantRes, wantLog)
		}
		for i := range gotLog {
			if !slices.Equal(keysOf(gotLog[i]), keysOf(wantLog[i])) || gotLog[i]["msg"] != wantLog[i]["msg"] {
				t.Errorf("%s panics: line %v; when it fails: %v", c.what, gotLog[i], wantLog[i])
			}
		}
		last := gotLog[len(gotLog)-1]["error"].(string)
		if !strings.HasPrefix(last, "consumer: panic in Store."+c.what+": a value of type string at webhooks/consumer.(*panickingStore)."+c.what) {
			t.Errorf("%s panics: error %q", c.what, last)
		}
	}
}

// panickingHandler is a slog handler that panics.
type panickingHandler struct{ slog.Handler }

func (panickingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (panickingHandler) Handle(context.Context, slog.Record) error {
	panic("logger bug")
}

// A Logger that panics does not lose the line of a failed record: it goes
// to the fallback logger (JSON on standard error), and the batch goes on.
func TestLoggerPanicFallsBack(t *testing.T) {
	var fallback bytes.Buffer
	saved := fallbackLogger
	fallbackLogger = slog.New(slog.NewJSONHandler(&fallback, nil))
	defer func() { fallbackLogger = saved }()
	h := &Handler{Logger: slog.New(panickingHandler{}), Handle: func(_ context.Context, m *Message) error {
		if m.MessageID == "a" {
			return errors.New("downstream refused the order")
		}
		return nil
	}}
	res := h.Process(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		panicRecord("a", "g"), panicRecord("b", "g"), panicRecord("c", "h"),
		{MessageId: "d", Body: "not a message", Attributes: map[string]string{"MessageGroupId": "i"}},
	}})
	if want := (Result{"a": Failed, "b": Held, "c": Handled, "d": Failed}); !maps.Equal(res, want) {
		t.Fatalf("%v, want %v", res, want)
	}
	lines := logLines(t, fallback.Bytes())
	if len(lines) != 2 || lines[0]["msg"] != "handler failed" || lines[0]["messageId"] != "a" || lines[1]["msg"] != "invalid message" || lines[1]["messageId"] != "d" {
		t.Fatalf("fallback log:\n%s", fallback.Bytes())
	}
}

// The zero MemoryStore works: as the Store of a Handler, it handles each
// event once, and a first use by many goroutines at once (the map made
// lazily) lets exactly one claim of a key win.
func TestZeroMemoryStore(t *testing.T) {
	var log bytes.Buffer
	handled := map[string]int{}
	var mu sync.Mutex
	h := &Handler{Idempotency: &Idempotency{Store: &MemoryStore{}}, Groups: 2, Logger: slog.New(slog.NewJSONHandler(&log, nil)),
		Handle: func(_ context.Context, m *Message) error {
			mu.Lock()
			defer mu.Unlock()
			handled[m.Event.ID]++
			return nil
		}}
	a, b := panicRecord("a", "g"), panicRecord("bb", "h")
	dup := a
	dup.MessageId = "a2"
	res := h.Process(context.Background(), events.SQSEvent{Records: []events.SQSMessage{a, b, dup}})
	if want := (Result{"a": Handled, "bb": Handled, "a2": Skipped}); !maps.Equal(res, want) || len(handled) != 2 || log.Len() != 0 {
		t.Fatalf("%v (want %v), handled %v, log %s", res, want, handled, log.Bytes())
	}

	for round := range 50 {
		var s MemoryStore
		now := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, inProgress := 0, 0
		start := make(chan struct{})
		for range 32 {
			wg.Go(func() {
				<-start
				ok, err := s.Claim(context.Background(), "k", now, now.Add(time.Minute), now.Add(time.Hour))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case ok && err == nil:
					won++
				case errors.Is(err, ErrInProgress):
					inProgress++
				default:
					t.Errorf("claim: %v, %v", ok, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won != 1 || inProgress != 31 {
			t.Fatalf("round %d: %d claims won, %d saw a live claim; want 1 and 31", round, won, inProgress)
		}
		var released MemoryStore
		if err := released.Release(context.Background(), "never"); err != nil {
			t.Fatal(err)
		}
		if err := released.Complete(context.Background(), "k", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ok, err := released.Claim(context.Background(), "k", now, now.Add(time.Minute), now.Add(time.Hour)); ok || err != nil {
			t.Fatalf("claim of a handled key on a zero store: %v, %v", ok, err)
		}
	}
}
