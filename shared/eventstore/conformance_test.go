package eventstore_test

// Conformance: one set of cases, run against the in-memory store and the
// DynamoDB one (on moto_server), so that the pipeline's tests, which run on
// Memory, prove what they would prove on DynamoDB. Each case asserts the
// results, the errors (their kind, whether DynamoDB answered, its error
// code) and the items left in the table, attribute by attribute.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"webhooks/shared/eventstore"
)

var base = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func newItem(provider, id string, received time.Time) *eventstore.Item {
	data := []byte(`{"id":"` + id + `"}`)
	return &eventstore.Item{Provider: provider, EventID: id, Type: provider + ".thing", Subject: "s-" + id, Time: received.Add(-time.Second),
		Data: data, DataSHA256: eventstore.Digest(data), Status: eventstore.StatusStored, ReceivedAt: received}
}

// kind names an error as the pipeline reads it: the store's sentinel, and
// the AWS error code when DynamoDB answered ("-" when no answer came).
func kind(err error) string {
	if err == nil {
		return "ok"
	}
	var name string
	for _, s := range []struct {
		err  error
		name string
	}{{eventstore.ErrRefused, "refused"}, {eventstore.ErrUnavailable, "unavailable"}, {eventstore.ErrNotFound, "not found"},
		{eventstore.ErrReplay, "replay"}, {eventstore.ErrConflict, "conflict"}} {
		if errors.Is(err, s.err) {
			name = s.name
		}
	}
	if name == "" {
		name = "other(" + err.Error() + ")"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return name + "/" + ae.ErrorCode()
	}
	return name + "/-"
}

// A new event is written once: a second Create of its key returns the item
// stored first, whatever the second one says; Get reads it back.
func TestConformanceCreateOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, false)
		first := newItem("p1", "e1", base)
		first.VerifiedBy = "a1b2c3d4-e5f6-4789-8abc-def012345678"
		first.Deprecated = true
		if existing, err := tb.Create(ctx, first); existing != nil || err != nil {
			t.Fatalf("first create: %v %v", existing, err)
		}
		second := newItem("p1", "e1", base.Add(time.Minute))
		second.Type, second.Data = "p1.other", []byte(`{"other":true}`)
		existing, err := tb.Create(ctx, second)
		if err != nil || existing == nil {
			t.Fatalf("second create: %v %v", existing, err)
		}
		got, err := tb.Get(ctx, "p1", "e1")
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%+v", eventstore.Item{Provider: "p1", EventID: "e1", Type: "p1.thing", Subject: "s-e1", Time: base.Add(-time.Second),
			Data: first.Data, DataSHA256: first.DataSHA256, Status: eventstore.StatusStored, Deprecated: true, ReceivedAt: base,
			VerifiedBy: first.VerifiedBy, UpdatedAt: base})
		for what, it := range map[string]*eventstore.Item{"the duplicate's answer": existing, "Get": got} {
			it.Time, it.ReceivedAt, it.UpdatedAt = it.Time.UTC(), it.ReceivedAt.UTC(), it.UpdatedAt.UTC()
			if s := fmt.Sprintf("%+v", *it); s != want {
				t.Errorf("%s:\n%s\nwant\n%s", what, s, want)
			}
		}
		if _, err := tb.Get(ctx, "p1", "nope"); kind(err) != "not found/-" {
			t.Errorf("get of an unknown event: %v", err)
		}
		if _, err := tb.Get(ctx, "p2", "e1"); kind(err) != "not found/-" {
			t.Errorf("another provider's event of the same id: %v", err)
		}
		wantItems := `d=S:{"id":"e1"}; deprecated=B:true; dh=X:` + first.DataSHA256 + `; pk=S:p1#e1; ` +
			`received_at=S:2026-11-28T10:00:00Z; sk=S:event; st=S:stored; su=S:s-e1; tm=N:-1000; ty=S:thing; ` +
			`vb=X:a1b2c3d4e5f647898abcdef012345678`
		if got := render(tb.items(t)); got != wantItems {
			t.Errorf("items:\n%s\nwant\n%s", got, wantItems)
		}
	})
}

