package consumer_test

// The Handler's guarantee is its oracle, on thousands of generated batches:
// within a message group, every record before the first failure is handled
// exactly once and in batch order; the first failure and every later record
// of the group are reported and not handled; no other group is affected; the
// batch item failures are exactly the failed and held records, in batch
// order; a record without a group never holds another.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/consumer"
)

// kind is what a generated record is.
type kind int

const (
	kValid         kind = iota // a valid message, handled successfully
	kHandlerError              // valid; Handle returns an error
	kHandlerPanic              // valid; Handle panics
	kNotJSON                   // body is not JSON
	kUnknownType               // a well-formed CloudEvent of a type no one sends
	kMissingMember             // a required member (envelope or data) is missing
	kAttrMismatch              // the message attribute "type" names another type
	kWrongSource               // source of another provider
	nKinds
)

func (k kind) calls() bool    { return k == kValid || k == kHandlerError || k == kHandlerPanic }
func (k kind) succeeds() bool { return k == kValid }

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

type genRecord struct {
	rec   events.SQSMessage
	group string // "" = no MessageGroupId
	kind  kind
}

// genBatch generates one batch.
func genBatch(r *rand.Rand, n int) []genRecord {
	types := consumer.EventTypes()
	nGroups := 1 + r.IntN(5)
	size := 1 + r.IntN(20)
	out := make([]genRecord, size)
	for i := range out {
		g := ""
		if r.IntN(100) >= 15 {
			g = fmt.Sprintf("g%d", r.IntN(nGroups))
		}
		// Mostly valid records, so that failures fall anywhere in a group.
		var k kind
		switch p := r.IntN(100); {
		case p < 74:
			k = kValid
		case p < 82:
			k = kHandlerError
		case p < 86:
			k = kHandlerPanic
		default:
			k = kind(3 + r.IntN(int(nKinds)-3))
		}
		typ := types[r.IntN(len(types))]
		env := validEnvelope(typ, eventID(r))
		id := fmt.Sprintf("msg-%d-%d", n, i)
		var body []byte
		attrType := typ
		switch k {
		case kValid, kHandlerError, kHandlerPanic:
			body = env.body()
		case kNotJSON:
			body = [][]byte{[]byte("not json"), []byte(""), env.body()[:10], []byte("[]"), []byte("null")}[r.IntN(5)]
		case kUnknownType:
			env.Type = "tiki.unknown.happened"
			env.Source = "webhooks/tiki"
			attrType = ""
			body = env.body()
		case kMissingMember:
			if r.IntN(2) == 0 {
				env.Subject = ""
				body = env.body()
			} else {
				env.Data = `{}` // every type but the deposit one has a required member
				if typ == consumer.TypeAPIGiftDepositStatus {
					env.Data = `[]`
				}
				body = env.body()
			}
		case kAttrMismatch:
			body = env.body()
			other := types[(slices.Index(types, typ)+1)%len(types)]
			rec := record(id, g, body, typ)
			rec.MessageAttributes["type"] = events.SQSMessageAttribute{DataType: "String", StringValue: &other}
			out[i] = genRecord{rec: rec, group: g, kind: k}
			continue
		case kWrongSource:
			if consumer.ProviderOf(typ) == "tiki" {
				env.Source = "webhooks/oslpay"
			} else {
				env.Source = "webhooks/tiki"
			}
			attrType = ""
			body = env.body()
		}
		out[i] = genRecord{rec: record(id, g, body, attrType), group: g, kind: k}
	}
	return out
}

// expected computes the outcome of every record from the guarantee alone.
func expected(batch []genRecord) map[string]consumer.Outcome {
	out := map[string]consumer.Outcome{}
	failed := map[string]bool{}
	for _, g := range batch {
		id := g.rec.MessageId
		switch {
		case g.group != "" && failed[g.group]:
			out[id] = consumer.Held
		case g.kind.succeeds():
			out[id] = consumer.Handled
		default:
			out[id] = consumer.Failed
			if g.group != "" {
				failed[g.group] = true
			}
		}
	}
	return out
}

// recorder is a Handle that does what each record's kind says and records
// every call.
type recorder struct {
	mu      sync.Mutex
	kinds   map[string]kind
	groupOf map[string]string
	calls   map[string]int      // by message id
	order   map[string][]string // message ids by group, in call order
	active  map[string]int      // calls in progress by group
	overlap []string            // groups handled twice at once
}

func newRecorder(batch []genRecord) *recorder {
	r := &recorder{kinds: map[string]kind{}, groupOf: map[string]string{}, calls: map[string]int{}, order: map[string][]string{}, active: map[string]int{}}
	for i, g := range batch {
		r.kinds[g.rec.MessageId] = g.kind
		grp := g.group
		if grp == "" {
			grp = fmt.Sprintf("none-%d", i)
		}
		r.groupOf[g.rec.MessageId] = grp
	}
	return r
}

