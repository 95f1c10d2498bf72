package loadtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// stored is an event item whose data carries a webhook's marker.
func stored(provider, id, status, marker string) StoredEvent {
	return StoredEvent{provider, id, status, `{"order_code":"o` + marker + `","state":"x"}`}
}

// msg is a message of an event whose data carries a webhook's marker.
func msg(provider, id, messageID string, at time.Time, marker string) Delivery {
	return Delivery{provider, id, messageID, at, `{"specversion":"1.0","id":"` + id + `","subject":"o` + marker + `","data":{"order_code":"o` + marker + `"}}`}
}

// hook is a webhook answered 2xx once per id given (none: its provider gave up).
func hook(provider, marker string, ids ...string) SentWebhook {
	w := SentWebhook{Provider: provider, Marker: marker}
	for _, id := range ids {
		w.Answers = append(w.Answers, Answer{EventID: id, Outcome: "accepted"})
	}
	return w
}

// healthy is a run where everything holds: three tiki webhooks queued and
// received once (the provider gave up on the third, which the redrive sent),
// one OSL Pay webhook, one quarantined Alchemy Pay webhook.
func healthy() OracleInput {
	return OracleInput{
		Events: []StoredEvent{
			stored("tiki", "a", "queued", "-s1"), stored("tiki", "b", "queued", "-s2"), stored("tiki", "c", "queued", "-s3"),
			stored("oslpay", "a", "queued", "-s1"), stored("alchemypay", "q", "quarantined", "-s1"),
		},
		Deliveries: []Delivery{
			msg("tiki", "a", "m1", t0, "-s1"), msg("tiki", "b", "m2", t0.Add(time.Second), "-s2"), msg("tiki", "c", "m3", t0.Add(2*time.Second), "-s3"),
			msg("oslpay", "a", "m4", t0, "-s1"),
		},
		Webhooks: []SentWebhook{
			hook("tiki", "-s1", "a", "a"), hook("tiki", "-s2", "b"), hook("tiki", "-s3"),
			hook("oslpay", "-s1", "a"), {Provider: "alchemypay", Marker: "-s1", Answers: []Answer{{"q", "quarantined"}}},
		},
	}
}

func TestOracleHolds(t *testing.T) {
	r := CheckDeliveries(healthy())
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if r.Stored != 4 || r.Queued != 4 || r.Quarantined != 1 || r.Acked != 4 || r.Received != 4 || r.Messages != 4 ||
		r.Webhooks != 5 || r.AckedWebhooks != 4 || r.Delivered != 3 || r.Extra != 0 {
		t.Errorf("%+v", r)
	}
}