// An event's life, step by step, with the conditional writes that refuse a
// step out of turn: quarantine (no TTL, in the index), release (keeps the
// index key and reason), queued (TTL, out of the index), and then nothing
// moves it back.
func TestConformanceLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, false)
		exp := base.Add(720 * time.Hour)
		for what, err := range map[string]error{
			"mark queued":  tb.MarkQueued(ctx, "p1", "e1", "m1", base, exp),
			"release":      tb.Release(ctx, "p1", "e1"),
			"quarantine":   tb.Quarantine(ctx, "p1", "e1", "why"),
			"clear marker": nil,
		} {
			if what != "clear marker" && kind(err) != "conflict/-" {
				t.Errorf("%s of an event that is not stored: %v", what, err)
			}
		}
		if len(tb.items(t)) != 0 {
			t.Fatalf("a refused write left items: %s", render(tb.items(t)))
		}
		if _, err := tb.Create(ctx, newItem("p1", "e1", base)); err != nil {
			t.Fatal(err)
		}
		if err := tb.Release(ctx, "p1", "e1"); kind(err) != "conflict/-" {
			t.Errorf("release of a stored event: %v", err)
		}
		step := func(what string, err error, status eventstore.Status, wantAttrs string) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			it, err := tb.Get(ctx, "p1", "e1")
			if err != nil || it.Status != status {
				t.Fatalf("%s: %+v %v", what, it, err)
			}
			if got := attrs(render(tb.items(t), "ua", "qa")); got != wantAttrs {
				t.Errorf("%s: attributes\n%s\nwant\n%s", what, got, wantAttrs)
			}
		}
		step("quarantine", tb.Quarantine(ctx, "p1", "e1", "the key is wrong"), eventstore.StatusQuarantined,
			"quarantine_pk=S:p1; reason=S:the key is wrong; st=S:quarantined; ua=S:<now>")
		step("quarantine again", tb.Quarantine(ctx, "p1", "e1", "still wrong"), eventstore.StatusQuarantined,
			"quarantine_pk=S:p1; reason=S:still wrong; st=S:quarantined; ua=S:<now>")
		step("release", tb.Release(ctx, "p1", "e1"), eventstore.StatusStored,
			"quarantine_pk=S:p1; reason=S:still wrong; st=S:stored; ua=S:<now>")
		if err := tb.Release(ctx, "p1", "e1"); kind(err) != "conflict/-" {
			t.Errorf("second release: %v", err)
		}
		step("mark queued", tb.MarkQueued(ctx, "p1", "e1", "m1", base, exp), eventstore.StatusQueued,
			fmt.Sprintf("expires_at=N:%d; mi=S:m1; qa=N:<now>; st=S:queued", exp.Unix()))
		if err := tb.Quarantine(ctx, "p1", "e1", "late"); kind(err) != "conflict/-" {
			t.Errorf("quarantine of a queued event: %v", err)
		}
		if err := tb.Release(ctx, "p1", "e1"); kind(err) != "conflict/-" {
			t.Errorf("release of a queued event: %v", err)
		}
		step("mark queued again", tb.MarkQueued(ctx, "p1", "e1", "m2", base, exp.Add(time.Hour)), eventstore.StatusQueued,
			fmt.Sprintf("expires_at=N:%d; mi=S:m2; qa=N:<now>; st=S:queued", exp.Add(time.Hour).Unix()))
		it, _ := tb.Get(ctx, "p1", "e1")
		if !it.ExpiresAt.Equal(exp.Add(time.Hour)) || it.MessageID != "m2" || it.QueuedAt.IsZero() || it.Reason != "" {
			t.Errorf("queued item read back: %+v", it)
		}
		// A quarantined event created as such is in the index with no TTL,
		// its data dropped when DynamoDB could not hold it.
		q := newItem("p1", "e2", base)
		q.Status, q.Reason, q.DataDropped, q.Data = eventstore.StatusQuarantined, "too large", true, []byte("null")
		if _, err := tb.Create(ctx, q); err != nil {
			t.Fatal(err)
		}
		got, err := tb.Get(ctx, "p1", "e2")
		if err != nil || got.Status != eventstore.StatusQuarantined || !got.DataDropped || string(got.Data) != "null" || got.Reason != "too large" || !got.ExpiresAt.IsZero() {
			t.Errorf("quarantined at creation: %+v %v", got, err)
		}
	})
}

