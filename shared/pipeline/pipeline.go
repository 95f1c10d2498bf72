// Package pipeline is the provider-neutral request path every webhook receiver
// runs: adapt → authenticate → parse and classify → transform → store once →
// enqueue → mark queued → reply. A provider plugs in by implementing Provider;
// the pipeline owns de-duplication, failure semantics, logs and metrics.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/shared/apigw"
	"webhooks/shared/eventstore"
	"webhooks/shared/jsonx"
	"webhooks/shared/metrics"
	"webhooks/shared/queue"
	"webhooks/shared/secrets"
	"webhooks/shared/verify"
)

// Event is what a provider's Decode makes of an authenticated body.
type Event struct {
	// Type is the CloudEvents type, e.g. "tiki.order.status_changed".
	Type string
	// Subject is the entity id (message group); empty when the body has none.
	Subject string
	// Key identifies the event among all of the provider's events: two
	// deliveries of the same event must give the same Key, two different events
	// different ones. The event id is derived from it. Required.
	Key string
	// Time is when it happened, when the body says so; zero means receipt time.
	Time time.Time
	// Data is the storable form of the payload (JSON): what DynamoDB keeps. It
	// must hold no decrypted secret and no full card number.
	Data json.RawMessage
	// Deprecated marks an event type the provider no longer documents.
	Deprecated bool
	// Credential, when set, is a single-use credential (a signature that does not
	// cover the body): seen again with another body, the request is rejected.
	Credential string
	// CredentialTTL is how long the single-use record must be kept.
	CredentialTTL time.Duration
	// BodyDigest, when set, is stored (and used by the single-use check) instead
	// of the SHA-256 of the raw body. Providers whose raw body holds a full card
	// number set it to a digest of the redacted form: a plain hash of the raw
	// body, stored beside the redacted data, would let anyone who reads the
	// table recover the masked digits by trying the few candidates.
	BodyDigest string
}

// Validate reports whether a provider's Decode kept the contract the pipeline
// relies on: a type, a key, and data that is one JSON value (CloudEvents data
// may be any JSON; bytes that are not JSON would make the event unsendable and
// the provider retry it forever).
func (ev *Event) Validate() error {
	switch {
	case ev == nil:
		return errors.New("pipeline: provider decoded no event")
	case ev.Type == "":
		return errors.New("pipeline: decoded event has no type")
	case ev.Key == "":
		return errors.New("pipeline: decoded event has no key")
	case len(ev.Data) == 0 || !json.Valid(ev.Data):
		return errors.New("pipeline: decoded event data is not JSON")
	}
	return nil
}

// Provider is what one webhook provider supplies. C is its parsed secret.
type Provider[C any] interface {
	// Name is the provider's route and source name ("tiki").
	Name() string
	// ParseSecret parses and validates one version of the secret. An empty or
	// incomplete secret is an error; the error must not contain secret values.
	ParseSecret(raw []byte) (C, error)
	// Authenticate checks req against one secret version. Errors wrap the
	// sentinels of package verify (ErrSourceNotAllowed → 403, others → 401).
	Authenticate(req *apigw.Request, cfg C) error
	// Decode parses and classifies an authenticated, well-formed JSON body.
	// Input it cannot accept is a *Error (see Malformed).
	Decode(req *apigw.Request, cfg C) (*Event, error)
}

// Enricher is implemented by providers whose queued data differs from the
// stored data (APIGift decrypts a field). Enrich returns the message data, or a
// QuarantineError when the input can never be processed with cfg.
type Enricher[C any] interface {
	Enrich(ev *Event, cfg C) (json.RawMessage, error)
}

// Responder is implemented by providers whose reply bodies differ from the
// default {"success": true} / {"success": false, "error": {...}}.
type Responder interface {
	SuccessBody(now time.Time) []byte
	ErrorBody(status int, code, message string, now time.Time) []byte
}

// Options are the pipeline's settings.
type Options struct {
	EventTTL time.Duration // how long events (and de-duplication) last
	MaxBody  int           // request body limit in bytes; 0 means apigw.DefaultMaxBody
	Logger   *slog.Logger
	Metrics  *metrics.Recorder
	Now      func() time.Time
}

// MinEventTTL is the shortest allowed EventTTL: providers retry for up to 25 hours.
const MinEventTTL = 48 * time.Hour

// DefaultEventTTL is the default EventTTL (30 days).
const DefaultEventTTL = 720 * time.Hour

// Handler runs the pipeline for one provider.
type Handler[C any] struct {
	p       Provider[C]
	secrets *secrets.Cache[C]
	store   *eventstore.Store
	queue   *queue.Publisher
	opt     Options
	log     *slog.Logger
}

