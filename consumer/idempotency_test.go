package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/consumer"
)

// clock is a fake clock for Idempotency.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// counter is a Handle that counts its calls by event id (and replay id), and
// fails the ids in fail.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
	fail  map[string]bool
}

func newCounter() *counter { return &counter{calls: map[string]int{}, fail: map[string]bool{}} }

func key(m *consumer.Message) string {
	if m.Event.ReplayID != "" {
		return m.Event.ID + "/" + m.Event.ReplayID
	}
	return m.Event.ID
}

func (c *counter) handle(_ context.Context, m *consumer.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[key(m)]++
	if c.fail[m.Event.ID] {
		return errors.New("refused")
	}
	return nil
}

func (c *counter) n(k string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.calls[k] }

var msgSeq atomic.Int64

// msg is a record of a valid tiki.order.status_changed event with this id,
// replay id ("" for the original) and group.
func msg(id, replayID, group string) events.SQSMessage {
	env := validEnvelope(consumer.TypeTikiOrder, id)
	env.ReplayID = replayID
	return record(fmt.Sprintf("sqs-%d", msgSeq.Add(1)), group, env.body(), consumer.TypeTikiOrder)
}

// run handles one batch and returns each record's outcome, in order.
func run(t *testing.T, h *consumer.Handler, recs ...events.SQSMessage) []consumer.Outcome {
	t.Helper()
	res := h.Process(context.Background(), events.SQSEvent{Records: recs})
	out := make([]consumer.Outcome, len(recs))
	for i, r := range recs {
		out[i] = res[r.MessageId]
	}
	return out
}

func outcomes(o ...consumer.Outcome) []consumer.Outcome { return o }

func eq(a, b []consumer.Outcome) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

const (
	idA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func newIdem(c *clock) *consumer.Idempotency {
	return &consumer.Idempotency{Store: consumer.NewMemoryStore(), Now: c.Now, TTL: 48 * time.Hour, Lease: 5 * time.Minute}
}

func TestIdempotencyDuplicateInLaterBatchIsSkipped(t *testing.T) {
	c, hc := newClock(), newCounter()
	h := &consumer.Handler{Handle: hc.handle, Idempotency: newIdem(c), Logger: quietLogger}
	if got := run(t, h, msg(idA, "", "g")); !eq(got, outcomes(consumer.Handled)) {
		t.Fatalf("first delivery: %v", got)
	}
	c.Advance(10 * time.Minute) // after SQS's de-duplication window
	if got := run(t, h, msg(idA, "", "g"), msg(idB, "", "g")); !eq(got, outcomes(consumer.Skipped, consumer.Handled)) {
		t.Fatalf("second delivery: %v", got)
	}
	// Twice in one batch (one group, then two groups one at a time).
	if got := run(t, h, msg(idB, "", "g"), msg(idB, "", "h")); !eq(got, outcomes(consumer.Skipped, consumer.Skipped)) {
		t.Fatalf("third delivery: %v", got)
	}
	if hc.n(idA) != 1 || hc.n(idB) != 1 {
		t.Fatalf("handled %v, want each once", hc.calls)
	}
	resp, _ := h.HandleBatch(context.Background(), events.SQSEvent{Records: []events.SQSMessage{msg(idA, "", "g")}})
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("a skipped record is reported as a failure: %v", resp.BatchItemFailures)
	}
}

func TestIdempotencyFailureReleasesTheClaim(t *testing.T) {
	c, hc := newClock(), newCounter()
	h := &consumer.Handler{Handle: hc.handle, Idempotency: newIdem(c), Logger: quietLogger}
	hc.fail[idA] = true
	if got := run(t, h, msg(idA, "", "g"), msg(idB, "", "g")); !eq(got, outcomes(consumer.Failed, consumer.Held)) {
		t.Fatalf("failing delivery: %v", got)
	}
	hc.fail[idA] = false
	// The retry comes at once (no lease to wait for): the claim was released.
	if got := run(t, h, msg(idA, "", "g"), msg(idB, "", "g")); !eq(got, outcomes(consumer.Handled, consumer.Handled)) {
		t.Fatalf("retry: %v", got)
	}
	if hc.n(idA) != 2 || hc.n(idB) != 1 {
		t.Fatalf("calls %v", hc.calls)
	}
}

