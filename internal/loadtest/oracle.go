package loadtest

// The soak's oracle: what must hold over the table and everything received
// from the queues once the load, the faults and the redrive are over.

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// DedupWindow is SQS's FIFO de-duplication interval: a message with the
// deduplication id of one accepted in the last 5 minutes is accepted but not
// delivered.
const DedupWindow = 5 * time.Minute

// StoredEvent is one event item of the table.
type StoredEvent struct {
	Provider, EventID string
	Status            string // stored, queued or quarantined
}

// Delivery is one message received from a provider's queue.
type Delivery struct {
	Provider  string
	EventID   string // the CloudEvent id
	MessageID string // SQS's; one message received twice is one delivery
	SentAt    time.Time
}

// Ack is an event id answered 2xx to a sender.
type Ack struct{ Provider, EventID string }

// OracleInput is what the oracle judges.
type OracleInput struct {
	Events     []StoredEvent
	Deliveries []Delivery
	Acked      []Ack
	// Window is the de-duplication window; default DedupWindow.
	Window time.Duration
	// RedriveAt is when the redrive began (zero: none ran); a re-send after
	// it is attributed to the redrive.
	RedriveAt time.Time
	// Stranded are the events stored but not queued when the load ended,
	// before the redrive: the oracle tells which of them the redrive
	// delivered first and which were on the queue already.
	Stranded []Ack
}

// Duplicate is an event id delivered more than once.
type Duplicate struct {
	Provider, EventID string
	Deliveries        int           // messages received with this id
	Gap               time.Duration // shortest interval between two of them
	Cause             string        // why, for a duplicate outside the window
}

// OracleReport is the oracle's verdict. Events are counted per provider and
// event id.
type OracleReport struct {
	Stored      int // event items not quarantined
	Queued      int // of those: status queued and their id received
	Quarantined int // event items quarantined (never to be queued)
	Acked       int // distinct ids answered 2xx
	Received    int // distinct ids received from the queues
	Messages    int // messages received
	// Lost: stored (or acknowledged) events that are not both marked queued
	// and received, one line each.
	Lost []string
	// Unexpected: received messages that no stored event explains (never
	// stored, or quarantined), one line each.
	Unexpected []string
	// DuplicatesWithin are ids delivered twice within the window: SQS would
	// have dropped a true re-send, so the pipeline sent under another
	// deduplication id. Always a failure.
	DuplicatesWithin []Duplicate
	// DuplicatesOutside are ids delivered again after the window had passed,
	// each with its cause: the consumer's CloudEvent id de-duplication handles
	// them.
	DuplicatesOutside []Duplicate
	// RedriveFirst counts stranded events the redrive delivered first (their
	// provider gave up, or the function died, before a send succeeded).
	RedriveFirst int
	// RedriveAgain are stranded events that were on the queue already: sent,
	// but never marked queued (the function was killed between SendMessage
	// and UpdateItem, or every attempt to mark failed after a 2xx). The
	// redrive's send, within the window here, was dropped by SQS; a redrive
	// more than the window after the first send delivers it a second time.
	RedriveAgain []Duplicate
}

// Errors the oracle reports; Err wraps them.
var (
	ErrLost             = errors.New("stored or acknowledged events not queued")
	ErrUnexpected       = errors.New("messages no stored event explains")
	ErrDuplicatedWithin = errors.New("event ids delivered twice within the de-duplication window")
)

// only is the part of in about one provider.
func (in OracleInput) only(provider string) OracleInput {
	return OracleInput{
		Window: in.Window, RedriveAt: in.RedriveAt,
		Events:     ofProvider(in.Events, provider, func(e StoredEvent) string { return e.Provider }),
		Deliveries: ofProvider(in.Deliveries, provider, func(d Delivery) string { return d.Provider }),
		Acked:      ofProvider(in.Acked, provider, func(a Ack) string { return a.Provider }),
		Stranded:   ofProvider(in.Stranded, provider, func(a Ack) string { return a.Provider }),
	}
}

func ofProvider[T any](xs []T, provider string, of func(T) string) []T {
	var out []T
	for _, x := range xs {
		if of(x) == provider {
			out = append(out, x)
		}
	}
	return out
}

type eventKey struct{ provider, id string }

func (k eventKey) String() string { return k.provider + "/" + k.id }

