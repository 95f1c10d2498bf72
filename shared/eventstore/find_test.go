package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"webhooks/shared/eventstore"
)

// The scan's oracle is the set of items written: on generated tables (random
// providers, statuses and receipt times), a parallel scan with any number of
// segments returns exactly the events its filter selects — each once, none
// missing — oldest first.
func TestScanFindsExactlyWhatTheFilterSelects(t *testing.T) {
	eachBackend(t, testScanFindsExactlyWhatTheFilterSelects)
}

func testScanFindsExactlyWhatTheFilterSelects(t *testing.T, b backend) {
	store := b.open(t, false)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	statuses := []eventstore.Status{eventstore.StatusStored, eventstore.StatusQueued, eventstore.StatusQuarantined}
	type rec struct {
		provider string
		status   eventstore.Status
		received time.Time
	}
	all := map[string]rec{}
	for i := range 150 {
		r := rec{provider: []string{"p1", "p2"}[rng.IntN(2)], status: statuses[rng.IntN(3)],
			received: base.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)}
		id := fmt.Sprintf("e%03d", i)
		it := &eventstore.Item{Provider: r.provider, EventID: id, Type: r.provider + ".t", Subject: "s", Time: r.received,
			Data: []byte(`{}`), DataSHA256: eventstore.Digest([]byte(`{}`)), Status: r.status, Reason: "r",
			ReceivedAt: r.received, ExpiresAt: r.received.Add(time.Hour)}
		if _, err := store.Create(ctx, it); err != nil {
			t.Fatal(err)
		}
		all[id] = r
		if r.status == eventstore.StatusStored && rng.IntN(2) == 0 { // other items in the table are never found
			if err := store.MarkUnsent(ctx, r.provider, id, r.received, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	for trial := range 12 {
		flt := eventstore.ScanFilter{Provider: []string{"p1", "p2"}[rng.IntN(2)], Segments: 1 + rng.IntN(9)}
		if rng.IntN(3) > 0 {
			flt.Status = statuses[rng.IntN(3)]
		}
		if rng.IntN(3) > 0 {
			flt.From = base.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
		}
		if rng.IntN(3) > 0 {
			flt.To = flt.From.Add(time.Duration(1+rng.IntN(3000)) * time.Millisecond)
			if flt.From.IsZero() {
				flt.To = base.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
			}
		}
		want := map[string]bool{}
		for id, r := range all {
			if r.provider == flt.Provider && (flt.Status == "" || r.status == flt.Status) &&
				(flt.From.IsZero() || !r.received.Before(flt.From)) && (flt.To.IsZero() || r.received.Before(flt.To)) {
				want[id] = true
			}
		}
		got, err := store.Scan(ctx, flt)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, f := range got {
			if seen[f.EventID] {
				t.Errorf("trial %d (%+v): %s found twice", trial, flt, f.EventID)
			}
			seen[f.EventID] = true
			if !want[f.EventID] {
				t.Errorf("trial %d (%+v): %s (%+v) found but not selected", trial, flt, f.EventID, all[f.EventID])
			}
			if i > 0 && got[i-1].ReceivedAt.After(f.ReceivedAt) {
				t.Errorf("trial %d: not oldest first at %d", trial, i)
			}
		}
		for id := range want {
			if !seen[id] {
				t.Errorf("trial %d (%+v): %s (%+v) selected but not found", trial, flt, id, all[id])
			}
		}
	}
}

// Unsent returns the marked events received before the cutoff, oldest first;
// ClearUnsent removes one.
func TestUnsentMarkers(t *testing.T) { eachBackend(t, testUnsentMarkers) }

func testUnsentMarkers(t *testing.T, b backend) {
	store := b.open(t, false)
	ctx := t.Context()
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	// Receipt times whose trimmed RFC 3339 forms would not sort as times.
	times := []time.Duration{1500 * time.Millisecond, time.Second, 1100 * time.Millisecond, 2 * time.Second}
	for i, d := range times {
		if err := store.MarkUnsent(ctx, "p1", fmt.Sprintf("m%d", i), base.Add(d), i == 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.MarkUnsent(ctx, "p2", "other", base, false); err != nil {
		t.Fatal(err)
	}
	refs, err := store.Unsent(ctx, "p1", base.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.EventID)
	}
	if fmt.Sprint(ids) != "[m1 m2 m0]" {
		t.Fatalf("unsent before the cutoff: %v, want [m1 m2 m0]", ids)
	}
	for _, r := range refs { // a marker says whether its store got an answer
		if r.Unconfirmed != (r.EventID == "m1") {
			t.Errorf("%s: unconfirmed %v", r.EventID, r.Unconfirmed)
		}
	}
	if err := store.ClearUnsent(ctx, "p1", "m2", base.Add(1100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if refs, _ = store.Unsent(ctx, "p1", base.Add(time.Hour)); len(refs) != 3 {
		t.Errorf("after clearing one: %v", refs)
	}
}

// A scan that runs out of time says so instead of answering a partial list
// as if it were complete.
func TestScanStopsWithItsContext(t *testing.T) { eachBackend(t, testScanStopsWithItsContext) }

func testScanStopsWithItsContext(t *testing.T, b backend) {
	store := b.open(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := store.Scan(ctx, eventstore.ScanFilter{Provider: "p1"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("scan after its deadline: %v", err)
	}
}

// cancelAfter is a fault that cancels the scan's context at its n-th Scan
// request, which is then not sent: a scan that runs out of time part-way.
func cancelAfter(n int, cancel context.CancelFunc) eventstore.Fault {
	var mu sync.Mutex
	return func(c eventstore.Call) eventstore.Failure {
		mu.Lock()
		defer mu.Unlock()
		if c.Op == "Scan" {
			if n--; n <= 0 {
				cancel()
			}
		}
		return eventstore.Failure{}
	}
}

// A scan cut short again and again still covers the table: read on from each
// cursor, every selected event is found exactly once (the sweep of a table
// too large for one invocation).
func TestScansReadOnFromTheirCursor(t *testing.T) { eachBackend(t, testScansReadOnFromTheirCursor) }

func testScansReadOnFromTheirCursor(t *testing.T, b backend) {
	store := b.open(t, false)
	ctx := t.Context()
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	for i := range 60 {
		st := eventstore.StatusStored
		if i%3 == 0 {
			st = eventstore.StatusQueued
		}
		id := fmt.Sprintf("c%02d", i)
		it := &eventstore.Item{Provider: "p1", EventID: id, Type: "p1.t", Time: base, Data: []byte(`{}`), DataSHA256: eventstore.Digest([]byte(`{}`)),
			Status: st, ReceivedAt: base.Add(time.Duration(i) * time.Second), ExpiresAt: base.Add(time.Hour)}
		if _, err := store.Create(ctx, it); err != nil {
			t.Fatal(err)
		}
		if st == eventstore.StatusStored {
			want[id] = true
		}
	}
	flt := eventstore.ScanFilter{Provider: "p1", Status: eventstore.StatusStored, Segments: 3, Limit: 4}
	seen := map[string]int{}
	var cursor *eventstore.ScanCursor
	for round := 0; ; round++ {
		if round > 50 {
			t.Fatal("the scan never finishes")
		}
		sctx, cancel := context.WithCancel(ctx)
		found, next, err := store.with(cancelAfter(5, cancel)).ScanFrom(sctx, flt, cursor)
		cancel()
		if next == nil && err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			seen[f.EventID]++
		}
		if next == nil {
			break
		}
		if round == 0 {
			// The cursor survives the table.
			if err := store.SaveSweepCursor(ctx, "p1", next); err != nil {
				t.Fatal(err)
			}
			if next, err = store.SweepCursor(ctx, "p1"); err != nil || next == nil {
				t.Fatalf("cursor read back: %v %v", next, err)
			}
		}
		cursor = next
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s found %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if !want[id] {
			t.Errorf("%s (not selected) found %d times", id, n)
		}
	}
	if err := store.SaveSweepCursor(ctx, "p1", nil); err != nil {
		t.Fatal(err)
	}
	if c, err := store.SweepCursor(ctx, "p1"); err != nil || c != nil {
		t.Errorf("a finished sweep's cursor: %v %v", c, err)
	}
}
