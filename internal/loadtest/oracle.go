package loadtest

// The soak's oracle: what must hold over the table and everything received
// from the queues once the load, the faults and the redrive are over.
//
// It identifies events by their content, never by the ids the functions hand
// back: most event ids are random (the first delivery of an entity's new
// state gets a new one), and a function that answered "duplicate" with the id
// of some other event would otherwise pass for having stored the webhook.
// Each webhook the soak sends carries a marker (devkit.Webhook.Marker) in the
// fields the receivers keep as sent; a stored item or a message belongs to the
// webhook whose marker its data carries.

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"webhooks/internal/devkit"
)

// DedupWindow is SQS's FIFO de-duplication interval: a message with the
// deduplication id of one accepted in the last 5 minutes is accepted but not
// delivered.
const DedupWindow = 5 * time.Minute

// StoredEvent is one event item of the table.
type StoredEvent struct {
	Provider, EventID string
	Status            string // stored, queued or quarantined
	Data              string // its data attribute (JSON text), where its webhook's marker is read
}

// Delivery is one message received from a provider's queue.
type Delivery struct {
	Provider  string
	EventID   string // the CloudEvent id
	MessageID string // SQS's; one message received twice is one delivery
	SentAt    time.Time
	Body      string // the message body (the CloudEvent), where its webhook's marker is read
}

// Ack is an event of a provider, named by its id (for Stranded).
type Ack struct{ Provider, EventID string }

// Answer is one 2xx answer to a delivery of a webhook: the event id the
// function named (X-Webhook-Event-Id) and its outcome (X-Webhook-Outcome).
type Answer struct{ EventID, Outcome string }

// SentWebhook is one distinct webhook a run sent, and what its senders were
// answered 2xx (nothing: the provider gave up on it).
type SentWebhook struct {
	Provider string
	Marker   string   // devkit.Webhook.Marker: found in its event's data and message
	Answers  []Answer // every 2xx answer, to any delivery or concurrent copy of it
	// Group names webhooks that compete for one single-use credential (OSL
	// Pay bodies sent concurrently with the same signed headers): at most one
	// webhook of a group may be answered 2xx or stored.
	Group string
}