func TestOracleFails(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*OracleInput)
		want   error
		detail string
	}{
		{"stored, never sent", func(in *OracleInput) {
			in.Webhooks = append(in.Webhooks, hook("tiki", "-s4"))
			in.Events = append(in.Events, stored("tiki", "d", "stored", "-s4"))
		}, ErrLost, "tiki/d: status stored, never received"},
		{"sent, not marked queued", func(in *OracleInput) {
			in.Webhooks = append(in.Webhooks, hook("tiki", "-s4"))
			in.Events = append(in.Events, stored("tiki", "d", "stored", "-s4"))
			in.Deliveries = append(in.Deliveries, msg("tiki", "d", "m9", t0, "-s4"))
		}, ErrLost, "tiki/d: received but still status stored"},
		{"marked queued, message missing", func(in *OracleInput) {
			in.Deliveries = in.Deliveries[1:]
		}, ErrLost, "tiki/a: marked queued but never received"},
		{"acknowledged, never stored", func(in *OracleInput) {
			in.Webhooks = append(in.Webhooks, hook("apigift", "-s9", "x"))
		}, ErrLost, `apigift webhook -s9: answered 2xx 1 time(s), naming "x" (accepted), but no stored event carries its marker`},
		{"acknowledged, stored on another provider's table only", func(in *OracleInput) {
			in.Webhooks = append(in.Webhooks, hook("apigift", "-s1", "a"))
		}, ErrLost, "apigift webhook -s1: answered 2xx"},
		{"double delivery within the window", func(in *OracleInput) {
			in.Deliveries = append(in.Deliveries, msg("tiki", "b", "m9", t0.Add(4*time.Minute), "-s2"))
		}, ErrDuplicatedWithin, "tiki/b ×2"},
		{"third delivery within the window of the second", func(in *OracleInput) {
			in.Deliveries = append(in.Deliveries, msg("tiki", "b", "m9", t0.Add(6*time.Minute), "-s2"), msg("tiki", "b", "m10", t0.Add(7*time.Minute), "-s2"))
		}, ErrDuplicatedWithin, "tiki/b ×3"},
		{"delivered, never stored", func(in *OracleInput) {
			in.Webhooks = append(in.Webhooks, hook("tiki", "-s5"))
			in.Deliveries = append(in.Deliveries, msg("tiki", "z", "m9", t0, "-s5"))
		}, ErrUnexpected, "tiki/z: received 1 time(s) but never stored"},
		{"quarantined, yet delivered", func(in *OracleInput) {
			in.Deliveries = append(in.Deliveries, msg("alchemypay", "q", "m9", t0, "-s1"))
		}, ErrUnexpected, "alchemypay/q: received 1 time(s) but quarantined"},

		// By content.
		{"a 2xx names another event", func(in *OracleInput) {
			in.Webhooks[1].Answers = append(in.Webhooks[1].Answers, Answer{"a", "duplicate"})
		}, ErrMisattributed, `tiki webhook -s2: answered 2xx (duplicate) naming event "a"; its event is b`},
		{"a 2xx names no event", func(in *OracleInput) {
			in.Webhooks[1].Answers = append(in.Webhooks[1].Answers, Answer{"", "accepted"})
		}, ErrMisattributed, `tiki webhook -s2: answered 2xx (accepted) naming event ""`},
		{"one webhook stored as two events", func(in *OracleInput) {
			in.Events = append(in.Events, stored("tiki", "a2", "queued", "-s1"))
			in.Deliveries = append(in.Deliveries, msg("tiki", "a2", "m9", t0, "-s1"))
		}, ErrSplit, "tiki webhook -s1: stored as 2 events (a a2)"},
		{"one webhook received under two ids", func(in *OracleInput) {
			in.Events = append(in.Events, stored("tiki", "a2", "queued", "-s1"))
			in.Deliveries = append(in.Deliveries, msg("tiki", "a2", "m9", t0, "-s1"))
		}, ErrSplit, "tiki webhook -s1: received under 2 event ids (a a2)"},
		{"a message is not its stored event", func(in *OracleInput) {
			in.Deliveries[0] = msg("tiki", "a", "m1", t0, "-s2")
		}, ErrUnexpected, "message m1 (event tiki/a) carries webhook -s2's marker, its stored event webhook -s1's"},
		{"a stored event no webhook sent", func(in *OracleInput) {
			in.Events = append(in.Events, StoredEvent{"tiki", "f", "queued", `{"order_code":"forged"}`})
			in.Deliveries = append(in.Deliveries, Delivery{"tiki", "f", "m9", t0, `{"id":"f","data":{"order_code":"forged"}}`})
		}, ErrUnidentified, "stored event tiki/f carries no webhook's marker"},
		{"a message of two webhooks", func(in *OracleInput) {
			in.Deliveries[0].Body = `{"id":"a","data":{"order_code":"o-s1","other":"o-s2"}}`
		}, ErrUnidentified, "message m1 (event tiki/a) carries the markers of 2 webhooks (-s1 -s2)"},
		{"two bodies accepted with one single-use credential", func(in *OracleInput) {
			in.Webhooks = append(in.Webhooks, hook("oslpay", "-r0", "r0"), hook("oslpay", "-r1", "r1"), hook("oslpay", "-r2"))
			for i := len(in.Webhooks) - 3; i < len(in.Webhooks); i++ {
				in.Webhooks[i].Group = "race 0"
			}
			in.Events = append(in.Events, stored("oslpay", "r0", "queued", "-r0"), stored("oslpay", "r1", "queued", "-r1"))
			in.Deliveries = append(in.Deliveries, msg("oslpay", "r0", "m9", t0, "-r0"), msg("oslpay", "r1", "m10", t0, "-r1"))
		}, ErrSingleUse, "oslpay race 0: 2 bodies accepted or stored: -r0 (1 2xx, 1 stored), -r1 (1 2xx, 1 stored)"},
		{"markers that cannot be told apart", func(in *OracleInput) {
			in.Webhooks = append(in.Webhooks, hook("tiki", "1-s1"))
		}, ErrUnidentified, "tiki: the webhooks' markers cannot tell them apart"},
	}
	for _, c := range cases {
		in := healthy()
		c.modify(&in)
		err := CheckDeliveries(in).Err()
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.detail) {
			t.Errorf("%s: %v; want %v naming %q", c.name, err, c.want, c.detail)
		}
	}
}

