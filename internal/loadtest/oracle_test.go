package loadtest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// healthy is a run where everything holds: three tiki events and one OSL Pay
// event queued and received once, one quarantined Alchemy Pay event.
func healthy() OracleInput {
	return OracleInput{
		Events: []StoredEvent{
			{"tiki", "a", "queued"}, {"tiki", "b", "queued"}, {"tiki", "c", "queued"},
			{"oslpay", "a", "queued"}, {"alchemypay", "q", "quarantined"},
		},
		Deliveries: []Delivery{
			{"tiki", "a", "m1", t0}, {"tiki", "b", "m2", t0.Add(time.Second)}, {"tiki", "c", "m3", t0.Add(2 * time.Second)},
			{"oslpay", "a", "m4", t0},
		},
		Acked: []Ack{{"tiki", "a"}, {"tiki", "b"}, {"oslpay", "a"}, {"alchemypay", "q"}},
	}
}

func TestOracleHolds(t *testing.T) {
	r := CheckDeliveries(healthy())
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if r.Stored != 4 || r.Queued != 4 || r.Quarantined != 1 || r.Acked != 4 || r.Received != 4 || r.Messages != 4 {
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
			in.Events = append(in.Events, StoredEvent{"tiki", "d", "stored"})
		}, ErrLost, "tiki/d: status stored, never received"},
		{"sent, not marked queued", func(in *OracleInput) {
			in.Events = append(in.Events, StoredEvent{"tiki", "d", "stored"})
			in.Deliveries = append(in.Deliveries, Delivery{"tiki", "d", "m9", t0})
		}, ErrLost, "tiki/d: received but still status stored"},
		{"marked queued, message missing", func(in *OracleInput) {
			in.Deliveries = in.Deliveries[1:]
		}, ErrLost, "tiki/a: marked queued but never received"},
		{"acknowledged, never stored", func(in *OracleInput) {
			in.Acked = append(in.Acked, Ack{"apigift", "x"})
		}, ErrLost, "apigift/x: acknowledged 2xx but not stored"},
		{"acknowledged, received on another provider's queue only", func(in *OracleInput) {
			in.Acked = append(in.Acked, Ack{"apigift", "a"})
		}, ErrLost, "apigift/a: acknowledged 2xx but not stored"},
		{"double delivery within the window", func(in *OracleInput) {
			in.Deliveries = append(in.Deliveries, Delivery{"tiki", "b", "m9", t0.Add(4 * time.Minute)})
		}, ErrDuplicatedWithin, "tiki/b ×2"},
		{"third delivery within the window of the second", func(in *OracleInput) {
			in.Deliveries = append(in.Deliveries, Delivery{"tiki", "b", "m9", t0.Add(6 * time.Minute)}, Delivery{"tiki", "b", "m10", t0.Add(7 * time.Minute)})
		}, ErrDuplicatedWithin, "tiki/b ×3"},
		{"delivered, never stored", func(in *OracleInput) {
			in.Deliveries = append(in.Deliveries, Delivery{"tiki", "z", "m9", t0})
		}, ErrUnexpected, "tiki/z: received 1 time(s) but never stored"},
		{"quarantined, yet delivered", func(in *OracleInput) {
			in.Deliveries = append(in.Deliveries, Delivery{"alchemypay", "q", "m9", t0})
		}, ErrUnexpected, "alchemypay/q: received 1 time(s) but quarantined"},
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

func TestOracleDuplicatesOutsideTheWindowAreCountedAndExplained(t *testing.T) {
	in := healthy()
	in.RedriveAt = t0.Add(20 * time.Minute)
	in.Deliveries = append(in.Deliveries,
		Delivery{"tiki", "a", "m7", t0.Add(6 * time.Minute)},  // a provider's retry, 6 min later
		Delivery{"tiki", "b", "m8", t0.Add(21 * time.Minute)}, // the redrive
		Delivery{"tiki", "c", "m3", t0.Add(2 * time.Second)},  // the same message handed out again by SQS: no duplicate
	)
	r := CheckDeliveries(in)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(r.DuplicatesOutside) != 2 || len(r.DuplicatesWithin) != 0 || r.Messages != 6 {
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
	in.Events = append(in.Events, StoredEvent{"tiki", "d", "stored"})
	in.Acked = append(in.Acked, Ack{"tiki", "d"}, Ack{"tiki", "d"})
	r := CheckDeliveries(in)
	if len(r.Lost) != 1 || r.Stored != 5 || r.Queued != 4 || r.Acked != 5 {
		t.Errorf("%+v", r)
	}
}

func TestOracleTellsWhatTheRedriveDelivered(t *testing.T) {
	in := healthy()
	in.RedriveAt = t0.Add(time.Minute)
	in.Events = append(in.Events, StoredEvent{"tiki", "gave-up", "queued"})
	in.Deliveries = append(in.Deliveries, Delivery{"tiki", "gave-up", "m8", t0.Add(61 * time.Second)})
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