func TestIdempotencyLease(t *testing.T) {
	c, hc := newClock(), newCounter()
	idem := newIdem(c)
	h := &consumer.Handler{Handle: hc.handle, Idempotency: idem, Logger: quietLogger}
	ctx := context.Background()
	// Another delivery (a consumer that died, or one still at work) holds A.
	if ok, err := idem.Claim(ctx, idA); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, err := idem.Claim(ctx, idA); !errors.Is(err, consumer.ErrInProgress) {
		t.Fatalf("second claim: %v, want ErrInProgress", err)
	}
	// While the lease lives, the record fails and holds its group.
	if got := run(t, h, msg(idA, "", "g"), msg(idB, "", "g"), msg(idB, "", "")); !eq(got, outcomes(consumer.Failed, consumer.Held, consumer.Handled)) {
		t.Fatalf("live lease: %v", got)
	}
	c.Advance(5*time.Minute - time.Millisecond)
	if got := run(t, h, msg(idA, "", "g")); !eq(got, outcomes(consumer.Failed)) {
		t.Fatalf("just before the lease ends: %v", got)
	}
	c.Advance(time.Millisecond)
	if got := run(t, h, msg(idA, "", "g")); !eq(got, outcomes(consumer.Handled)) {
		t.Fatalf("lease ended: %v", got)
	}
	if hc.n(idA) != 1 {
		t.Fatalf("A handled %d times", hc.n(idA))
	}
}

func TestIdempotencyTTLForgets(t *testing.T) {
	c, hc := newClock(), newCounter()
	h := &consumer.Handler{Handle: hc.handle, Idempotency: newIdem(c), Logger: quietLogger}
	run(t, h, msg(idA, "", "g"))
	c.Advance(48*time.Hour - time.Second)
	if got := run(t, h, msg(idA, "", "g")); !eq(got, outcomes(consumer.Skipped)) {
		t.Fatalf("before the TTL: %v", got)
	}
	c.Advance(time.Second)
	if got := run(t, h, msg(idA, "", "g")); !eq(got, outcomes(consumer.Handled)) {
		t.Fatalf("after the TTL: %v", got)
	}
	if hc.n(idA) != 2 {
		t.Fatalf("calls %v", hc.calls)
	}
	// The default TTL is DefaultTTL.
	c2 := newClock()
	idem := &consumer.Idempotency{Store: consumer.NewMemoryStore(), Now: c2.Now}
	h2 := &consumer.Handler{Handle: newCounter().handle, Idempotency: idem, Logger: quietLogger}
	run(t, h2, msg(idA, "", "g"))
	c2.Advance(consumer.DefaultTTL - time.Second)
	if got := run(t, h2, msg(idA, "", "g")); !eq(got, outcomes(consumer.Skipped)) {
		t.Fatalf("before DefaultTTL: %v", got)
	}
	c2.Advance(time.Second)
	if got := run(t, h2, msg(idA, "", "g")); !eq(got, outcomes(consumer.Handled)) {
		t.Fatalf("after DefaultTTL: %v", got)
	}
}