// attrs keeps, of rendered items, the event item's attributes that change
// after creation.
func attrs(rendered string) string {
	var out []string
	for _, line := range strings.Split(rendered, "\n") {
		if !strings.Contains(line, "sk=S:event") {
			continue
		}
		for _, a := range strings.Split(line, "; ") {
			for _, p := range []string{"st=", "reason=", "quarantine_pk=", "expires_at=", "mi=", "qa=", "ua="} {
				if strings.HasPrefix(a, p) {
					out = append(out, a)
				}
			}
		}
	}
	return strings.Join(out, "; ")
}

// The reason is free text: whatever it says is kept as it is.
func TestConformanceReasonWithSpaces(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tb := b.open(t, false)
		if _, err := tb.Create(t.Context(), newItem("p1", "e1", base)); err != nil {
			t.Fatal(err)
		}
		reason := "SQS refused the message: InvalidParameterValue"
		if err := tb.Quarantine(t.Context(), "p1", "e1", reason); err != nil {
			t.Fatal(err)
		}
		if it, err := tb.Get(t.Context(), "p1", "e1"); err != nil || it.Reason != reason {
			t.Errorf("%+v %v", it, err)
		}
	})
}

// DynamoDB refuses an item over its size limit for its content (refused,
// ValidationException), before it checks any condition; what it takes it
// keeps whole. Sizes clear of the band where moto and DynamoDB differ
// (moto refuses from 405,000 bytes, DynamoDB from 409,600: Memory follows
// DynamoDB, MaxItemBytes).
func TestConformanceItemSize(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, false)
		big := newItem("p1", "big", base)
		big.Data = []byte(`"` + strings.Repeat("x", 300_000) + `"`)
		if _, err := tb.Create(ctx, big); err != nil {
			t.Fatalf("a 300 KB item: %v", err)
		}
		if it, err := tb.Get(ctx, "p1", "big"); err != nil || len(it.Data) != len(big.Data) {
			t.Fatalf("read back: %v", err)
		}
		huge := newItem("p1", "huge", base)
		huge.Data = []byte(`"` + strings.Repeat("y", 420_000) + `"`)
		if huge.Size() <= eventstore.MaxItemBytes {
			t.Fatalf("size %d", huge.Size())
		}
		if _, err := tb.Create(ctx, huge); kind(err) != "refused/ValidationException" {
			t.Errorf("a 420 KB item: %v", kind(err))
		}
		huge.EventID = "big" // its key taken: still refused for its size
		if _, err := tb.Create(ctx, huge); kind(err) != "refused/ValidationException" {
			t.Errorf("a 420 KB item whose key exists: %v", kind(err))
		}
		if _, err := tb.Get(ctx, "p1", "huge"); kind(err) != "not found/-" {
			t.Errorf("the refused item: %v", err)
		}
	})
}

// A single-use credential is bound to its first body: the same body again
// passes (a retry), another body is a replay; credentials are apart.
func TestConformanceUseOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, false)
		exp := base.Add(time.Hour)
		for i, c := range []struct {
			provider, cred, mac, want string
		}{
			{"p1", "sig-1", "mac-a", "ok"},
			{"p1", "sig-1", "mac-a", "ok"},
			{"p1", "sig-1", "mac-b", "replay/-"},
			{"p1", "sig-2", "mac-b", "ok"},
			{"p2", "sig-1", "mac-b", "ok"},
			{"p1", "sig-1", "mac-a", "ok"},
		} {
			if got := kind(tb.UseOnce(ctx, c.provider, c.cred, c.mac, exp)); got != c.want {
				t.Errorf("%d: %+v: %s", i, c, got)
			}
		}
		got := render(tb.items(t), "received_at")
		if n := strings.Count(got, "sk=S:replay"); n != 3 || strings.Contains(got, "sig-") || !strings.Contains(got, fmt.Sprintf("expires_at=N:%d", exp.Unix())) {
			t.Errorf("replay records (keyed by a digest of the credential, with a TTL):\n%s", got)
		}
	})
}

