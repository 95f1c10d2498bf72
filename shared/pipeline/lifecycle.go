package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/smithy-go"

	"webhooks/shared/eventstore"
	"webhooks/shared/metrics"
	"webhooks/shared/queue"
	"webhooks/shared/secrets"
)

// An event's life, one stored item:
//
//	           store                 send, mark queued
//	  (new) ─────────────▶ stored ─────────────────────▶ queued
//	    │                    │ ▲
//	    │ store quarantined  │ │ release (cause fixed)
//	    │                    ▼ │
//	    └──────────────▶ quarantined
//
// Every path that moves an event — a webhook (new or redelivered), an
// operator's reprocess, and the redrive and replay that send stored events —
// asks transition what to do next and does only that, so the rules live in one
// place:
//
//   - a new event is stored once (conditional write): stored, or quarantined
//     when it can never be processed; a concurrent delivery that stored it
//     first makes this one a redelivery of that item;
//   - a stored event (not confirmed queued: the send or the mark failed) is
//     sent again; if it can never be processed it is quarantined instead;
//   - a quarantined event stays so while the cause remains (a webhook's
//     redelivery changes nothing; an operator's reprocess records the current
//     reason); once the cause is fixed it is released and sent; an event whose
//     data DynamoDB could not keep stays quarantined;
//   - a queued event is never sent again by these paths (a duplicate);
//   - a send that fails leaves an unsent marker (the failure path only), by
//     which the redrive finds the stored event when no delivery comes again.

// step is what transition decides.
type step int

const (
	stepStore      step = iota // write the new item (stored or quarantined)
	stepSend                   // send the stored event, then mark it queued
	stepQuarantine             // record why the stored event cannot be processed
	stepRelease                // the cause is fixed: release, then send
	stepStay                   // nothing to do: queued, or still quarantined
)

// trigger is who moves the event.
type trigger int

const (
	byWebhook  trigger = iota // a delivery of the webhook
	byOperator                // an operator's command (reprocess)
	byRedrive                 // a redrive of an event stored but not queued
)

// transition is the event's next step. isNew: no item is stored yet. q: this
// attempt found the event unprocessable (nil: it can be sent).
func transition(it *eventstore.Item, isNew bool, q *QuarantineError, by trigger) step {
	switch {
	case isNew:
		return stepStore
	case it.Status == eventstore.StatusQueued:
		return stepStay
	case it.DataDropped: // nothing to send: it stays as it is (quarantined)
		return stepStay
	case it.Status == eventstore.StatusQuarantined && by == byRedrive: // reprocess is its path
		return stepStay
	case it.Status == eventstore.StatusQuarantined && q != nil && by == byOperator:
		return stepQuarantine // keep it, with the reason found now
	case it.Status == eventstore.StatusQuarantined && q != nil:
		return stepStay
	case it.Status == eventstore.StatusQuarantined:
		return stepRelease
	case q != nil:
		return stepQuarantine
	default:
		return stepSend
	}
}

// advance moves the event as far as it can go. it is the new item (isNew) or
// the stored one; data is the message data (the enriched form); q is non-nil
// when the event cannot be processed. It answers as the webhook path answers.
func (h *Handler[C]) advance(ctx context.Context, it *eventstore.Item, isNew bool, data json.RawMessage, unprocessable *QuarantineError, by trigger) result {
	// The message is built from the item it is about: the stored one once
	// there is one (a redelivery's own receipt time is not the event's).
	var msg queue.Message
	var q *QuarantineError
	prepare := func() {
		q = unprocessable
		if q == nil {
			msg = h.message(it, data)
			q = tooLarge(msg)
		}
	}
	prepare()
	created := false // this call wrote the item: no earlier attempt left a marker
	for {
		switch transition(it, isNew, q, by) {
		case stepStore:
			existing, stored, res, ok := h.store1(ctx, it, q)
			if !ok {
				return res
			}
			if existing != nil {
				// Stored first by another delivery: this is a redelivery, and
				// what is sent is what was stored, never this delivery's body
				// (the same key may come with other values in other fields).
				it, isNew = existing, false
				data, unprocessable = nil, nil
				if it.Status != eventstore.StatusQueued && !it.DataDropped { // else nothing is sent: no need to prepare
					var res result
					if data, unprocessable, res = h.redeliveryData(ctx, it); res.status != 0 {
						return res
					}
				}
				prepare()
				continue
			}
			if stored != nil {
				return result{status: http.StatusOK, outcome: metrics.Quarantined, err: stored}
			}
			isNew, created = false, true
			if msg.ID != it.EventID { // a state's id is known once it is stored
				prepare()
			}
		case stepSend:
			return h.send(ctx, it, msg, !created)
		case stepQuarantine:
			return h.quarantine(ctx, it, q)
		case stepRelease:
			if err := h.store.Release(ctx, it.Provider, it.EventID); err != nil && !errors.Is(err, eventstore.ErrConflict) {
				return failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err)
			}
			it.Status = eventstore.StatusStored
		case stepStay:
			res := result{status: http.StatusOK, outcome: metrics.Duplicate}
			if q != nil && it.Status == eventstore.StatusQuarantined {
				res.err = q
			}
			return res
		}
	}
}