// New returns a Handler. It fails when the options are invalid.
func New[C any](p Provider[C], sc *secrets.Cache[C], store *eventstore.Store, q *queue.Publisher, opt Options) (*Handler[C], error) {
	if opt.EventTTL == 0 {
		opt.EventTTL = DefaultEventTTL
	}
	if opt.EventTTL < MinEventTTL {
		return nil, fmt.Errorf("pipeline: event TTL %s is shorter than the minimum %s", opt.EventTTL, MinEventTTL)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if p == nil || sc == nil || store == nil || q == nil {
		return nil, errors.New("pipeline: provider, secrets, store and queue are required")
	}
	return &Handler[C]{p: p, secrets: sc, store: store, queue: q, opt: opt, log: opt.Logger.With("provider", p.Name())}, nil
}

// result is what one request came to.
type result struct {
	status    int
	outcome   metrics.Outcome
	code      string
	message   string
	eventType string
	eventID   string
	err       error // internal detail, logged
}

// HandleHTTP serves one API Gateway HTTP API (payload 2.0) request. It never
// returns a Go error: every failure is an HTTP answer with a stable code.
func (h *Handler[C]) HandleHTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	start := h.opt.Now()
	req, err := apigw.Adapt(ev, h.opt.MaxBody, start)
	var res result
	switch {
	case errors.Is(err, apigw.ErrBodyTooLarge):
		res = reject(&Error{Status: http.StatusRequestEntityTooLarge, Code: CodePayloadTooLarge, Message: "request body is larger than the limit"})
	case err != nil:
		res = reject(&Error{Status: http.StatusBadRequest, Code: CodeInvalidEncoding, Message: "request body is not valid base64", Err: err})
	default:
		res = h.serve(ctx, req)
	}
	elapsed := h.opt.Now().Sub(start)
	h.opt.Metrics.Webhook(h.p.Name(), res.outcome, res.eventType, elapsed)
	h.logResult(ctx, req, res, elapsed)
	return h.respond(res)
}

func (h *Handler[C]) logResult(ctx context.Context, req *apigw.Request, res result, elapsed time.Duration) {
	attrs := []slog.Attr{
		slog.String("outcome", string(res.outcome)),
		slog.Int("status", res.status),
		slog.String("eventType", res.eventType),
		slog.String("eventId", res.eventID),
		slog.Float64("latencyMs", float64(elapsed.Microseconds())/1000),
	}
	if req != nil {
		// The route key, never the raw path: URL tokens are secrets.
		attrs = append(attrs, slog.String("routeKey", req.RouteKey), slog.String("sourceIp", req.SourceIP.String()))
	}
	level := slog.LevelInfo
	if res.code != "" {
		attrs = append(attrs, slog.String("code", res.code))
	}
	if res.err != nil {
		attrs = append(attrs, slog.String("error", res.err.Error()))
	}
	if res.status >= 500 {
		level = slog.LevelError
	} else if res.status >= 400 {
		level = slog.LevelWarn
	}
	h.log.LogAttrs(ctx, level, "webhook", attrs...)
}

func reject(e *Error) result {
	out := metrics.Rejected
	if e.Status >= 500 {
		out = metrics.Failed
	}
	return result{status: e.Status, outcome: out, code: e.Code, message: e.Message, err: e.Err}
}

func failure(status int, code, message string, err error) result {
	return result{status: status, outcome: metrics.Failed, code: code, message: message, err: err}
}

func (h *Handler[C]) respond(res result) events.APIGatewayV2HTTPResponse {
	now := h.opt.Now()
	var body []byte
	r, custom := any(h.p).(Responder)
	switch {
	case res.status < 300 && custom:
		body = r.SuccessBody(now)
	case res.status < 300:
		body = []byte(`{"success":true}`)
	case custom:
		body = r.ErrorBody(res.status, res.code, res.message, now)
	default:
		body, _ = json.Marshal(map[string]any{"success": false, "error": map[string]string{"code": res.code, "message": res.message}})
	}
	hdr := map[string]string{"X-Webhook-Outcome": string(res.outcome)}
	if res.eventType != "" {
		hdr["X-Webhook-Event-Type"] = res.eventType
	}
	if res.eventID != "" {
		hdr["X-Webhook-Event-Id"] = res.eventID
	}
	return apigw.JSON(res.status, body, hdr)
}