// stateItem is a state of entity "ent" (or another) of provider p1.
func stateItem(entity, state string, received time.Time) *eventstore.Item {
	it := newItem("p1", "", received)
	it.Entity, it.State = "p1.thing|"+entity, state
	return it
}

// An entity's states: a new state is written at the next generation of the
// entity's partition with an id of its own, the latest state again is the
// event stored first (a redelivery), and A → B → A is three events. Ids are
// read back where they say they are.
func TestConformanceStates(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, false)
		ids := map[string]string{}
		for i, c := range []struct {
			entity, state, name string
			dup                 bool
		}{
			{"order-1", "A", "a1", false},
			{"order-1", "A", "a1", true},
			{"order-1", "B", "b1", false},
			{"order-1", "A", "a2", false},
			{"order-1", "A", "a2", true},
			{"order-2", "A", "o2", false},
		} {
			it := stateItem(c.entity, c.state, base.Add(time.Duration(i)*time.Second))
			existing, err := tb.Create(ctx, it)
			if err != nil || (existing != nil) != c.dup {
				t.Fatalf("%d: %+v: %+v %v", i, c, existing, err)
			}
			if c.dup {
				if existing.EventID != ids[c.name] || it.EventID != ids[c.name] {
					t.Errorf("%d: a redelivery of %s answered %s (item %s), want %s", i, c.name, existing.EventID, it.EventID, ids[c.name])
				}
				continue
			}
			if len(it.EventID) != 32 {
				t.Errorf("%d: id %q", i, it.EventID)
			}
			for name, id := range ids {
				if id == it.EventID {
					t.Errorf("%d: %s has the id of %s", i, c.name, name)
				}
			}
			ids[c.name] = it.EventID
		}
		for name, id := range ids {
			got, err := tb.Get(ctx, "p1", id)
			if err != nil || got.EventID != id || got.Status != eventstore.StatusStored {
				t.Errorf("%s read back: %+v %v", name, got, err)
			}
		}
		// order-1's three states in one partition, at consecutive generations.
		prefix := eventstore.EntityPrefix("p1", "p1.thing|order-1")
		var gens []string
		for _, av := range tb.items(t) {
			if pk := av["pk"].(*ddb.AttributeValueMemberS).Value; pk == "p1#"+prefix {
				gens = append(gens, av["sk"].(*ddb.AttributeValueMemberS).Value)
			}
			if strings.Contains(render([]map[string]ddb.AttributeValue{av}), "order-") {
				t.Errorf("an entity id in the keys or the state digest: %s", render([]map[string]ddb.AttributeValue{av}))
			}
		}
		sort.Strings(gens)
		if len(gens) != 3 || ids["a1"] != eventstore.StateID(prefix, parseGen(t, gens[0])) ||
			ids["b1"] != eventstore.StateID(prefix, parseGen(t, gens[0])+1) || ids["a2"] != eventstore.StateID(prefix, parseGen(t, gens[0])+2) {
			t.Errorf("order-1's partition: %v, ids %v", gens, ids)
		}
		scan, err := tb.Scan(ctx, eventstore.ScanFilter{Provider: "p1"})
		if err != nil || len(scan) != 4 {
			t.Errorf("scan of the states: %+v %v", scan, err)
		}
	})
}

func parseGen(t *testing.T, sk string) uint32 {
	t.Helper()
	g, err := strconv.ParseUint(sk, 16, 32)
	if err != nil || len(sk) != 7 {
		t.Fatalf("generation %q: %v", sk, err)
	}
	return uint32(g)
}