// storedData is the message data of a stored event: its stored data, enriched
// (Enricher) with the secret version prefer first. unprocessable is set when
// it cannot be processed now; err is any other failure.
func (h *Handler[C]) storedData(ctx context.Context, it *eventstore.Item, prefer string) (data json.RawMessage, unprocessable *QuarantineError, err error) {
	ev := &Event{Type: it.Type, Subject: it.Subject, Time: it.Time, Data: it.Data, Deprecated: it.Deprecated}
	if _, ok := any(h.p).(Enricher[C]); !ok {
		return it.Data, nil, nil
	}
	doc, q := parseStored(it.Data)
	if q != nil {
		return nil, q, nil
	}
	defer doc.Release()
	data, err = h.enrich(ctx, ev, doc.Root(), prefer)
	if err != nil && errors.As(err, &unprocessable) {
		return nil, unprocessable, nil
	}
	return data, nil, err
}

// redeliveryData is the message data of a stored event that a redelivery
// may send: its stored data, enriched. Secrets Manager failing is a 503 (the
// provider retries); stored data that cannot be prepared for any other reason
// can never be, and is a quarantine: never a 5xx for ever.
func (h *Handler[C]) redeliveryData(ctx context.Context, it *eventstore.Item) (json.RawMessage, *QuarantineError, result) {
	data, q, err := h.storedData(ctx, it, it.VerifiedBy)
	switch {
	case err == nil:
		return data, q, result{}
	case errors.Is(err, secrets.ErrUnavailable):
		return nil, nil, secretFailure(err)
	}
	return nil, &QuarantineError{Reason: "the stored event cannot be prepared for the queue", Err: err}, result{}
}

// store1 writes a new item once: quarantined (no TTL) when q is set or it is
// too large for DynamoDB, with its data dropped when DynamoDB cannot hold it.
// It returns the item already stored under the same id, if any, else the
// quarantine it was stored with (nil: stored to be sent).
func (h *Handler[C]) store1(ctx context.Context, it *eventstore.Item, q *QuarantineError) (*eventstore.Item, *QuarantineError, result, bool) {
	it.Status = eventstore.StatusStored
	size := it.Size()
	if q == nil && size > eventstore.MaxItemBytes {
		q = &QuarantineError{Reason: fmt.Sprintf("stored form is %d bytes, over DynamoDB's item limit of %d", size, eventstore.MaxItemBytes)}
	}
	if q != nil {
		quarantined(it, q.Reason, size <= eventstore.MaxItemBytes)
	}
	existing, err := h.store.Create(ctx, it)
	if errors.Is(err, eventstore.ErrRefused) {
		// DynamoDB refused the item for its content: keep what it takes.
		q = &QuarantineError{Reason: "DynamoDB refused the event: " + awsCode(err), Err: err}
		quarantined(it, q.Reason, false)
		existing, err = h.store.Create(ctx, it)
	}
	if err != nil {
		// No answer came back (a reset connection, a timeout): DynamoDB may have
		// applied the write, so leave the marker the redrive finds it by (if
		// nothing was written, the redrive finds no event and clears the
		// marker). An answer from DynamoDB (503, throttling) means it was not
		// written: no marker, and no time spent on one during an outage.
		if errors.Is(err, eventstore.ErrUnavailable) && !answered(err) && it.Status == eventstore.StatusStored && it.EventID != "" {
			h.markUnsent(ctx, it, true)
		}
		return nil, nil, failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err), false
	}
	return existing, q, result{}, true
}

// answered reports whether err carries an answer from the AWS API (an error
// code), as opposed to a failure to get one (the connection, a timeout).
func answered(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae)
}

// quarantined turns a new item into a quarantined one: the reason and no TTL.
// Without keepData (DynamoDB cannot hold it) data is null, and an operator
// sees the reason and the digest of what could not be kept.
func quarantined(it *eventstore.Item, reason string, keepData bool) {
	it.Status, it.Reason = eventstore.StatusQuarantined, reason
	if !keepData {
		it.Data, it.DataDropped = json.RawMessage("null"), true
	}
}