// OracleInput is what the oracle judges.
type OracleInput struct {
	Events     []StoredEvent
	Deliveries []Delivery
	// Webhooks are every webhook the run sent: each stored event and each
	// message must carry the marker of exactly one of its provider's.
	Webhooks []SentWebhook
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
// event id, webhooks per provider and marker.
type OracleReport struct {
	Stored      int // event items not quarantined
	Queued      int // of those: status queued and their id received
	Quarantined int // event items quarantined (never to be queued)
	Acked       int // distinct ids answered 2xx
	Received    int // distinct ids received from the queues
	Messages    int // messages received
	// Extra counts the messages beyond one per stored event, and every
	// message of an id never stored or quarantined.
	Extra    int
	Webhooks int // webhooks sent
	// AckedWebhooks were answered 2xx at least once; the others' provider
	// gave up (or, in a single-use race, was refused).
	AckedWebhooks int
	// Delivered are the acknowledged webhooks, not quarantined, each stored
	// as exactly one event, queued, received under exactly that event's id
	// and named by every 2xx answer: what "nothing acknowledged is lost"
	// means, checked webhook by webhook.
	Delivered int
	// Lost: stored events that are not both marked queued and received, and
	// acknowledged webhooks that no stored event carries, one line each.
	Lost []string
	// Unexpected: received messages that no stored event explains (never
	// stored, or quarantined), or whose content is not their stored event's,
	// one line each.
	Unexpected []string
	// Unidentified: stored events and messages that carry no webhook's
	// marker, or several.
	Unidentified []string
	// Split: webhooks stored as more than one event, or received under more
	// than one event id, or under another id than their stored event's.
	Split []string
	// Misattributed: 2xx answers that named another event than the webhook's
	// own (a "duplicate" answered for a webhook that was never stored names
	// some other event, or none).
	Misattributed []string
	// SingleUse: groups of bodies sent with one single-use credential of
	// which more than one was answered 2xx or stored.
	SingleUse []string
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
	ErrUnidentified     = errors.New("stored events or messages no single webhook's marker identifies")
	ErrSplit            = errors.New("webhooks stored or received as more than one event")
	ErrMisattributed    = errors.New("2xx answers naming another event than the webhook's")
	ErrSingleUse        = errors.New("more than one body accepted with one single-use credential")
)

// only is the part of in about one provider.
func (in OracleInput) only(provider string) OracleInput {
	return OracleInput{
		Window: in.Window, RedriveAt: in.RedriveAt,
		Events:     ofProvider(in.Events, provider, func(e StoredEvent) string { return e.Provider }),
		Deliveries: ofProvider(in.Deliveries, provider, func(d Delivery) string { return d.Provider }),
		Webhooks:   ofProvider(in.Webhooks, provider, func(w SentWebhook) string { return w.Provider }),
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

// CheckDeliveries applies the oracle. Over the events and the messages:
//
//   - every stored event (an event item that is not quarantined) is queued:
//     its status is queued and its CloudEvent id was received;
//   - nothing is received that was not stored, or that is quarantined;
//   - no id is delivered twice within the de-duplication window; an id
//     delivered again outside it is counted and its cause given.
//
// And webhook by webhook, by content (the marker), whatever ids the function
// answered:
//
//   - every stored event and every message carries the marker of exactly one
//     webhook, and a message carries its stored event's marker;
//   - no webhook is stored as more than one event, or received under more than
//     one event id, or under another id than its stored event's;
//   - every webhook answered 2xx is stored as an event (quarantined, or queued
//     and received as above), and every 2xx answer to it names that event;
//   - of a group of bodies sent with one single-use credential, at most one is
//     answered 2xx and at most one is stored.
//
// A webhook its provider gave up on may be stored or not; stored, it is an
// event as any other (queued after the redrive).
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
	var distinct []Delivery // one per message
	for _, d := range in.Deliveries {
		if d.MessageID != "" {
			if seenMsg[d.Provider+"/"+d.MessageID] {
				continue // SQS handed the same message out again: one delivery
			}
			seenMsg[d.Provider+"/"+d.MessageID] = true
		}
		k := eventKey{d.Provider, d.EventID}
		received[k] = append(received[k], d)
		distinct = append(distinct, d)
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
	for _, w := range in.Webhooks {
		for _, a := range w.Answers {
			acked[eventKey{w.Provider, a.EventID}] = true
		}
	}
	r.Acked = len(acked)

	for _, k := range sortedKeys(received) {
		ds := received[k]
		e, stored := events[k]
		if stored && e.Status != "quarantined" {
			r.Extra += len(ds) - 1
		} else {
			r.Extra += len(ds)
		}
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

	webhookLost := r.checkWebhooks(in.Webhooks, events, distinct)
	for _, k := range sortedKeys(lost) {
		r.Lost = append(r.Lost, lost[k])
	}
	r.Lost = append(r.Lost, webhookLost...)

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

// checkWebhooks judges webhook by webhook, by content: it maps each stored
// event and each message (one per SQS message id) to the webhook whose marker
// it carries, and returns the acknowledged webhooks that no stored event
// carries (the rest it records in r).
func (r *OracleReport) checkWebhooks(hooks []SentWebhook, events map[eventKey]StoredEvent, messages []Delivery) (lost []string) {
	type groupKey struct{ provider, group string }
	var providers []string
	byProvider := map[string][]int{} // provider -> positions in hooks
	for i, w := range hooks {
		if _, ok := byProvider[w.Provider]; !ok {
			providers = append(providers, w.Provider)
		}
		byProvider[w.Provider] = append(byProvider[w.Provider], i)
	}
	for _, e := range events {
		if _, ok := byProvider[e.Provider]; !ok {
			providers = append(providers, e.Provider)
			byProvider[e.Provider] = nil
		}
	}
	for _, m := range messages {
		if _, ok := byProvider[m.Provider]; !ok {
			providers = append(providers, m.Provider)
			byProvider[m.Provider] = nil
		}
	}
	sort.Strings(providers)
	stored := make([][]eventKey, len(hooks))  // each webhook's stored events
	got := make([]map[string]int, len(hooks)) // each webhook's messages by event id
	markerOf := map[eventKey]int{}            // stored event -> its webhook
	for _, p := range providers {
		pos := byProvider[p]
		markers := make([]string, len(pos))
		for j, i := range pos {
			markers[j] = hooks[i].Marker
		}
		index, err := devkit.NewMarkers(markers)
		if err != nil {
			r.Unidentified = append(r.Unidentified, fmt.Sprintf("%s: the webhooks' markers cannot tell them apart: %v", p, err))
			continue
		}
		which := func(what, data string) (int, bool) {
			found := index.In([]byte(data))
			switch len(found) {
			case 1:
				return pos[found[0]], true
			case 0:
				r.Unidentified = append(r.Unidentified, fmt.Sprintf("%s carries no webhook's marker", what))
			default:
				names := make([]string, len(found))
				for j, f := range found {
					names[j] = markers[f]
				}
				r.Unidentified = append(r.Unidentified, fmt.Sprintf("%s carries the markers of %d webhooks (%s)", what, len(found), strings.Join(names, " ")))
			}
			return 0, false
		}
		for _, k := range sortedKeys(events) {
			if k.provider != p {
				continue
			}
			if i, ok := which(fmt.Sprintf("stored event %s", k), events[k].Data); ok {
				stored[i] = append(stored[i], k)
				markerOf[k] = i
			}
		}
		for _, m := range messages {
			if m.Provider != p {
				continue
			}
			k := eventKey{m.Provider, m.EventID}
			i, ok := which(fmt.Sprintf("message %s (event %s)", m.MessageID, k), m.Body)
			if !ok {
				continue
			}
			if got[i] == nil {
				got[i] = map[string]int{}
			}
			got[i][m.EventID]++
			if j, isStored := markerOf[k]; isStored && j != i {
				r.Unexpected = append(r.Unexpected, fmt.Sprintf("message %s (event %s) carries webhook %s's marker, its stored event webhook %s's: a message not made from its stored event", m.MessageID, k, hooks[i].Marker, hooks[j].Marker))
			}
		}
	}

	groups := map[groupKey][]int{} // single-use groups -> webhooks answered 2xx or stored
	var groupOrder []groupKey
	for i, w := range hooks {
		r.Webhooks++
		name := fmt.Sprintf("%s webhook %s", w.Provider, w.Marker)
		ids := sortedIDs(got[i])
		if len(stored[i]) > 1 {
			r.Split = append(r.Split, fmt.Sprintf("%s: stored as %d events (%s)", name, len(stored[i]), joinKeys(stored[i])))
		}
		if len(ids) > 1 {
			r.Split = append(r.Split, fmt.Sprintf("%s: received under %d event ids (%s)", name, len(ids), strings.Join(ids, " ")))
		}
		var own *StoredEvent
		if len(stored[i]) == 1 {
			e := events[stored[i][0]]
			own = &e
			if len(ids) == 1 && ids[0] != e.EventID {
				r.Split = append(r.Split, fmt.Sprintf("%s: stored as event %s, received as event %s", name, e.EventID, ids[0]))
			}
		}
		if w.Group != "" && (len(w.Answers) > 0 || len(stored[i]) > 0) {
			g := groupKey{w.Provider, w.Group}
			if _, ok := groups[g]; !ok {
				groupOrder = append(groupOrder, g)
			}
			groups[g] = append(groups[g], i)
		}
		if len(w.Answers) == 0 {
			continue // the provider gave up: stored or not, its event (if any) is judged above
		}
		r.AckedWebhooks++
		if len(stored[i]) == 0 {
			named := map[string]bool{}
			for _, a := range w.Answers {
				named[fmt.Sprintf("%q (%s)", a.EventID, a.Outcome)] = true
			}
			lost = append(lost, fmt.Sprintf("%s: answered 2xx %d time(s), naming %s, but no stored event carries its marker", name, len(w.Answers), strings.Join(sortedSet(named), ", ")))
			continue
		}
		if len(stored[i]) > 1 {
			continue // split: reported
		}
		wrong := 0
		for _, a := range w.Answers {
			if a.EventID != own.EventID {
				wrong++
				if wrong <= 3 {
					r.Misattributed = append(r.Misattributed, fmt.Sprintf("%s: answered 2xx (%s) naming event %q; its event is %s", name, a.Outcome, a.EventID, own.EventID))
				}
			}
		}
		if wrong > 3 {
			r.Misattributed = append(r.Misattributed, fmt.Sprintf("%s: and %d more such answers", name, wrong-3))
		}
		if wrong == 0 && own.Status == "queued" && len(ids) == 1 && ids[0] == own.EventID {
			r.Delivered++
		}
		// Anything else about its event (not queued, never received, received
		// though quarantined) is reported with the events.
	}
	for _, g := range groupOrder {
		if is := groups[g]; len(is) > 1 {
			names := make([]string, len(is))
			for j, i := range is {
				names[j] = fmt.Sprintf("%s (%d 2xx, %d stored)", hooks[i].Marker, len(hooks[i].Answers), len(stored[i]))
			}
			r.SingleUse = append(r.SingleUse, fmt.Sprintf("%s %s: %d bodies accepted or stored: %s", g.provider, g.group, len(is), strings.Join(names, ", ")))
		}
	}
	return lost
}

func joinKeys(ks []eventKey) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = k.id
	}
	return strings.Join(s, " ")
}

func sortedIDs(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
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
	for _, c := range []struct {
		err   error
		lines []string
	}{{ErrUnidentified, r.Unidentified}, {ErrSplit, r.Split}, {ErrMisattributed, r.Misattributed}, {ErrSingleUse, r.SingleUse}} {
		if len(c.lines) > 0 {
			errs = append(errs, fmt.Errorf("%w: %d: %s", c.err, len(c.lines), abbreviate(c.lines)))
		}
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