// An item the previous layout wrote (every name long, every time a string, a
// version id without its dashes) is read, found by a scan, and moved through
// its life by the new writes until its TTL passes.
func TestConformanceReadsThePreviousLayout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, false)
		S := func(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
		id := "0123456789abcdef0123456789abcdef"
		tb.put(t, map[string]ddb.AttributeValue{
			"pk": S("p1#" + id), "sk": S("event"), "provider": S("p1"), "event_id": S(id), "type": S("p1.thing"),
			"subject": S("order-9"), "time": S("2026-11-28T09:59:59.5Z"), "data": S(`{"a":1}`), "data_sha256": S(eventstore.Digest([]byte(`{"a":1}`))),
			"status": S("stored"), "received_at": S("2026-11-28T10:00:00Z"), "verified_by": S("a1b2c3d4e5f647898abcdef012345678"),
		})
		want := fmt.Sprintf("%+v", eventstore.Item{Provider: "p1", EventID: id, Type: "p1.thing", Subject: "order-9", Time: base.Add(-500 * time.Millisecond),
			Data: []byte(`{"a":1}`), DataSHA256: eventstore.Digest([]byte(`{"a":1}`)), Status: eventstore.StatusStored, ReceivedAt: base,
			VerifiedBy: "a1b2c3d4-e5f6-4789-8abc-def012345678", UpdatedAt: base})
		got, err := tb.Get(ctx, "p1", id)
		if err != nil {
			t.Fatal(err)
		}
		got.Time, got.ReceivedAt, got.UpdatedAt = got.Time.UTC(), got.ReceivedAt.UTC(), got.UpdatedAt.UTC()
		if s := fmt.Sprintf("%+v", *got); s != want {
			t.Errorf("read:\n%s\nwant\n%s", s, want)
		}
		if dup, err := tb.Create(ctx, newItem("p1", id, base.Add(time.Hour))); err != nil || dup == nil || dup.Subject != "order-9" {
			t.Errorf("a redelivery finds it: %+v %v", dup, err)
		}
		if found, err := tb.Scan(ctx, eventstore.ScanFilter{Provider: "p1", Status: eventstore.StatusStored}); err != nil || len(found) != 1 || found[0].EventID != id || found[0].Subject != "order-9" {
			t.Errorf("scan: %+v %v", found, err)
		}
		if err := tb.Quarantine(ctx, "p1", id, "why"); err != nil {
			t.Fatal(err)
		}
		if err := tb.Release(ctx, "p1", id); err != nil {
			t.Fatal(err)
		}
		if err := tb.MarkQueued(ctx, "p1", id, "m1", base, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err = tb.Get(ctx, "p1", id)
		if err != nil || got.Status != eventstore.StatusQueued || got.MessageID != "m1" || got.Subject != "order-9" || string(got.Data) != `{"a":1}` {
			t.Errorf("after its life: %+v %v", got, err)
		}
		if err := tb.Quarantine(ctx, "p1", id, "late"); kind(err) != "conflict/-" {
			t.Errorf("quarantine of the queued legacy event: %v", err)
		}
		if found, err := tb.Scan(ctx, eventstore.ScanFilter{Provider: "p1", Status: eventstore.StatusQueued}); err != nil || len(found) != 1 {
			t.Errorf("scan for queued: %+v %v", found, err)
		}
	})
}

// The quarantine index lists the provider's quarantined events and the
// released ones not yet queued, oldest first, without their data.
func TestConformanceQuarantined(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, false)
		for i, id := range []string{"c", "a", "b", "queued", "stored"} {
			if _, err := tb.Create(ctx, newItem("p1", id, base.Add(time.Duration(10-i)*time.Second))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tb.Create(ctx, newItem("p2", "other", base)); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b", "c", "queued"} {
			if err := tb.Quarantine(ctx, "p1", id, "r-"+id); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.Quarantine(ctx, "p2", "other", "r"); err != nil {
			t.Fatal(err)
		}
		if err := tb.Release(ctx, "p1", "b"); err != nil {
			t.Fatal(err)
		}
		if err := tb.Release(ctx, "p1", "queued"); err != nil {
			t.Fatal(err)
		}
		if err := tb.MarkQueued(ctx, "p1", "queued", "m", base, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		list, err := tb.Quarantined(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range list {
			got = append(got, fmt.Sprintf("%s:%s:%s:%d", it.EventID, it.Status, it.Reason, len(it.Data)))
		}
		if want := "[b:stored:r-b:0 a:quarantined:r-a:0 c:quarantined:r-c:0]"; fmt.Sprint(got) != want {
			t.Errorf("quarantined: %v, want %s", got, want)
		}
	})
}

// A sweep cursor is kept until the sweep finishes; an unreadable one is
// none (start over).
func TestConformanceSweepCursor(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, false)
		if c, err := tb.SweepCursor(ctx, "p1"); c != nil || err != nil {
			t.Fatalf("no sweep yet: %v %v", c, err)
		}
		c := &eventstore.ScanCursor{Segments: 2, Next: []eventstore.ScanPosition{{Done: true}, {PK: "p1#x", SK: "event"}}}
		if err := tb.SaveSweepCursor(ctx, "p1", c); err != nil {
			t.Fatal(err)
		}
		if got, err := tb.SweepCursor(ctx, "p1"); err != nil || fmt.Sprint(got) != fmt.Sprint(c) {
			t.Errorf("read back %v %v", got, err)
		}
		if got, _ := tb.SweepCursor(ctx, "p2"); got != nil {
			t.Errorf("another provider's cursor: %v", got)
		}
		rendered := render(tb.items(t), "updated_at", "expires_at")
		if want := `cursor=S:{"segments":2,"next":[{"done":true},{"pk":"p1#x","sk":"event"}]}; expires_at=N:<now>; pk=S:p1#sweep; sk=S:sweep; updated_at=S:<now>`; rendered != want {
			t.Errorf("cursor item:\n%s\nwant\n%s", rendered, want)
		}
		if err := tb.SaveSweepCursor(ctx, "p1", nil); err != nil {
			t.Fatal(err)
		}
		if got, err := tb.SweepCursor(ctx, "p1"); got != nil || err != nil {
			t.Errorf("a finished sweep: %v %v", got, err)
		}
	})
}