// CheckDeliveries applies the oracle:
//
//   - every stored event (an event item that is not quarantined) is queued:
//     its status is queued and its CloudEvent id was received;
//   - every event acknowledged 2xx to a sender is stored, and so queued (or
//     quarantined, which is counted separately);
//   - nothing is received that was not stored, or that is quarantined;
//   - no id is delivered twice within the de-duplication window; an id
//     delivered again outside it is counted and its cause given.
func CheckDeliveries(in OracleInput) OracleReport {
	window := in.Window
	if window <= 0 {
		window = DedupWindow
	}
	var r OracleReport
	events := map[eventKey]StoredEvent{}
	for _, e := range in.Events {
		events[eventKey{e.Provider, e.EventID}] = e
	}
	received := map[eventKey][]Delivery{}
	seenMsg := map[string]bool{}
	for _, d := range in.Deliveries {
		if d.MessageID != "" {
			if seenMsg[d.Provider+"/"+d.MessageID] {
				continue // SQS handed the same message out again: one delivery
			}
			seenMsg[d.Provider+"/"+d.MessageID] = true
		}
		k := eventKey{d.Provider, d.EventID}
		received[k] = append(received[k], d)
		r.Messages++
	}
	r.Received = len(received)

	lost := map[eventKey]string{}
	for _, k := range sortedKeys(events) {
		e := events[k]
		if e.Status == "quarantined" {
			r.Quarantined++
			continue
		}
		r.Stored++
		switch {
		case e.Status != "queued" && len(received[k]) == 0:
			lost[k] = fmt.Sprintf("%s: status %s, never received", k, e.Status)
		case e.Status != "queued":
			lost[k] = fmt.Sprintf("%s: received but still status %s (not marked queued)", k, e.Status)
		case len(received[k]) == 0:
			lost[k] = fmt.Sprintf("%s: marked queued but never received", k)
		default:
			r.Queued++
		}
	}
	acked := map[eventKey]bool{}
	for _, a := range in.Acked {
		acked[eventKey{a.Provider, a.EventID}] = true
	}
	r.Acked = len(acked)
	for k := range acked {
		if _, ok := events[k]; !ok {
			lost[k] = fmt.Sprintf("%s: acknowledged 2xx but not stored", k)
		}
	}
	for _, k := range sortedKeys(lost) {
		r.Lost = append(r.Lost, lost[k])
	}

	for _, k := range sortedKeys(received) {
		ds := received[k]
		e, stored := events[k]
		switch {
		case !stored:
			r.Unexpected = append(r.Unexpected, fmt.Sprintf("%s: received %d time(s) but never stored", k, len(ds)))
		case e.Status == "quarantined":
			r.Unexpected = append(r.Unexpected, fmt.Sprintf("%s: received %d time(s) but quarantined", k, len(ds)))
		}
		if len(ds) < 2 {
			continue
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i].SentAt.Before(ds[j].SentAt) })
		gap := time.Duration(-1)
		var late Delivery
		for i := 1; i < len(ds); i++ {
			if g := ds[i].SentAt.Sub(ds[i-1].SentAt); gap < 0 || g < gap {
				gap, late = g, ds[i]
			}
		}
		d := Duplicate{Provider: k.provider, EventID: k.id, Deliveries: len(ds), Gap: gap}
		if gap < window {
			d.Cause = fmt.Sprintf("sent again %s after an earlier send, within SQS's %s de-duplication window: the re-send used another deduplication id", gap, window)
			r.DuplicatesWithin = append(r.DuplicatesWithin, d)
			continue
		}
		d.Cause = "an earlier send was never confirmed (stored, not marked queued: the function was killed or the mark failed after SendMessage), "
		if !in.RedriveAt.IsZero() && !late.SentAt.Before(in.RedriveAt) {
			d.Cause += "and the redrive sent it again after the de-duplication window had passed"
		} else {
			d.Cause += "and a provider's retry sent it again after the de-duplication window had passed"
		}
		r.DuplicatesOutside = append(r.DuplicatesOutside, d)
	}

	if !in.RedriveAt.IsZero() {
		stranded := map[eventKey]bool{}
		for _, a := range in.Stranded {
			stranded[eventKey{a.Provider, a.EventID}] = true
		}
		for _, k := range sortedKeys(stranded) {
			var before []Delivery
			for _, d := range received[k] {
				if d.SentAt.Before(in.RedriveAt) {
					before = append(before, d)
				}
			}
			switch {
			case len(before) > 0:
				r.RedriveAgain = append(r.RedriveAgain, Duplicate{Provider: k.provider, EventID: k.id, Deliveries: len(received[k]),
					Gap:   in.RedriveAt.Sub(before[0].SentAt),
					Cause: fmt.Sprintf("on the queue since before the redrive, never marked queued: the redrive's send came within the %s window and SQS dropped it; a later one delivers it again", window)})
			case len(received[k]) > 0:
				r.RedriveFirst++
			}
		}
	}
	return r
}

// Err is nil when the oracle holds; otherwise it names every failure.
func (r OracleReport) Err() error {
	var errs []error
	if len(r.Lost) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d: %s", ErrLost, len(r.Lost), abbreviate(r.Lost)))
	}
	if len(r.Unexpected) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d: %s", ErrUnexpected, len(r.Unexpected), abbreviate(r.Unexpected)))
	}
	if len(r.DuplicatesWithin) > 0 {
		lines := make([]string, len(r.DuplicatesWithin))
		for i, d := range r.DuplicatesWithin {
			lines[i] = fmt.Sprintf("%s/%s ×%d (%s)", d.Provider, d.EventID, d.Deliveries, d.Cause)
		}
		errs = append(errs, fmt.Errorf("%w: %d: %s", ErrDuplicatedWithin, len(lines), abbreviate(lines)))
	}
	return errors.Join(errs...)
}

// DuplicateMessages is how many messages beyond the first per id were received.
func (r OracleReport) DuplicateMessages() (within, outside int) {
	for _, d := range r.DuplicatesWithin {
		within += d.Deliveries - 1
	}
	for _, d := range r.DuplicatesOutside {
		outside += d.Deliveries - 1
	}
	return within, outside
}

func abbreviate(lines []string) string {
	const max = 10
	if len(lines) <= max {
		return strings.Join(lines, "; ")
	}
	return strings.Join(lines[:max], "; ") + fmt.Sprintf("; and %d more", len(lines)-max)
}

func sortedKeys[V any](m map[eventKey]V) []eventKey {
	out := make([]eventKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