func TestReplayPolicies(t *testing.T) {
	type step struct {
		replayID string
		id       string
		want     consumer.Outcome
	}
	cases := []struct {
		policy consumer.ReplayPolicy
		idem   bool
		steps  []step
	}{
		{consumer.ReplayDeduplicate, true, []step{
			{"", idA, consumer.Handled},
			{"r1", idA, consumer.Skipped}, // a replay of a handled id
			{"r1", idB, consumer.Handled}, // a replay of an id never handled
			{"", idB, consumer.Skipped},   // then the original is the duplicate
			{"r2", idB, consumer.Skipped},
		}},
		{consumer.ReplayReprocess, true, []step{
			{"", idA, consumer.Handled},
			{"r1", idA, consumer.Handled}, // once per replay
			{"r1", idA, consumer.Skipped},
			{"r2", idA, consumer.Handled},
			{"", idA, consumer.Skipped},
			{"r1", idB, consumer.Handled},
			{"", idB, consumer.Handled}, // the original is not the replay
		}},
		{consumer.ReplayIgnore, true, []step{
			{"r1", idA, consumer.Skipped}, // even an id never handled
			{"", idA, consumer.Handled},
			{"r2", idA, consumer.Skipped},
		}},
		{consumer.ReplayDeduplicate, false, []step{
			{"", idA, consumer.Handled}, {"r1", idA, consumer.Handled}, {"r1", idA, consumer.Handled},
		}},
		{consumer.ReplayReprocess, false, []step{
			{"", idA, consumer.Handled}, {"r1", idA, consumer.Handled},
		}},
		{consumer.ReplayIgnore, false, []step{
			{"r1", idA, consumer.Skipped}, {"", idA, consumer.Handled},
		}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("policy=%d/idempotency=%v", tc.policy, tc.idem), func(t *testing.T) {
			hc := newCounter()
			h := &consumer.Handler{Handle: hc.handle, Replays: tc.policy, Logger: quietLogger}
			if tc.idem {
				h.Idempotency = newIdem(newClock())
			}
			calls := 0
			for i, s := range tc.steps {
				if got := run(t, h, msg(s.id, s.replayID, "g")); got[0] != s.want {
					t.Fatalf("step %d (id %s…, replayid %q): %q, want %q", i, s.id[:4], s.replayID, got[0], s.want)
				}
				if s.want == consumer.Handled {
					calls++
				}
			}
			total := 0
			for _, n := range hc.calls {
				total += n
			}
			if total != calls {
				t.Fatalf("Handle called %d times, want %d (only for handled records)", total, calls)
			}
		})
	}
	for in, want := range map[string]consumer.ReplayPolicy{"": consumer.ReplayDeduplicate, "deduplicate": consumer.ReplayDeduplicate, "reprocess": consumer.ReplayReprocess, "ignore": consumer.ReplayIgnore} {
		if got, err := consumer.ParseReplayPolicy(in); err != nil || got != want {
			t.Errorf("ParseReplayPolicy(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"Ignore", "skip", " ignore"} {
		if _, err := consumer.ParseReplayPolicy(in); err == nil {
			t.Errorf("ParseReplayPolicy(%q) accepted", in)
		}
	}
}

// Of N concurrent claims of one key, exactly one succeeds; the others see a
// live claim; once done, every claim reports it handled.
func TestMemoryStoreConcurrentClaims(t *testing.T) {
	c := newClock()
	idem := newIdem(c)
	const n = 64
	for round := range 20 {
		k := fmt.Sprintf("key-%d", round)
		var wins, inProgress atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				ok, err := idem.Claim(context.Background(), k)
				switch {
				case ok && err == nil:
					wins.Add(1)
				case errors.Is(err, consumer.ErrInProgress):
					inProgress.Add(1)
				default:
					t.Errorf("claim: %v %v", ok, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || inProgress.Load() != n-1 {
			t.Fatalf("round %d: %d claims won, %d in progress; want 1 and %d", round, wins.Load(), inProgress.Load(), n-1)
		}
		if err := idem.Complete(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		if ok, err := idem.Claim(context.Background(), k); ok || err != nil {
			t.Fatalf("claim of a handled key: %v %v, want false, nil", ok, err)
		}
	}
}

// Generated batches with redeliveries of a few event ids, across groups,
// with random handler failures and Groups > 1: an id is handled successfully
// at most once, ever; a record of an id handled before is skipped; once the
// failures stop, every id has been handled exactly once.
func TestIdempotencyProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(seed(t), 4))
	batches, records := 0, 0
	for round := range 200 {
		c := newClock()
		idem := newIdem(c)
		var mu sync.Mutex
		successes := map[string]int{}
		failNow := 0.3
		h := &consumer.Handler{Idempotency: idem, Groups: 1 + r.IntN(4), Logger: quietLogger, Handle: func(_ context.Context, m *consumer.Message) error {
			mu.Lock()
			defer mu.Unlock()
			if r.Float64() < failNow {
				return errors.New("refused")
			}
			successes[m.Event.ID]++
			return nil
		}}
		ids := make([]string, 1+r.IntN(6))
		for i := range ids {
			ids[i] = eventID(r)
		}
		handledBefore := map[string]bool{}
		for b := range 8 {
			if b == 6 {
				failNow = 0 // the last two batches: every id once more, nothing fails
			}
			var recs []events.SQSMessage
			if b >= 6 {
				for _, id := range ids {
					recs = append(recs, msg(id, "", "g-"+id[:4]))
				}
			} else {
				for range 1 + r.IntN(10) {
					id := ids[r.IntN(len(ids))]
					g := fmt.Sprintf("g%d", r.IntN(3))
					recs = append(recs, msg(id, "", g))
				}
			}
			batches++
			records += len(recs)
			mu.Lock()
			before := map[string]int{}
			for k, v := range successes {
				before[k] = v
			}
			mu.Unlock()
			res := h.Process(context.Background(), events.SQSEvent{Records: recs})
			for _, rec := range recs {
				m, _ := consumer.Decode(rec)
				id := m.Event.ID
				switch res[rec.MessageId] {
				case consumer.Handled:
					if handledBefore[id] {
						t.Fatalf("round %d batch %d: %s handled again", round, b, id)
					}
				case consumer.Skipped:
					if before[id] == 0 && successes[id] == 0 {
						t.Fatalf("round %d batch %d: %s skipped, never handled", round, b, id)
					}
				}
			}
			for id, n := range successes {
				if n > 1 {
					t.Fatalf("round %d batch %d: %s handled %d times", round, b, id, n)
				}
				handledBefore[id] = true
			}
			c.Advance(time.Minute)
		}
		for _, id := range ids {
			if successes[id] != 1 {
				t.Fatalf("round %d: %s handled %d times after the failures stopped, want 1", round, id, successes[id])
			}
		}
	}
	t.Logf("%d generated batches, %d records", batches, records)
}

// failingStore fails the operations named in fail.
type failingStore struct {
	consumer.Store
	failClaim, failComplete, failRelease bool
}

var errStore = errors.New("store unavailable")

func (s *failingStore) Claim(ctx context.Context, k string, now, lease, exp time.Time) (bool, error) {
	if s.failClaim {
		return false, errStore
	}
	return s.Store.Claim(ctx, k, now, lease, exp)
}

func (s *failingStore) Complete(ctx context.Context, k string, exp time.Time) error {
	if s.failComplete {
		return errStore
	}
	return s.Store.Complete(ctx, k, exp)
}

func (s *failingStore) Release(ctx context.Context, k string) error {
	if s.failRelease {
		return errStore
	}
	return s.Store.Release(ctx, k)
}

func TestIdempotencyStoreFailures(t *testing.T) {
	c, hc := newClock(), newCounter()
	fs := &failingStore{Store: consumer.NewMemoryStore()}
	h := &consumer.Handler{Handle: hc.handle, Idempotency: &consumer.Idempotency{Store: fs, Now: c.Now, Lease: time.Minute}, Logger: quietLogger}

	// A claim that cannot be made fails the record, unhandled, and holds its group.
	fs.failClaim = true
	if got := run(t, h, msg(idA, "", "g"), msg(idB, "", "g")); !eq(got, outcomes(consumer.Failed, consumer.Held)) || hc.n(idA) != 0 {
		t.Fatalf("claim fails: %v, calls %v", got, hc.calls)
	}
	fs.failClaim = false

	// Handled but not recorded as done: the record succeeds, and its claim
	// keeps a later copy out until the lease ends.
	fs.failComplete = true
	if got := run(t, h, msg(idA, "", "g")); !eq(got, outcomes(consumer.Handled)) {
		t.Fatalf("complete fails: %v", got)
	}
	fs.failComplete = false
	if got := run(t, h, msg(idA, "", "g")); !eq(got, outcomes(consumer.Failed)) {
		t.Fatalf("copy during the lease: %v", got)
	}
	c.Advance(time.Minute)
	if got := run(t, h, msg(idA, "", "g")); !eq(got, outcomes(consumer.Handled)) {
		t.Fatalf("copy after the lease: %v", got)
	}

	// A release that fails: the record fails; the retry waits for the lease.
	hc.fail[idB] = true
	fs.failRelease = true
	if got := run(t, h, msg(idB, "", "g")); !eq(got, outcomes(consumer.Failed)) {
		t.Fatalf("handler and release fail: %v", got)
	}
	hc.fail[idB], fs.failRelease = false, false
	if got := run(t, h, msg(idB, "", "g")); !eq(got, outcomes(consumer.Failed)) {
		t.Fatalf("retry during the lease: %v", got)
	}
	c.Advance(time.Minute)
	if got := run(t, h, msg(idB, "", "g")); !eq(got, outcomes(consumer.Handled)) {
		t.Fatalf("retry after the lease: %v", got)
	}

	// No store at all: every record fails, none is handled.
	h2 := &consumer.Handler{Handle: hc.handle, Idempotency: &consumer.Idempotency{}, Logger: quietLogger}
	if got := run(t, h2, msg(eventIDOf(9), "", "g")); !eq(got, outcomes(consumer.Failed)) {
		t.Fatalf("nil Store: %v", got)
	}
}

func eventIDOf(n int) string { return fmt.Sprintf("%032x", n) }