// Failures, as the pipeline tells them apart: DynamoDB answered (throttled:
// unavailable, with its code; a ValidationException: refused, for a new
// event's content only) or no answer came (unavailable, no code: the write
// may have been applied). A write applied whose answer was lost is there
// afterwards.
func TestConformanceFailures(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded", Fault: smithy.FaultServer}
	invalid := &smithy.GenericAPIError{Code: "ValidationException", Message: "One or more parameter values were invalid", Fault: smithy.FaultClient}
	reset := errors.New("read tcp: connection reset by peer")
	calls := []struct {
		name string
		call func(st store) error
	}{
		{"Create", func(st store) error { _, err := st.Create(t.Context(), newItem("p1", "new", base)); return err }},
		{"Get", func(st store) error { _, err := st.Get(t.Context(), "p1", "e1"); return err }},
		{"UseOnce", func(st store) error { return st.UseOnce(t.Context(), "p1", "sig", "mac", base) }},
		{"Create a state", func(st store) error { _, err := st.Create(t.Context(), stateItem("ent", "A", base)); return err }},
		{"MarkQueued", func(st store) error { return st.MarkQueued(t.Context(), "p1", "e1", "m", base, base) }},
		{"Release", func(st store) error { return st.Release(t.Context(), "p1", "q1") }},
		{"Quarantine", func(st store) error { return st.Quarantine(t.Context(), "p1", "e1", "r") }},
		{"MarkUnsent", func(st store) error { return st.MarkUnsent(t.Context(), "p1", "e1", base, false) }},
		{"ClearUnsent", func(st store) error { return st.ClearUnsent(t.Context(), "p1", "e1", base) }},
		{"Unsent", func(st store) error { _, err := st.Unsent(t.Context(), "p1", base.Add(time.Hour)); return err }},
		{"Scan", func(st store) error {
			_, err := st.Scan(t.Context(), eventstore.ScanFilter{Provider: "p1"})
			return err
		}},
		{"SweepCursor", func(st store) error { _, err := st.SweepCursor(t.Context(), "p1"); return err }},
		{"SaveSweepCursor", func(st store) error { return st.SaveSweepCursor(t.Context(), "p1", nil) }},
		{"Quarantined", func(st store) error { _, err := st.Quarantined(t.Context(), "p1"); return err }},
	}
	eachBackend(t, func(t *testing.T, b backend) {
		tb := b.open(t, false)
		ctx := t.Context()
		if _, err := tb.Create(ctx, newItem("p1", "e1", base)); err != nil {
			t.Fatal(err)
		}
		q := newItem("p1", "q1", base)
		if _, err := tb.Create(ctx, q); err != nil {
			t.Fatal(err)
		}
		every := func(err error) eventstore.Fault {
			return func(eventstore.Call) eventstore.Failure { return eventstore.Failure{Err: err} }
		}
		for _, c := range calls {
			for _, f := range []struct {
				name string
				err  error
				want string
			}{
				{"throttled", throttled, "unavailable/ThrottlingException"},
				{"no answer", reset, "unavailable/-"},
				{"invalid", invalid, map[bool]string{true: "refused/ValidationException", false: "unavailable/ValidationException"}[c.name == "Create"]},
			} {
				if got := kind(c.call(tb.with(every(f.err)))); got != f.want {
					t.Errorf("%s, %s: %s, want %s", c.name, f.name, got, f.want)
				}
			}
		}
		before := render(tb.items(t))
		if !strings.Contains(before, "pk=S:p1#e1") || strings.Contains(before, "p1#new") {
			t.Fatalf("a failed call changed the table:\n%s", before)
		}
		// Applied, answer lost: the caller sees no answer; the write is there.
		lost := tb.with(func(c eventstore.Call) eventstore.Failure {
			return eventstore.Failure{Err: reset, Applied: c.Op != "GetItem"}
		})
		if _, err := lost.Create(ctx, newItem("p1", "lost", base)); kind(err) != "unavailable/-" {
			t.Errorf("create, answer lost: %v", err)
		}
		if err := lost.MarkQueued(ctx, "p1", "e1", "m-lost", base, base.Add(time.Hour)); kind(err) != "unavailable/-" {
			t.Errorf("mark queued, answer lost: %v", err)
		}
		if err := lost.UseOnce(ctx, "p1", "sig-lost", "mac", base); kind(err) != "unavailable/-" {
			t.Errorf("use once, answer lost: %v", err)
		}
		if it, err := tb.Get(ctx, "p1", "lost"); err != nil || it.Status != eventstore.StatusStored {
			t.Errorf("the create whose answer was lost: %+v %v", it, err)
		}
		if it, err := tb.Get(ctx, "p1", "e1"); err != nil || it.Status != eventstore.StatusQueued || it.MessageID != "m-lost" {
			t.Errorf("the mark whose answer was lost: %+v %v", it, err)
		}
		if err := tb.UseOnce(ctx, "p1", "sig-lost", "other-mac", base); kind(err) != "replay/-" {
			t.Errorf("the credential bound by the write whose answer was lost: %v", err)
		}
		// A context that is done sends nothing.
		done, cancel := contextDone(t)
		defer cancel()
		if _, err := tb.Create(done, newItem("p1", "late", base)); kind(err) != "unavailable/-" {
			t.Errorf("create on a done context: %v", err)
		}
		if _, err := tb.Get(ctx, "p1", "late"); kind(err) != "not found/-" {
			t.Errorf("the create on a done context was applied: %v", err)
		}
	})
}

