package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"webhooks/shared/eventstore"
)

// ReprocessRequest is the payload an operator sends to the function directly
// (aws lambda invoke --payload '{"reprocess":{"eventId":"..."}}') to re-process
// a quarantined event after fixing its cause.
type ReprocessRequest struct {
	Reprocess *struct {
		EventID string `json:"eventId"`
	} `json:"reprocess"`
}

// ReprocessResult is the answer to a ReprocessRequest.
type ReprocessResult struct {
	EventID string `json:"eventId"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
}

// Reprocess re-runs the transform of a stored event that was not queued
// (quarantined, or stored when the queue failed) with the current secret, and
// queues it when it now succeeds.
func (h *Handler[C]) Reprocess(ctx context.Context, eventID string) (ReprocessResult, error) {
	it, err := h.store.Get(ctx, h.p.Name(), eventID)
	if err != nil {
		return ReprocessResult{EventID: eventID}, err
	}
	if it.Status == eventstore.StatusQueued {
		return ReprocessResult{EventID: eventID, Status: string(it.Status)}, ErrNoReprocess
	}
	if it.DataDropped {
		return ReprocessResult{EventID: eventID, Status: string(it.Status), Reason: it.Reason}, ErrDataNotKept
	}
	// The operator has just fixed the secret: read it now rather than from cache.
	// Not Refresh: its once-a-minute limit may have been used up by requests that
	// failed authentication (or by a previous reprocess), which would serve the
	// stale secret and leave the event quarantined.
	versions, err := h.secrets.Reload(ctx)
	if err != nil {
		return ReprocessResult{EventID: eventID, Status: string(it.Status)}, err
	}
	ev := &Event{Type: it.Type, Subject: it.Subject, Time: it.Time, Data: it.Data, Deprecated: it.Deprecated}
	data, err := h.enrich(ev, versions[0], versions)
	var res result
	var q *QuarantineError
	switch {
	case err != nil && !errors.As(err, &q):
		return ReprocessResult{EventID: eventID, Status: string(it.Status)}, err
	case q != nil:
		res = h.quarantine(ctx, it, q)
	default:
		msg := h.message(it, data)
		if it.Status == eventstore.StatusQuarantined && tooLarge(msg) == nil {
			if err := h.store.Release(ctx, h.p.Name(), eventID); err != nil {
				return ReprocessResult{EventID: eventID, Status: string(it.Status)}, err
			}
			it.Status = eventstore.StatusStored
		}
		res = h.enqueue(ctx, it, msg)
	}
	if res.status >= 300 {
		return ReprocessResult{EventID: eventID, Status: string(it.Status)}, res.err
	}
	h.opt.Metrics.Webhook(h.p.Name(), res.outcome, it.Type, 0)
	h.log.InfoContext(ctx, "reprocessed", slog.String("eventId", eventID), slog.String("eventType", it.Type), slog.String("status", string(it.Status)))
	return ReprocessResult{EventID: eventID, Status: string(it.Status), Reason: it.Reason}, nil
}

// CheckSecret reads the secret (filling the cache) and reports whether it is
// usable: secrets.ErrNotConfigured when it is missing or invalid.
func (h *Handler[C]) CheckSecret(ctx context.Context) error {
	_, err := h.secrets.Versions(ctx)
	return err
}

// Invoke implements lambda.Handler: an API Gateway HTTP API event is served as a
// webhook; a ReprocessRequest re-processes one stored event.
func (h *Handler[C]) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var rr ReprocessRequest
	if bytes.Contains(payload, []byte(`"reprocess"`)) && json.Unmarshal(payload, &rr) == nil && rr.Reprocess != nil {
		if rr.Reprocess.EventID == "" {
			return nil, errors.New("reprocess: eventId is required")
		}
		res, err := h.Reprocess(ctx, rr.Reprocess.EventID)
		if err != nil {
			return nil, fmt.Errorf("reprocess %s: %w", rr.Reprocess.EventID, err)
		}
		return json.Marshal(res)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("invoke: payload is neither an API Gateway HTTP API event nor a reprocess request: %w", err)
	}
	return json.Marshal(h.HandleHTTP(ctx, ev))
}

var _ lambda.Handler = (*Handler[struct{}])(nil)