// "-s1" is not "-s17": each event goes to its own webhook.
func TestOracleTellsMarkersThatShareAPrefixApart(t *testing.T) {
	in := OracleInput{Window: time.Minute}
	for i := 1; i <= 20; i++ {
		m, id := fmt.Sprintf("-s%d", i), fmt.Sprintf("e%d", i)
		in.Webhooks = append(in.Webhooks, hook("tiki", m, id))
		in.Events = append(in.Events, stored("tiki", id, "queued", m))
		in.Deliveries = append(in.Deliveries, msg("tiki", id, "m"+id, t0.Add(time.Duration(i)*time.Second), m))
	}
	if r := CheckDeliveries(in); r.Err() != nil || r.Delivered != 20 {
		t.Fatalf("%d delivered: %v", r.Delivered, r.Err())
	}
	// Swap the answers of -s1 and -s17 (equal but for the last digit): caught.
	in.Webhooks[0].Answers, in.Webhooks[16].Answers = in.Webhooks[16].Answers, in.Webhooks[0].Answers
	if err := CheckDeliveries(in).Err(); !errors.Is(err, ErrMisattributed) || !strings.Contains(err.Error(), `tiki webhook -s1: answered 2xx (accepted) naming event "e17"; its event is e1`) {
		t.Errorf("swapped answers: %v", err)
	}
}

// fakeFunction plays the pipeline over webhooks in memory, as the soak
// observes it: a new webhook is stored and queued under a random id and
// answered 200 accepted with it; a redelivery is answered 200 duplicate with
// the same id. When broken, one new webhook in ten is answered 200
// "duplicate" naming the previous webhook's event, and nothing is stored or
// sent: its data is lost, every answer names a stored, queued event.
type fakeFunction struct {
	broken bool
	ids    map[string]string // marker -> event id
	last   string
	in     OracleInput
	n      int
}