func (r *recorder) handle(_ context.Context, m *consumer.Message) error {
	r.mu.Lock()
	grp := r.groupOf[m.MessageID]
	r.calls[m.MessageID]++
	r.order[grp] = append(r.order[grp], m.MessageID)
	r.active[grp]++
	if r.active[grp] > 1 {
		r.overlap = append(r.overlap, grp)
	}
	k := r.kinds[m.MessageID]
	r.mu.Unlock()
	runtime.Gosched() // let other groups' workers interleave
	defer func() { r.mu.Lock(); r.active[grp]--; r.mu.Unlock() }()
	switch k {
	case kHandlerError:
		return errors.New("handler refused it")
	case kHandlerPanic:
		panic("handler panicked")
	case kValid:
		return nil
	}
	return fmt.Errorf("Handle called for a record of kind %d, which must never reach it", k)
}

func TestHandlerBatchProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(seed(t), 1))
	batches := 1500
	if testing.Short() {
		batches = 300
	}
	for _, mode := range []struct {
		name   string
		groups func() int
	}{
		{"Groups=1", func() int { return 1 }},
		{"Groups=0", func() int { return 0 }},
		{"Groups>1", func() int { return 2 + r.IntN(5) }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			records, byOutcome := 0, map[consumer.Outcome]int{}
			for n := range batches {
				batch := genBatch(r, n)
				records += len(batch)
				want := expected(batch)
				for _, o := range want {
					byOutcome[o]++
				}
				ev := events.SQSEvent{}
				for _, g := range batch {
					ev.Records = append(ev.Records, g.rec)
				}
				groups := mode.groups()

				// Process: the outcome of every record.
				rec := newRecorder(batch)
				h := &consumer.Handler{Handle: rec.handle, Groups: groups, Logger: quietLogger}
				res := h.Process(context.Background(), ev)
				if !checkBatch(t, n, batch, want, rec, res) {
					return
				}

				// HandleBatch: the batch item failures, exactly and in order.
				rec = newRecorder(batch)
				h = &consumer.Handler{Handle: rec.handle, Groups: groups, Logger: quietLogger}
				resp, err := h.HandleBatch(context.Background(), ev)
				if err != nil {
					t.Fatalf("batch %d: HandleBatch returned an error: %v", n, err)
				}
				var wantFailures, gotFailures []string
				for _, g := range batch {
					if o := want[g.rec.MessageId]; o == consumer.Failed || o == consumer.Held {
						wantFailures = append(wantFailures, g.rec.MessageId)
					}
				}
				for _, f := range resp.BatchItemFailures {
					gotFailures = append(gotFailures, f.ItemIdentifier)
					if rec.calls[f.ItemIdentifier] > 0 && want[f.ItemIdentifier] == consumer.Handled {
						t.Fatalf("batch %d: %s was handled and reported as a failure", n, f.ItemIdentifier)
					}
				}
				if !slices.Equal(wantFailures, gotFailures) {
					t.Fatalf("batch %d (Groups=%d): batchItemFailures %v, want %v\n%s", n, groups, gotFailures, wantFailures, describe(batch))
				}
				if !checkCalls(t, n, batch, want, rec) {
					return
				}
			}
			t.Logf("%d generated batches, %d records: %v", batches, records, byOutcome)
		})
	}
}

// checkBatch checks Process's result and the calls against the guarantee.
func checkBatch(t *testing.T, n int, batch []genRecord, want map[string]consumer.Outcome, rec *recorder, res consumer.Result) bool {
	t.Helper()
	if len(res) != len(batch) {
		t.Errorf("batch %d: %d outcomes for %d records", n, len(res), len(batch))
		return false
	}
	for _, g := range batch {
		id := g.rec.MessageId
		if res[id] != want[id] {
			t.Errorf("batch %d: %s (group %q, kind %d) is %q, want %q\n%s", n, id, g.group, g.kind, res[id], want[id], describe(batch))
			return false
		}
	}
	return checkCalls(t, n, batch, want, rec)
}

// checkCalls: every handled record called exactly once, a failed one once
// when its failure is Handle's and never when it is invalid, a held one
// never; each group's calls in batch order, one at a time.
func checkCalls(t *testing.T, n int, batch []genRecord, want map[string]consumer.Outcome, rec *recorder) bool {
	t.Helper()
	wantOrder := map[string][]string{}
	for _, g := range batch {
		id := g.rec.MessageId
		calls := 0
		if want[id] == consumer.Handled || (want[id] == consumer.Failed && g.kind.calls()) {
			calls = 1
			wantOrder[rec.groupOf[id]] = append(wantOrder[rec.groupOf[id]], id)
		}
		if rec.calls[id] != calls {
			t.Errorf("batch %d: %s (%q, kind %d) handled %d times, want %d\n%s", n, id, want[id], g.kind, rec.calls[id], calls, describe(batch))
			return false
		}
	}
	for grp, ids := range wantOrder {
		if !slices.Equal(rec.order[grp], ids) {
			t.Errorf("batch %d: group %s handled in the order %v, want %v", n, grp, rec.order[grp], ids)
			return false
		}
	}
	if len(rec.overlap) > 0 {
		t.Errorf("batch %d: groups %v had two records handled at once", n, rec.overlap)
		return false
	}
	return true
}