func (h *Handler[C]) serve(ctx context.Context, req *apigw.Request) result {
	if req.Method != http.MethodPost {
		return reject(&Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: "only POST is accepted"})
	}
	versions, matched, res, ok := h.authenticate(ctx, req)
	if !ok {
		return res
	}
	if !jsonContentType(req.Headers.Get("content-type")) {
		return reject(&Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "content type must be application/json"})
	}
	if err := jsonx.CheckObject(req.Body); err != nil {
		return reject(malformedJSON(err))
	}
	ev, err := h.p.Decode(req, matched.Config)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return reject(pe)
		}
		return reject(&Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "body could not be parsed", Err: err})
	}
	if err := ev.Validate(); err != nil { // a provider bug, not the sender's fault
		return failure(http.StatusInternalServerError, CodeInternal, "event could not be processed", err)
	}
	if ev.Time.IsZero() {
		ev.Time = req.Received
	}
	id := EventID(h.p.Name(), ev.Key)
	res = result{eventType: ev.Type, eventID: id}

	// Transform for the queue. The result stays in memory: only ev.Data is stored.
	msgData, err := h.enrich(ev, matched, versions)
	if err != nil {
		// The cached secret may predate a fix (a rotated decryption key): re-read
		// it (at most once a minute) before quarantining.
		if fresh, refreshed, rerr := h.secrets.Refresh(ctx); rerr == nil && refreshed && len(fresh) > 0 {
			msgData, err = h.enrich(ev, fresh[0], fresh)
		}
	}
	var q *QuarantineError // non-nil: authentic, but cannot be processed
	if err != nil && !errors.As(err, &q) {
		return with(res, failure(http.StatusInternalServerError, CodeInternal, "event could not be processed", err))
	}
	sum := sha256.Sum256(req.Body)
	bodyHash := hex.EncodeToString(sum[:])
	if ev.BodyDigest != "" {
		bodyHash = ev.BodyDigest
	}

	if ev.Credential != "" {
		ttl := max(ev.CredentialTTL, time.Hour)
		if err := h.store.UseOnce(ctx, h.p.Name(), ev.Credential, bodyHash, req.Received.Add(ttl)); err != nil {
			if errors.Is(err, eventstore.ErrReplay) {
				return with(res, reject(&Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "request is not authentic", Err: err}))
			}
			return with(res, failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err))
		}
	}

	item := &eventstore.Item{
		Provider: h.p.Name(), EventID: id, Type: ev.Type, Subject: ev.Subject, Time: ev.Time,
		Data: ev.Data, BodySHA256: bodyHash, Status: eventstore.StatusStored, Deprecated: ev.Deprecated,
		ReceivedAt: req.Received, ExpiresAt: req.Received.Add(h.opt.EventTTL),
	}
	if q != nil {
		item.Status, item.Reason = eventstore.StatusQuarantined, q.Reason
	}
	existing, err := h.store.Create(ctx, item)
	if err != nil {
		return with(res, failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err))
	}
	if existing != nil {
		return with(res, h.redelivered(ctx, existing, msgData, q))
	}
	if q != nil {
		return with(res, result{status: http.StatusOK, outcome: metrics.Quarantined, err: q})
	}
	return with(res, h.enqueue(ctx, item, msgData, metrics.Accepted))
}

// redelivered handles a delivery of an event that is already stored.
func (h *Handler[C]) redelivered(ctx context.Context, it *eventstore.Item, msgData json.RawMessage, q *QuarantineError) result {
	switch it.Status {
	case eventstore.StatusQueued:
		return result{status: http.StatusOK, outcome: metrics.Duplicate}
	case eventstore.StatusQuarantined:
		if q != nil {
			return result{status: http.StatusOK, outcome: metrics.Duplicate, err: q}
		}
		// The cause was fixed (the secret now works): release and queue it.
		if err := h.store.Release(ctx, it.Provider, it.EventID); err != nil && !errors.Is(err, eventstore.ErrConflict) {
			return failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err)
		}
		return h.enqueue(ctx, it, msgData, metrics.Accepted)
	default: // stored but not confirmed queued: a retry after a queue failure.
		if q != nil {
			return failure(http.StatusInternalServerError, CodeConfiguration, "event could not be processed with the configured secret", q)
		}
		return h.enqueue(ctx, it, msgData, metrics.Accepted)
	}
}

// enqueue sends the stored event and marks it queued.
func (h *Handler[C]) enqueue(ctx context.Context, it *eventstore.Item, msgData json.RawMessage, outcome metrics.Outcome) result {
	ce := queue.NewCloudEvent(h.p.Name(), it.EventID, it.Type, it.Subject, it.Time, msgData)
	msgID, err := h.queue.Send(ctx, h.p.Name(), ce)
	if err != nil {
		return failure(http.StatusServiceUnavailable, CodeQueue, "event could not be queued; retry later", err)
	}
	if err := h.store.MarkQueued(ctx, it.Provider, it.EventID, msgID); err != nil {
		// The message is durably on the queue, so the webhook is acknowledged: a 5xx
		// here would make the provider redeliver it after SQS's 5-minute
		// de-duplication window and enqueue it twice. The item stays "stored".
		h.log.LogAttrs(ctx, slog.LevelError, "queued but not marked", slog.String("eventId", it.EventID), slog.String("error", err.Error()))
	}
	return result{status: http.StatusOK, outcome: outcome}
}