// contextDone is a context that has ended.
func contextDone(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx, cancel
}

// Concurrent writers of one key see exactly one winner, as DynamoDB orders
// the conditional writes of an item (on moto, through a proxy that lets one
// call in at a time: moto alone can let two win).
func TestConformanceConcurrentWriters(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		tb := b.open(t, true)
		const n = 20
		var mu sync.Mutex
		created, duplicates, bound, replays, fresh := 0, 0, 0, 0, 0
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				existing, err := tb.Create(ctx, newItem("p1", "race", base.Add(time.Duration(i)*time.Second)))
				errUse := tb.UseOnce(ctx, "p1", "sig", fmt.Sprint("mac-", i), base)
				dupState, errState := tb.Create(ctx, stateItem("ent", "A", base.Add(time.Duration(i)*time.Millisecond)))
				isNew := errState == nil && dupState == nil
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil || errState != nil:
					t.Errorf("%d: %v %v", i, err, errState)
				case existing == nil:
					created++
				default:
					duplicates++
				}
				switch kind(errUse) {
				case "ok":
					bound++
				case "replay/-":
					replays++
				default:
					t.Errorf("%d: use once: %v", i, errUse)
				}
				if isNew {
					fresh++
				}
			})
		}
		close(start)
		wg.Wait()
		if created != 1 || duplicates != n-1 || bound != 1 || replays != n-1 || fresh != 1 {
			t.Errorf("created %d, duplicates %d, bound %d, replays %d, new states %d; want 1, %d, 1, %d, 1", created, duplicates, bound, replays, fresh, n-1, n-1)
		}
	})
}
