package eventstore_test

// What only the in-memory store can be asked, and where it follows
// DynamoDB's documentation rather than moto (which the conformance cases
// cannot check).

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/shared/eventstore"
)

// TTL deletion happens when DynamoDB's TTL process runs (Expire), never on
// a read: an item past its TTL is read as it is until then, as DynamoDB
// serves it. Only items with a TTL before the time go.
func TestMemoryExpire(t *testing.T) {
	ctx := t.Context()
	m := eventstore.NewMemory()
	if _, err := m.Create(ctx, newItem("p1", "queued", base)); err != nil {
		t.Fatal(err)
	}
	if err := m.MarkQueued(ctx, "p1", "queued", "m", base, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, newItem("p1", "stored", base)); err != nil { // no TTL until queued
		t.Fatal(err)
	}
	if err := m.UseOnce(ctx, "p1", "sig", "mac", base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if it, err := m.Get(ctx, "p1", "queued"); err != nil || it.Status != eventstore.StatusQueued {
		t.Fatalf("an item past its TTL, not yet deleted: %+v %v", it, err)
	}
	if n := m.Expire(base.Add(time.Hour)); n != 0 {
		t.Errorf("expired %d items at their TTL, want 0 (only before)", n)
	}
	if n := m.Expire(base.Add(time.Hour + time.Second)); n != 1 {
		t.Errorf("expired %d items, want the queued event", n)
	}
	if _, err := m.Get(ctx, "p1", "queued"); kind(err) != "not found/-" {
		t.Errorf("expired event: %v", err)
	}
	if err := m.UseOnce(ctx, "p1", "sig", "other", base); kind(err) != "replay/-" {
		t.Errorf("the guard before its TTL: %v", err)
	}
	m.Expire(base.Add(3 * time.Hour))
	if err := m.UseOnce(ctx, "p1", "sig", "other", base); err != nil {
		t.Errorf("the guard once deleted: %v", err)
	}
	if _, err := m.Get(ctx, "p1", "stored"); err != nil {
		t.Errorf("a stored event never expires: %v", err)
	}
}

// What Memory hands out is a copy, and what it is given is copied: a caller
// cannot change the table behind its back.
func TestMemoryKeepsItsOwnCopies(t *testing.T) {
	ctx := t.Context()
	m := eventstore.NewMemory()
	it := newItem("p1", "e1", base)
	if _, err := m.Create(ctx, it); err != nil {
		t.Fatal(err)
	}
	it.Data[2] = 'X'
	items := m.Items()
	items[0]["st"].(*ddb.AttributeValueMemberS).Value = "queued"
	delete(items[0], "d")
	got, err := m.Get(ctx, "p1", "e1")
	if err != nil || got.Status != eventstore.StatusStored || string(got.Data) != `{"id":"e1"}` {
		t.Errorf("%+v %v", got, err)
	}
	got.Data[2] = 'Y'
	if again, _ := m.Get(ctx, "p1", "e1"); string(again.Data) != `{"id":"e1"}` {
		t.Errorf("data changed through a read: %s", again.Data)
	}
}

// A client with a fault shares the table; the clock stamps what the store
// writes itself; Delete removes an item as an operator would.
func TestMemoryClientsShareTheTable(t *testing.T) {
	ctx := t.Context()
	m := eventstore.NewMemory()
	now := base.Add(42 * time.Millisecond)
	m.SetClock(func() time.Time { return now })
	calls := 0
	faulty := m.WithFault(func(c eventstore.Call) eventstore.Failure { calls++; return eventstore.Failure{} })
	if _, err := faulty.Create(ctx, newItem("p1", "e1", base)); err != nil {
		t.Fatal(err)
	}
	if err := m.Quarantine(ctx, "p1", "e1", "r"); err != nil {
		t.Fatal(err)
	}
	it, err := faulty.Get(ctx, "p1", "e1")
	if err != nil || it.Status != eventstore.StatusQuarantined || !it.UpdatedAt.Equal(now) || calls != 2 {
		t.Errorf("%+v %v, %d calls through the faulty client", it, err, calls)
	}
	if !m.Delete("p1#e1", "event") || m.Delete("p1#e1", "event") {
		t.Error("Delete does not report what it removed")
	}
	if _, err := m.Get(ctx, "p1", "e1"); kind(err) != "not found/-" {
		t.Errorf("deleted: %v", err)
	}
}

// DynamoDB takes an item up to 400 KB (409,600 bytes, names included);
// moto refuses from 405,000, so only Memory can be held to the limit itself.
func TestMemoryItemLimitIsDynamoDBs(t *testing.T) {
	m := eventstore.NewMemory()
	it := newItem("p1", "edge", base)
	it.Data = []byte(`"` + strings.Repeat("z", 400_000) + `"`)
	it.Data = append(it.Data[:1], append([]byte(strings.Repeat("z", eventstore.MaxItemBytes-it.Size())), it.Data[1:]...)...)
	it.DataSHA256 = eventstore.Digest(it.Data)
	if it.Size() != eventstore.MaxItemBytes {
		t.Fatalf("size %d", it.Size())
	}
	if _, err := m.Create(t.Context(), it); err != nil {
		t.Fatalf("an item of exactly %d bytes: %v", eventstore.MaxItemBytes, err)
	}
	it.EventID = "over"
	it.Data = append(it.Data, ' ')
	if _, err := m.Create(t.Context(), it); kind(err) != "refused/ValidationException" {
		t.Errorf("one byte over: %v", err)
	}
	// An update that would take the item over the limit is refused, and the
	// store reports it as it reports any failed update.
	big := newItem("p1", "big", base)
	big.Data = []byte(`"` + strings.Repeat("z", eventstore.MaxItemBytes-big.Size()-40) + `"`)
	if _, err := m.Create(t.Context(), big); err != nil {
		t.Fatal(err)
	}
	if err := m.Quarantine(t.Context(), "p1", "big", strings.Repeat("r", 100)); kind(err) != "unavailable/ValidationException" {
		t.Errorf("an update over the limit: %v", err)
	}
	if got, _ := m.Get(t.Context(), "p1", "big"); got.Status != eventstore.StatusStored {
		t.Errorf("the refused update was applied: %+v", got.Status)
	}
}

// Whatever an event holds, it is read back as it was written, through the
// encoding of every attribute (short names, binary digests and ids, times
// as offsets or strings, the type without its prefix), before and after it
// is marked queued: a property over generated events, its oracle the item
// given to Create.
func TestEveryEventReadsBackAsWritten(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 7))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }
	for i := range 2000 {
		m := eventstore.NewMemory()
		provider := pick("tiki", "apigift", "p", "a-b")
		received := time.Date(2000+rng.IntN(60), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1e9), time.UTC)
		offsets := []time.Duration{0, time.Duration(rng.Int64N(1e12)) - 5e11, -time.Duration(rng.Int64N(int64(40 * 365 * 24 * time.Hour))), time.Duration(rng.Int64N(int64(40 * 365 * 24 * time.Hour)))}
		data := []byte(fmt.Sprintf(`{"n":%d}`, rng.IntN(1e6)))
		it := &eventstore.Item{
			Provider: provider, EventID: fmt.Sprintf("%032x", rng.Uint64()), Type: pick(provider+".thing.changed", provider+".x", "other.type", "/odd", provider),
			Subject: pick("", "s-1", "sgn/1377286379376"), Time: received.Add(offsets[rng.IntN(len(offsets))]),
			Data: data, DataSHA256: eventstore.Digest(data), Status: eventstore.StatusStored, ReceivedAt: received,
			VerifiedBy: pick("", "a1b2c3d4-e5f6-4789-8abc-def012345678", "custom-version", "0123456789abcdef0123456789abcdef"),
			Deprecated: rng.IntN(2) == 0,
		}
		if rng.IntN(3) == 0 {
			it.EventID, it.Entity, it.State = "", it.Type+"|"+it.Subject, pick("A", "B")
		}
		if _, err := m.Create(t.Context(), it); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		want := *it
		want.Entity, want.State = "", ""
		want.Time, want.ReceivedAt, want.UpdatedAt = ms(it.Time), ms(received), ms(received)
		check := func(when string) {
			t.Helper()
			got, err := m.Get(t.Context(), provider, it.EventID)
			if err != nil {
				t.Fatalf("%d %s: %v", i, when, err)
			}
			got.Time, got.ReceivedAt, got.UpdatedAt, got.QueuedAt = got.Time.UTC(), got.ReceivedAt.UTC(), got.UpdatedAt.UTC(), got.QueuedAt.UTC()
			if g, w := fmt.Sprintf("%+v", *got), fmt.Sprintf("%+v", want); g != w {
				t.Fatalf("%d %s:\n got %s\nwant %s", i, when, g, w)
			}
		}
		check("stored")
		queued := received.Add(time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))
		m.SetClock(func() time.Time { return queued })
		msgID := pick("c6af9ac6-7b61-11e6-9a41-93e812345678", "not-a-uuid")
		exp := queued.Add(720 * time.Hour)
		if err := m.MarkQueued(t.Context(), provider, it.EventID, msgID, received, exp); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		want.Status, want.MessageID, want.QueuedAt, want.UpdatedAt, want.ExpiresAt = eventstore.StatusQueued, msgID, ms(queued), ms(queued), time.Unix(exp.Unix(), 0)
		check("queued")
	}
}