// tooLarge is the quarantine of a message SQS can never take.
func tooLarge(m queue.Message) *QuarantineError {
	if m.Size() <= queue.MaxMessageBytes {
		return nil
	}
	return &QuarantineError{Reason: fmt.Sprintf("message is %d bytes once enveloped, over SQS's maximum of %d", m.Size(), queue.MaxMessageBytes)}
}

// message builds the event's queue message.
func (h *Handler[C]) message(it *eventstore.Item, data json.RawMessage) queue.Message {
	id := it.EventID
	if id == "" { // a state not stored yet: sized with an id of the same length
		id = pendingID
	}
	return queue.NewMessage(h.p.Name(), queue.NewCloudEvent(h.p.Name(), id, it.Type, it.Subject, it.Time, data))
}

// pendingID stands for the id of a state not stored yet, in a message built
// to check its size before the store: every event id has its length.
const pendingID = "00000000000000000000000000000000"

// quarantine records that a stored event cannot be processed (200: retrying
// cannot help; an operator re-processes it after fixing the cause).
func (h *Handler[C]) quarantine(ctx context.Context, it *eventstore.Item, q *QuarantineError) result {
	if err := h.store.Quarantine(ctx, it.Provider, it.EventID, q.Reason); err != nil {
		if errors.Is(err, eventstore.ErrConflict) { // queued meanwhile by another delivery
			return result{status: http.StatusOK, outcome: metrics.Duplicate}
		}
		return failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err)
	}
	it.Status, it.Reason = eventstore.StatusQuarantined, q.Reason
	return result{status: http.StatusOK, outcome: metrics.Quarantined, err: q}
}

// send sends the stored event and marks it queued. A message SQS refuses for
// its content quarantines the event; any other failure is a 5xx, and leaves an
// unsent marker so that a redrive sends the event if the provider stops
// retrying. recovering: an earlier attempt may have left a marker, which is
// cleared once the event is queued (a first delivery never has one: its happy
// path makes no call for the markers).
func (h *Handler[C]) send(ctx context.Context, it *eventstore.Item, msg queue.Message, recovering bool) result {
	msgID, err := h.queue.Send(ctx, msg)
	if errors.Is(err, queue.ErrRefused) {
		return h.quarantine(ctx, it, &QuarantineError{Reason: "SQS refused the message: " + awsCode(err), Err: err})
	}
	if err != nil {
		h.markUnsent(ctx, it, false)
		return failure(http.StatusServiceUnavailable, CodeQueue, "event could not be queued; retry later", err)
	}
	err = h.store.MarkQueued(ctx, it.Provider, it.EventID, msgID, it.ReceivedAt, h.opt.Now().Add(h.opt.EventTTL))
	if err != nil && ctx.Err() != nil {
		// The request's time ran out right after the send: record it on a
		// context of its own rather than leave the event for the sweep.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markerTimeout)
		err = h.store.MarkQueued(mctx, it.Provider, it.EventID, msgID, it.ReceivedAt, h.opt.Now().Add(h.opt.EventTTL))
		cancel()
	}
	if err != nil {
		// The message is durably on the queue, so the webhook is acknowledged: a 5xx
		// here would make the provider redeliver it after SQS's 5-minute
		// de-duplication window and enqueue it twice. The item stays "stored".
		h.log.LogAttrs(ctx, slog.LevelError, "queued but not marked", slog.String("eventId", it.EventID), slog.String("error", err.Error()))
	} else if recovering {
		if err := h.store.ClearUnsent(ctx, it.Provider, it.EventID, it.ReceivedAt); err != nil {
			// A stale marker costs a redrive one read: it finds the event queued.
			h.log.LogAttrs(ctx, slog.LevelWarn, "unsent marker not cleared", slog.String("eventId", it.EventID), slog.String("error", err.Error()))
		}
	}
	it.Status = eventstore.StatusQueued
	return result{status: http.StatusOK, outcome: metrics.Accepted}
}

// markerTimeout bounds the marker write of a failed send. It runs on a context
// of its own: the send may have failed because the request's deadline passed.
const markerTimeout = 2 * time.Second

// markUnsent leaves the marker a redrive finds a stored, unsent event by.
// unconfirmed: the store got no answer, so the event may not exist.
func (h *Handler[C]) markUnsent(ctx context.Context, it *eventstore.Item, unconfirmed bool) {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markerTimeout)
	defer cancel()
	if err := h.store.MarkUnsent(mctx, it.Provider, it.EventID, it.ReceivedAt, unconfirmed); err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "stored, not queued and not marked: the redrive's sweep will find it",
			slog.String("eventId", it.EventID), slog.String("error", err.Error()))
	}
}