func (f *fakeFunction) deliver(w *SentWebhook) {
	if id, ok := f.ids[w.Marker]; ok {
		w.Answers = append(w.Answers, Answer{id, "duplicate"})
		return
	}
	f.n++
	if f.broken && f.n%10 == 0 && f.last != "" {
		w.Answers = append(w.Answers, Answer{f.last, "duplicate"})
		return
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	f.ids[w.Marker], f.last = id, id
	f.in.Events = append(f.in.Events, stored(w.Provider, id, "queued", w.Marker))
	f.in.Deliveries = append(f.in.Deliveries, msg(w.Provider, id, "m-"+id, t0.Add(time.Duration(f.n)*time.Second), w.Marker))
	w.Answers = append(w.Answers, Answer{id, "accepted"})
}

// run sends n webhooks through f, every fifth delivered twice, and returns
// what the oracle is given.
func (f *fakeFunction) run(n int) OracleInput {
	f.ids = map[string]string{}
	for i := 0; i < n; i++ {
		w := SentWebhook{Provider: "tiki", Marker: fmt.Sprintf("-s%d", i)}
		f.deliver(&w)
		if i%5 == 0 {
			f.deliver(&w)
		}
		f.in.Webhooks = append(f.in.Webhooks, w)
	}
	return f.in
}

// A function that answers "duplicate" for one new webhook in ten, storing
// nothing, passes every rule that trusts the ids it answers (each names a
// stored, queued, received event; every webhook is acknowledged; messages
// equal distinct acknowledged ids: what the soak checked before), and fails
// the oracle, which finds the webhooks by content.
func TestOracleCatchesADuplicateAnsweredForANewWebhook(t *testing.T) {
	good := (&fakeFunction{}).run(100)
	if r := CheckDeliveries(good); r.Err() != nil || r.Delivered != 100 {
		t.Fatalf("the honest function: %d delivered: %v", r.Delivered, r.Err())
	}

	in := (&fakeFunction{broken: true}).run(100)
	// The checks that trust the function's ids hold.
	storedIDs, queuedIDs := map[string]bool{}, map[string]bool{}
	for _, e := range in.Events {
		storedIDs[e.EventID] = true
	}
	for _, d := range in.Deliveries {
		queuedIDs[d.EventID] = true
	}
	ackedIDs := map[string]bool{}
	for _, w := range in.Webhooks {
		if len(w.Answers) == 0 {
			t.Fatalf("%s never acknowledged", w.Marker)
		}
		for _, a := range w.Answers {
			if !storedIDs[a.EventID] || !queuedIDs[a.EventID] {
				t.Fatalf("%s: answered id %s not stored and queued", w.Marker, a.EventID)
			}
			ackedIDs[a.EventID] = true
		}
	}
	if len(in.Deliveries) != len(ackedIDs) || len(in.Webhooks) != 100 {
		t.Fatalf("%d messages, %d acknowledged ids, %d webhooks acknowledged", len(in.Deliveries), len(ackedIDs), len(in.Webhooks))
	}
	r := CheckDeliveries(in)
	if len(r.DuplicatesWithin) != 0 || len(r.Unexpected) != 0 {
		t.Fatalf("the id rules alone: %+v", r)
	}
	// The oracle does not.
	err := r.Err()
	if !errors.Is(err, ErrLost) || len(r.Lost) != 10 || !strings.Contains(r.Lost[0], "(duplicate), but no stored event carries its marker") {
		t.Fatalf("lost %d: %v", len(r.Lost), err)
	}
	if r.Delivered != 90 || r.AckedWebhooks != 100 {
		t.Errorf("%d delivered of %d acknowledged", r.Delivered, r.AckedWebhooks)
	}
}

func TestOracleDuplicatesOutsideTheWindowAreCountedAndExplained(t *testing.T) {
	in := healthy()
	in.RedriveAt = t0.Add(20 * time.Minute)
	in.Deliveries = append(in.Deliveries,
		msg("tiki", "a", "m7", t0.Add(6*time.Minute), "-s1"),  // a provider's retry, 6 min later
		msg("tiki", "b", "m8", t0.Add(21*time.Minute), "-s2"), // the redrive
		msg("tiki", "c", "m3", t0.Add(2*time.Second), "-s3"),  // the same message handed out again by SQS: no duplicate
	)
	r := CheckDeliveries(in)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(r.DuplicatesOutside) != 2 || len(r.DuplicatesWithin) != 0 || r.Messages != 6 || r.Extra != 2 {
		t.Fatalf("%+v", r)
	}
	a, b := r.DuplicatesOutside[0], r.DuplicatesOutside[1]
	if a.EventID != "a" || a.Gap != 6*time.Minute || !strings.Contains(a.Cause, "provider's retry") {
		t.Errorf("a: %+v", a)
	}
	if b.EventID != "b" || !strings.Contains(b.Cause, "redrive") {
		t.Errorf("b: %+v", b)
	}
	if within, outside := r.DuplicateMessages(); within != 0 || outside != 2 {
		t.Errorf("duplicate messages %d within, %d outside", within, outside)
	}
	// The same deliveries judged with a window longer than their gaps are a failure.
	in.Window = time.Hour
	if err := CheckDeliveries(in).Err(); !errors.Is(err, ErrDuplicatedWithin) {
		t.Errorf("window of an hour: %v", err)
	}
}

func TestOracleCountsALostEventOnce(t *testing.T) {
	in := healthy()
	in.Events = append(in.Events, stored("tiki", "d", "stored", "-s4"))
	in.Webhooks = append(in.Webhooks, hook("tiki", "-s4", "d", "d"))
	r := CheckDeliveries(in)
	if len(r.Lost) != 1 || r.Stored != 5 || r.Queued != 4 || r.Acked != 5 || r.Delivered != 3 {
		t.Errorf("%+v", r)
	}
}

func TestOracleTellsWhatTheRedriveDelivered(t *testing.T) {
	in := healthy()
	in.RedriveAt = t0.Add(time.Minute)
	in.Webhooks = append(in.Webhooks, hook("tiki", "-s4"))
	in.Events = append(in.Events, stored("tiki", "gave-up", "queued", "-s4"))
	in.Deliveries = append(in.Deliveries, msg("tiki", "gave-up", "m8", t0.Add(61*time.Second), "-s4"))
	// Stranded when the load ended: "a" was sent but never marked; "gave-up" was never sent.
	in.Stranded = []Ack{{"tiki", "a"}, {"tiki", "gave-up"}}
	r := CheckDeliveries(in)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if r.RedriveFirst != 1 || len(r.RedriveAgain) != 1 || r.RedriveAgain[0].EventID != "a" || r.RedriveAgain[0].Gap != time.Minute {
		t.Errorf("first %d, again %+v", r.RedriveFirst, r.RedriveAgain)
	}
	// Without a redrive there is nothing to tell (and the stranded events are lost).
	in.RedriveAt = time.Time{}
	if r := CheckDeliveries(in); r.RedriveFirst != 0 || len(r.RedriveAgain) != 0 {
		t.Errorf("no redrive: %+v", r)
	}
}