func describe(batch []genRecord) string {
	s := ""
	for _, g := range batch {
		s += fmt.Sprintf("  %s group=%q kind=%d\n", g.rec.MessageId, g.group, g.kind)
	}
	return s
}

// A context that has ended holds every record not yet handled: none is
// handled, all are reported.
func TestHandlerEndedContextHoldsEverything(t *testing.T) {
	r := rand.New(rand.NewPCG(seed(t), 2))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for name, ctx := range map[string]context.Context{"cancelled": cancelled, "deadline passed": expired} {
		for _, groups := range []int{1, 4} {
			for n := range 50 {
				batch := genBatch(r, n)
				ev := events.SQSEvent{}
				for _, g := range batch {
					ev.Records = append(ev.Records, g.rec)
				}
				rec := newRecorder(batch)
				h := &consumer.Handler{Handle: rec.handle, Groups: groups, Logger: quietLogger}
				resp, _ := h.HandleBatch(ctx, ev)
				if len(resp.BatchItemFailures) != len(batch) {
					t.Fatalf("%s, Groups=%d: %d of %d records reported", name, groups, len(resp.BatchItemFailures), len(batch))
				}
				for i, f := range resp.BatchItemFailures {
					if f.ItemIdentifier != batch[i].rec.MessageId {
						t.Fatalf("%s: failure %d is %s, want %s", name, i, f.ItemIdentifier, batch[i].rec.MessageId)
					}
				}
				for _, o := range h.Process(ctx, ev) {
					if o != consumer.Held {
						t.Fatalf("%s: outcome %q, want held", name, o)
					}
				}
				if len(rec.calls) != 0 {
					t.Fatalf("%s: Handle called %d times", name, len(rec.calls))
				}
			}
		}
	}
}

// A context that ends during a batch: what was handled is reported as
// handled, everything after is held (one group at a time: nothing is
// handled after the cancellation; several: within each group, the handled
// records are a prefix).
func TestHandlerContextEndsMidBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(seed(t), 3))
	for _, groups := range []int{1, 3} {
		for n := range 300 {
			size := 2 + r.IntN(15)
			var ev events.SQSEvent
			groupOf := map[string]string{}
			for i := range size {
				g := fmt.Sprintf("g%d", r.IntN(3))
				id := fmt.Sprintf("m%d", i)
				groupOf[id] = g
				typ := consumer.EventTypes()[r.IntN(15)]
				ev.Records = append(ev.Records, record(id, g, validEnvelope(typ, eventID(r)).body(), typ))
			}
			stopAt := 1 + r.IntN(size)
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			calls, afterCancel := map[string]int{}, 0
			done := false
			h := &consumer.Handler{Groups: groups, Logger: quietLogger, Handle: func(_ context.Context, m *consumer.Message) error {
				mu.Lock()
				defer mu.Unlock()
				if done {
					afterCancel++
				}
				calls[m.MessageID]++
				if len(calls) == stopAt {
					cancel()
					done = true
				}
				return nil
			}}
			res := h.Process(ctx, ev)
			cancel()
			if groups == 1 && afterCancel > 0 {
				t.Fatalf("batch %d: %d records handled after the context ended", n, afterCancel)
			}
			seenHeld := map[string]bool{}
			for _, rec := range ev.Records {
				id := rec.MessageId
				switch res[id] {
				case consumer.Handled:
					if calls[id] != 1 {
						t.Fatalf("batch %d: %s handled, called %d times", n, id, calls[id])
					}
					if seenHeld[groupOf[id]] {
						t.Fatalf("batch %d: %s handled after a held record of its group", n, id)
					}
				case consumer.Held:
					if calls[id] != 0 {
						t.Fatalf("batch %d: %s held but handled", n, id)
					}
					seenHeld[groupOf[id]] = true
				default:
					t.Fatalf("batch %d: %s is %q", n, id, res[id])
				}
			}
			if groups == 1 && len(calls) != stopAt {
				t.Fatalf("batch %d: %d handled, want %d", n, len(calls), stopAt)
			}
		}
	}
}

// A nil Handle fails every valid record rather than panicking the function.
func TestHandlerNilHandleFails(t *testing.T) {
	typ := consumer.TypeTikiOrder
	ev := events.SQSEvent{Records: []events.SQSMessage{
		record("a", "g", validEnvelope(typ, "0123456789abcdef0123456789abcdef").body(), typ),
		record("b", "g", validEnvelope(typ, "1123456789abcdef0123456789abcdef").body(), typ),
		record("c", "", validEnvelope(typ, "2123456789abcdef0123456789abcdef").body(), typ),
	}}
	h := &consumer.Handler{Logger: quietLogger}
	res := h.Process(context.Background(), ev)
	want := consumer.Result{"a": consumer.Failed, "b": consumer.Held, "c": consumer.Failed}
	for id, o := range want {
		if res[id] != o {
			t.Errorf("%s: %q, want %q", id, res[id], o)
		}
	}
}
