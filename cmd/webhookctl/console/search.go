package console

// Search and an event's detail, read through shared/eventstore only: a
// filtered Scan (eventstore.ScanFilter: provider, status, receipt window) whose
// type and subject filters apply to what it returns, then a consistent Get of
// each event shown. A search is an operator action: it adds nothing to the
// path of a webhook (no index, no attribute, no write unit), and the reply
// says what it read.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"webhooks/shared/eventstore"
)

// Search bounds.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Event is one event as the list shows it: never its data.
type Event struct {
	ID         string     `json:"id"`
	Provider   string     `json:"provider"`
	Type       string     `json:"type"`
	Subject    string     `json:"subject"`
	Status     string     `json:"status"`
	ReceivedAt *time.Time `json:"receivedAt,omitempty"`
	QueuedAt   *time.Time `json:"queuedAt,omitempty"`
	UpdatedAt  *time.Time `json:"updatedAt,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}

// SearchReply is GET /api/events: the events newest first, at most Limit,
// and what the search read.
type SearchReply struct {
	Events []Event `json:"events"`
	// Matched is how many events matched; Truncated when more matched than
	// are listed (narrow the window or add filters).
	Matched   int  `json:"matched"`
	Limit     int  `json:"limit"`
	Truncated bool `json:"truncated"`
	// Cost: ItemsRead is every item the Scan read (its ScannedCount: the
	// whole table, whatever the filters) plus one per event read back.
	Cost Cost `json:"cost"`
}

// Query is a search.
type Query struct {
	Providers []string
	Subject   string
	Type      string
	Status    eventstore.Status
	From, To  time.Time
	Limit     int
}

// errBadQuery is a search or command the console refuses (400).
var errBadQuery = errors.New("bad request")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadQuery, fmt.Sprintf(format, args...))
}

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		// The page's datetime-local inputs send "2006-01-02T15:04" (UTC).
		if t2, err2 := time.Parse("2006-01-02T15:04", v); err2 == nil {
			return t2, nil
		}
		return time.Time{}, badf("%s %q is not an RFC 3339 time (such as %s)", name, v, time.Now().UTC().Truncate(time.Hour).Format(time.RFC3339))
	}
	return t, nil
}

// parseQuery reads GET /api/events's parameters.
func (s *Server) parseQuery(v url.Values) (Query, error) {
	q := Query{Subject: strings.TrimSpace(v.Get("subject")), Type: strings.TrimSpace(v.Get("type")), Limit: DefaultLimit}
	if p := v.Get("provider"); p != "" {
		if !slices.Contains(s.cfg.Providers, p) {
			return q, badf("unknown provider %q (one of %s)", p, strings.Join(s.cfg.Providers, ", "))
		}
		q.Providers = []string{p}
	} else {
		q.Providers = s.cfg.Providers
	}
	switch st := eventstore.Status(v.Get("status")); st {
	case "", eventstore.StatusStored, eventstore.StatusQueued, eventstore.StatusQuarantined:
		q.Status = st
	default:
		return q, badf("status %q is not stored, queued or quarantined", st)
	}
	var err error
	if q.From, err = parseTime("from", v.Get("from")); err != nil {
		return q, err
	}
	if q.To, err = parseTime("to", v.Get("to")); err != nil {
		return q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, badf("from must be before to")
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxLimit {
			return q, badf("limit must be 1 to %d", MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

// search runs q: one filtered Scan per provider, newest first, bounded, each
// event shown read back with a consistent Get (its status and times).
func (s *Server) search(ctx context.Context, q Query) (SearchReply, error) {
	api := &costAPI{API: s.cfg.DynamoDB}
	st := eventstore.New(api, s.cfg.Table)
	type hit struct {
		provider string
		eventstore.Found
	}
	var hits []hit
	for _, p := range q.Providers {
		found, err := st.Scan(ctx, eventstore.ScanFilter{Provider: p, Status: q.Status, From: q.From, To: q.To})
		if err != nil {
			return SearchReply{}, fmt.Errorf("search %s: %w", p, err)
		}
		for _, f := range found {
			if q.Type != "" && f.Type != q.Type {
				continue
			}
			if q.Subject != "" && f.Subject != q.Subject {
				continue
			}
			hits = append(hits, hit{p, f})
		}
	}
	// Newest first; ties by provider and id, so a page reads the same twice.
	slices.SortFunc(hits, func(a, b hit) int {
		if c := b.ReceivedAt.Compare(a.ReceivedAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.provider, b.provider); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	reply := SearchReply{Events: []Event{}, Matched: len(hits), Limit: q.Limit, Truncated: len(hits) > q.Limit}
	if reply.Truncated {
		hits = hits[:q.Limit]
	}
	for _, h := range hits {
		it, err := st.Get(ctx, h.provider, h.EventID)
		if errors.Is(err, eventstore.ErrNotFound) {
			continue // expired since the Scan read it
		}
		if err != nil {
			return SearchReply{}, err
		}
		reply.Events = append(reply.Events, eventOf(it))
	}
	reply.Cost = api.Cost()
	return reply, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func eventOf(it *eventstore.Item) Event {
	return Event{
		ID: it.EventID, Provider: it.Provider, Type: it.Type, Subject: it.Subject, Status: string(it.Status),
		ReceivedAt: timePtr(it.ReceivedAt), QueuedAt: timePtr(it.QueuedAt), UpdatedAt: timePtr(it.UpdatedAt),
		Reason: it.Reason,
	}
}

// Step is one entry of an event's timeline.
type Step struct {
	What   string     `json:"what"` // received, stored, quarantined, released, queued, replayed
	At     *time.Time `json:"at,omitempty"`
	Detail string     `json:"detail,omitempty"`
}

// Detail is GET /api/events/{provider}/{id}.
type Detail struct {
	Event
	MessageID     string     `json:"messageId,omitempty"`
	SecretVersion string     `json:"secretVersion,omitempty"` // the id of the secret version that verified it
	ExpiresAt     *time.Time `json:"expiresAt,omitempty"`
	Expiry        string     `json:"expiry"` // in words: when, or why never
	Deprecated    bool       `json:"deprecated,omitempty"`
	DataDropped   bool       `json:"dataDropped,omitempty"`
	Timeline      []Step     `json:"timeline"`
	// Data is the event's data as stored: redacted, encrypted goods only as
	// ciphertext (never decrypted here).
	Data json.RawMessage `json:"data"`
	Cost Cost            `json:"cost"`
}

// detail reads one event.
func (s *Server) detail(ctx context.Context, provider, id string) (*Detail, error) {
	api := &costAPI{API: s.cfg.DynamoDB}
	it, err := eventstore.New(api, s.cfg.Table).Get(ctx, provider, id)
	if err != nil {
		return nil, err
	}
	d := &Detail{
		Event: eventOf(it), MessageID: it.MessageID, SecretVersion: it.VerifiedBy, ExpiresAt: timePtr(it.ExpiresAt),
		Deprecated: it.Deprecated, DataDropped: it.DataDropped, Timeline: s.timeline(it), Data: storedData(it.Data),
	}
	switch {
	case !it.ExpiresAt.IsZero():
		d.Expiry = it.ExpiresAt.UTC().Format(time.RFC3339) + " (DynamoDB deletes it within days after)"
	case it.Status == eventstore.StatusQuarantined:
		d.Expiry = "never while quarantined"
	default:
		d.Expiry = "never until queued"
	}
	d.Cost = api.Cost()
	return d, nil
}

// timeline is what the item records of an event's life, and the replays this
// console ran that sent it again. The table keeps an event's latest state:
// an event quarantined, released and queued shows queued with the times it
// keeps (received, queued, last updated), not each step's.
func (s *Server) timeline(it *eventstore.Item) []Step {
	rcv := timePtr(it.ReceivedAt)
	steps := []Step{
		{What: "received", At: rcv, Detail: "verified by secret version " + orDash(it.VerifiedBy)},
		{What: "stored", At: rcv, Detail: "stored once (a redelivery is answered with this event's id)"},
	}
	switch it.Status {
	case eventstore.StatusQuarantined:
		steps = append(steps, Step{What: "quarantined", At: timePtr(it.UpdatedAt), Detail: orDash(it.Reason)})
	case eventstore.StatusStored:
		if it.Reason != "" {
			steps = append(steps,
				Step{What: "quarantined", Detail: it.Reason},
				Step{What: "released", At: timePtr(it.UpdatedAt), Detail: "released for re-processing, not yet confirmed on the queue"})
		} else {
			steps = append(steps, Step{What: "not queued yet", Detail: "stored, not confirmed on the queue: the scheduled redrive sends it"})
		}
	case eventstore.StatusQueued:
		steps = append(steps, Step{What: "queued", At: timePtr(it.QueuedAt), Detail: "message " + orDash(it.MessageID)})
	}
	if it.Status == eventstore.StatusQueued {
		for _, r := range s.replays.matching(it) {
			at := r.At
			steps = append(steps, Step{What: "replayed", At: &at, Detail: "replay " + r.ReplayID + " (run from this console)"})
		}
	}
	return steps
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// storedData is the stored data for the page: JSON as stored, with any member
// named virtualCollections removed wherever it is (the store never holds
// decrypted goods; this keeps the page from showing them even if a
// future layout did).
func storedData(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		b, _ := json.Marshal(string(raw))
		return b
	}
	b, err := json.Marshal(dropGoods(v))
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

func dropGoods(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if k == "virtualCollections" {
				delete(t, k)
				continue
			}
			t[k] = dropGoods(e)
		}
	case []any:
		for i, e := range t {
			t[i] = dropGoods(e)
		}
	}
	return v
}