// enrich produces the message data, trying the version that authenticated the
// request first, then the others (a rotated decryption key).
func (h *Handler[C]) enrich(ev *Event, matched secrets.Version[C], all []secrets.Version[C]) (json.RawMessage, error) {
	e, ok := any(h.p).(Enricher[C])
	if !ok {
		return ev.Data, nil
	}
	data, err := e.Enrich(ev, matched.Config)
	if err == nil {
		return data, nil
	}
	for _, v := range all {
		if v.VersionID == matched.VersionID {
			continue
		}
		if d, err2 := e.Enrich(ev, v.Config); err2 == nil {
			return d, nil
		}
	}
	return nil, err
}

// authenticate tries every secret version; when none verifies it re-reads the
// secret (at most once a minute) and tries again, so a rotation is picked up
// before the cache expires.
func (h *Handler[C]) authenticate(ctx context.Context, req *apigw.Request) ([]secrets.Version[C], secrets.Version[C], result, bool) {
	var none secrets.Version[C]
	versions, err := h.secrets.Versions(ctx)
	if err != nil {
		return nil, none, secretFailure(err), false
	}
	v, authErr := h.tryVersions(req, versions)
	if authErr == nil {
		return versions, v, result{}, true
	}
	if fresh, refreshed, err := h.secrets.Refresh(ctx); err == nil && refreshed {
		versions = fresh
		if v, err := h.tryVersions(req, versions); err == nil {
			return versions, v, result{}, true
		} else {
			authErr = err
		}
	}
	var pe *Error
	if errors.As(authErr, &pe) {
		return nil, none, reject(pe), false
	}
	if errors.Is(authErr, verify.ErrSourceNotAllowed) {
		return nil, none, reject(&Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "source address is not allowed", Err: authErr}), false
	}
	return nil, none, reject(&Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "request is not authentic", Err: authErr}), false
}

// tryVersions returns the first version that authenticates req. When all fail it
// returns a 401-class error if any version got past its source check, so that a
// 403 is given only when the address is refused by every version.
func (h *Handler[C]) tryVersions(req *apigw.Request, versions []secrets.Version[C]) (secrets.Version[C], error) {
	var first, nonIP error
	for _, v := range versions {
		err := h.p.Authenticate(req, v.Config)
		if err == nil {
			return v, nil
		}
		if first == nil {
			first = err
		}
		if nonIP == nil && !errors.Is(err, verify.ErrSourceNotAllowed) {
			nonIP = err
		}
	}
	if nonIP != nil {
		return secrets.Version[C]{}, nonIP
	}
	return secrets.Version[C]{}, first
}

func secretFailure(err error) result {
	if errors.Is(err, secrets.ErrNotConfigured) {
		return failure(http.StatusInternalServerError, CodeConfiguration, "receiver is not configured; retry later", err)
	}
	return failure(http.StatusServiceUnavailable, CodeSecretUnavailable, "receiver is temporarily unavailable; retry later", err)
}

func with(base, r result) result {
	r.eventType, r.eventID = base.eventType, base.eventID
	return r
}

func malformedJSON(err error) *Error {
	switch {
	case errors.Is(err, jsonx.ErrInvalidUTF8):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidEncoding, Message: "body is not valid UTF-8"}
	case errors.Is(err, jsonx.ErrDuplicateKey):
		return &Error{Status: http.StatusBadRequest, Code: CodeDuplicateKey, Message: "body repeats a key in one object"}
	case errors.Is(err, jsonx.ErrNotObject):
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "body must be a JSON object"}
	case errors.Is(err, jsonx.ErrNumberRange):
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "body has a number out of range"}
	case errors.Is(err, jsonx.ErrTooDeep):
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "body is nested too deeply"}
	default:
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "body is not well-formed JSON"}
	}
}

// jsonContentType accepts a missing content type (some senders omit it), JSON
// types and text/plain (JSON sent as text); anything else is refused.
func jsonContentType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || mt == "text/plain" ||
		(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// EventID derives an event's id from the provider and the event's key: the same
// event always gets the same id, whichever delivery carried it. (The "key:"
// prefix is kept so ids stay what they were when a body could stand in for a
// missing key: stored events keep de-duplicating.)
func EventID(provider, key string) string {
	h := sha256.New()
	h.Write([]byte(provider))
	h.Write([]byte{0})
	h.Write([]byte("key:"))
	h.Write([]byte(key))
	return hex.EncodeToString(h.Sum(nil))[:32]
}
