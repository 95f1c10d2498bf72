// Package pipeline is the provider-neutral request path every webhook receiver
// runs: adapt → authenticate → parse and classify → transform → store once →
// enqueue → mark queued → reply. A provider plugs in by implementing Provider;
// the pipeline owns de-duplication, failure semantics, logs and metrics.
package pipeline

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
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
	"github.com/aws/smithy-go"

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
	// different ones. The event id is derived from it. Required. It must be
	// built from the stored form of the body (Data), never from values the
	// stored form redacts or drops: the id is a digest stored beside the data.
	Key string
	// Entity, when set, marks an event that carries no id or time of its own
	// (APIGift invoice, product, ticket and sell-review events): Key is then the
	// entity's state, and the event is a duplicate only when that state equals
	// the entity's latest recorded state (see eventstore.RecordState), so a
	// return to an earlier state is a new event.
	Entity string
	// Time is when it happened, when the body says so; zero means receipt time.
	Time time.Time
	// Data is the storable form of the payload (JSON): what DynamoDB keeps. It
	// must hold no decrypted secret and no full card number.
	Data json.RawMessage
	// Deprecated marks an event type the provider no longer documents.
	Deprecated bool
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
	case len(ev.Data) == 0 || !jsonx.Valid(ev.Data): // json.Valid's answer, in one faster pass
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
	// Authenticate checks req's credential against one secret version. Errors
	// wrap the sentinels of package verify (all → 401) or are a *Error. Network
	// policy is not checked here but by SourceChecker, with AWSCURRENT only.
	Authenticate(req *apigw.Request, cfg C) error
	// Decode classifies an authenticated body, parsed once by the pipeline
	// (doc: one well-formed JSON object, the strict check of jsonx.Parse), and
	// reads the event from it (see Fields). Input it cannot accept is a *Error
	// (see Malformed).
	Decode(req *apigw.Request, doc *jsonx.Doc, cfg C) (*Event, error)
}

// Router is implemented by providers whose route has a parameter that selects
// what a request is (Tiki's {kind}, APIGift's {event}). The pipeline resolves
// the route once per request, before authentication, and sets req.Variant to
// the result: Authenticate and Decode read that and check the route no
// further. An error from Route (a route that no credential can authenticate,
// such as an unknown Tiki kind) is answered once the secret is read, instead
// of authenticating; Route.NotFound only once the request is authentic.
type Router interface {
	Route(req *apigw.Request) (Route, error)
}

// Route is what a provider makes of a request's route (see Router).
type Route struct {
	// Variant is the provider's name for what the route selects (Tiki's
	// kind, an APIGift event type), "" when the route selects nothing.
	Variant string
	// NotFound, when set, is the answer to an authentic request on this route:
	// a parameter that names nothing, which only an authentic sender learns.
	NotFound *Error
}

// SourceChecker is implemented by providers whose secret carries a network
// policy (a source-IP allow-list). The pipeline applies it with the AWSCURRENT
// version for every request, whichever version's credential matches: a
// previous version's looser (or absent) list never admits a request. Errors
// wrap verify.ErrSourceNotAllowed (403).
type SourceChecker[C any] interface {
	CheckSource(req *apigw.Request, cfg C) error
}

// SingleUser is implemented by providers whose signature does not cover the
// body (OSL Pay). For an authenticated request it returns the signed
// credential (none: ID empty), which may carry one body only: the pipeline binds it to the body
// right after authentication, before any parsing, so the same credential with
// another body is refused (401) whatever became of the first body.
type SingleUser[C any] interface {
	SingleUse(req *apigw.Request, cfg C) Credential
}

// Credential is a single-use credential: ID identifies it (the signed string),
// Key is secret material only its holder has (the signature bytes), used to
// key the digest of the body it is bound to, so the stored record lets no one
// test guesses of the body; TTL is how long the record must be kept.
type Credential struct {
	ID  string
	Key []byte
	TTL time.Duration
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
	// A rejected sender learns nothing about the event it tried to pass: no
	// 4xx carries an event header (a replayed signature answered with the
	// event's id and type would tell the sender its headers were valid).
	if res.status < 400 || res.status >= 500 {
		if res.eventType != "" {
			hdr["X-Webhook-Event-Type"] = res.eventType
		}
		if res.eventID != "" {
			hdr["X-Webhook-Event-Id"] = res.eventID
		}
	}
	return apigw.JSON(res.status, body, hdr)
}

func (h *Handler[C]) serve(ctx context.Context, req *apigw.Request) result {
	if req.Method != http.MethodPost {
		return reject(&Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: "only POST is accepted"})
	}
	route, routeErr := h.route(req)
	versions, matched, res, ok := h.authenticate(ctx, req, routeErr)
	if !ok {
		return res
	}
	if route.NotFound != nil {
		return reject(route.NotFound)
	}
	if res, ok := h.bindCredential(ctx, req, matched.Config); !ok {
		return res
	}
	if !jsonContentType(req.Headers.Get("content-type")) {
		return reject(&Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "content type must be application/json"})
	}
	doc, err := jsonx.Parse(req.Body)
	if err != nil {
		return reject(malformedJSON(err))
	}
	ev, err := h.p.Decode(req, doc, matched.Config)
	doc.Release()
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
	id, err := h.eventID(ctx, ev, req.Received)
	if err != nil {
		return failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err)
	}
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
	item := &eventstore.Item{
		Provider: h.p.Name(), EventID: id, Type: ev.Type, Subject: ev.Subject, Time: ev.Time,
		Data: ev.Data, DataSHA256: eventstore.Digest(ev.Data), Status: eventstore.StatusStored, Deprecated: ev.Deprecated,
		ReceivedAt: req.Received, ExpiresAt: req.Received.Add(h.opt.EventTTL),
	}
	var msg queue.Message
	if q == nil {
		msg = h.message(item, msgData)
		q = tooLarge(msg)
	}
	size := item.Size()
	if q == nil && size > eventstore.MaxItemBytes {
		q = &QuarantineError{Reason: fmt.Sprintf("stored form is %d bytes, over DynamoDB's item limit of %d", size, eventstore.MaxItemBytes)}
	}
	if q != nil {
		quarantined(item, q.Reason, size <= eventstore.MaxItemBytes)
	}
	existing, err := h.store.Create(ctx, item)
	if errors.Is(err, eventstore.ErrRefused) {
		// DynamoDB refused the item for its content: keep what it takes.
		q = &QuarantineError{Reason: "DynamoDB refused the event: " + awsCode(err), Err: err}
		quarantined(item, q.Reason, false)
		existing, err = h.store.Create(ctx, item)
	}
	if err != nil {
		return with(res, failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err))
	}
	if existing != nil {
		return with(res, h.redelivered(ctx, existing, msgData, q))
	}
	if q != nil {
		return with(res, result{status: http.StatusOK, outcome: metrics.Quarantined, err: q})
	}
	return with(res, h.enqueue(ctx, item, msg))
}

// quarantined turns a new item into a quarantined one: the reason and no TTL.
// Without keepData (DynamoDB cannot hold it) data is null, and an operator
// sees the reason and the digest of what could not be kept.
func quarantined(it *eventstore.Item, reason string, keepData bool) {
	it.Status, it.Reason, it.ExpiresAt = eventstore.StatusQuarantined, reason, time.Time{}
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

// awsCode is the AWS error code in err, for a quarantine reason (never the
// message, which may quote values).
func awsCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "refused"
}

// eventID derives the event's id. An event without an id or time of its own
// (ev.Entity set) is recorded as its entity's latest state: a new state gets a
// new id, the latest state again gets the id it was recorded with.
func (h *Handler[C]) eventID(ctx context.Context, ev *Event, received time.Time) (string, error) {
	if ev.Entity == "" {
		return EventID(h.p.Name(), ev.Key), nil
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	candidate := EventID(h.p.Name(), "state:"+ev.Type+"|"+ev.Entity+"|"+ev.Key+"|"+hex.EncodeToString(nonce[:]))
	id, _, err := h.store.RecordState(ctx, h.p.Name(), ev.Type+"|"+ev.Entity, ev.Key, candidate, received.Add(h.opt.EventTTL))
	return id, err
}

// bindCredential binds a single-use credential to the request's body, right
// after authentication and before any parsing: the same credential with another
// body is refused, whatever became of the first body (400, 503 or 200).
func (h *Handler[C]) bindCredential(ctx context.Context, req *apigw.Request, cfg C) (result, bool) {
	su, ok := any(h.p).(SingleUser[C])
	if !ok {
		return result{}, true
	}
	cred := su.SingleUse(req, cfg)
	if cred.ID == "" { // this request carries no single-use credential
		return result{}, true
	}
	if len(cred.Key) == 0 {
		return failure(http.StatusInternalServerError, CodeInternal, "request could not be processed", errors.New("pipeline: single-use credential without a key")), false
	}
	mac := hmac.New(sha256.New, cred.Key)
	mac.Write(req.Body)
	ttl := max(cred.TTL, time.Hour)
	err := h.store.UseOnce(ctx, h.p.Name(), cred.ID, hex.EncodeToString(mac.Sum(nil)), req.Received.Add(ttl))
	switch {
	case errors.Is(err, eventstore.ErrReplay):
		return reject(&Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "request is not authentic", Err: err}), false
	case err != nil:
		return failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err), false
	}
	return result{}, true
}

// message builds the event's queue message.
func (h *Handler[C]) message(it *eventstore.Item, data json.RawMessage) queue.Message {
	return queue.NewMessage(h.p.Name(), queue.NewCloudEvent(h.p.Name(), it.EventID, it.Type, it.Subject, it.Time, data))
}

// redelivered handles a delivery of an event that is already stored.
func (h *Handler[C]) redelivered(ctx context.Context, it *eventstore.Item, msgData json.RawMessage, q *QuarantineError) result {
	switch it.Status {
	case eventstore.StatusQueued:
		return result{status: http.StatusOK, outcome: metrics.Duplicate}
	case eventstore.StatusQuarantined:
		if q != nil || it.DataDropped {
			return result{status: http.StatusOK, outcome: metrics.Duplicate, err: q}
		}
		// The cause was fixed (the secret now works): release and queue it.
		if err := h.store.Release(ctx, it.Provider, it.EventID); err != nil && !errors.Is(err, eventstore.ErrConflict) {
			return failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err)
		}
		return h.enqueue(ctx, it, h.message(it, msgData))
	default: // stored but not confirmed queued: a retry after a queue failure.
		if q != nil {
			return h.quarantine(ctx, it, q)
		}
		return h.enqueue(ctx, it, h.message(it, msgData))
	}
}

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

// enqueue sends the stored event and marks it queued. A message SQS refuses
// for its content quarantines the event; any other failure is a 5xx.
func (h *Handler[C]) enqueue(ctx context.Context, it *eventstore.Item, msg queue.Message) result {
	if q := tooLarge(msg); q != nil {
		return h.quarantine(ctx, it, q)
	}
	msgID, err := h.queue.Send(ctx, msg)
	if errors.Is(err, queue.ErrRefused) {
		return h.quarantine(ctx, it, &QuarantineError{Reason: "SQS refused the message: " + awsCode(err), Err: err})
	}
	if err != nil {
		return failure(http.StatusServiceUnavailable, CodeQueue, "event could not be queued; retry later", err)
	}
	if err := h.store.MarkQueued(ctx, it.Provider, it.EventID, msgID, h.opt.Now().Add(h.opt.EventTTL)); err != nil {
		// The message is durably on the queue, so the webhook is acknowledged: a 5xx
		// here would make the provider redeliver it after SQS's 5-minute
		// de-duplication window and enqueue it twice. The item stays "stored".
		h.log.LogAttrs(ctx, slog.LevelError, "queued but not marked", slog.String("eventId", it.EventID), slog.String("error", err.Error()))
	}
	it.Status = eventstore.StatusQueued
	return result{status: http.StatusOK, outcome: metrics.Accepted}
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

// route resolves the request's route (Router) and records it in req.Variant.
func (h *Handler[C]) route(req *apigw.Request) (Route, error) {
	r, ok := any(h.p).(Router)
	if !ok {
		return Route{}, nil
	}
	route, err := r.Route(req)
	req.Variant = route.Variant
	return route, err
}

// authenticate checks the request against the usable secret versions; when
// that fails it re-reads the secret (at most once a minute) and checks again,
// so a rotation is picked up before the cache expires. A route error is the
// answer instead, once the secret is read.
func (h *Handler[C]) authenticate(ctx context.Context, req *apigw.Request, routeErr error) ([]secrets.Version[C], secrets.Version[C], result, bool) {
	var none secrets.Version[C]
	versions, err := h.secrets.Versions(ctx)
	if err != nil {
		return nil, none, secretFailure(err), false
	}
	v, authErr := none, routeErr
	if routeErr == nil {
		v, authErr = h.check(req, versions)
		if authErr != nil {
			if fresh, refreshed, err := h.secrets.Refresh(ctx); err == nil && refreshed {
				versions = fresh
				v, authErr = h.check(req, versions)
			}
		}
	}
	if authErr == nil {
		if v.Previous() {
			h.opt.Metrics.PreviousSecretVersion(h.p.Name())
			h.log.LogAttrs(ctx, slog.LevelWarn, "verified with the previous secret version",
				slog.String("versionId", v.VersionID), slog.String("currentCreated", versions[0].Created.UTC().Format(time.RFC3339)))
		}
		return versions, v, result{}, true
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

// check applies the network policy of AWSCURRENT (versions[0]), then returns
// the first version whose credential authenticates req, or the current
// version's error.
func (h *Handler[C]) check(req *apigw.Request, versions []secrets.Version[C]) (secrets.Version[C], error) {
	if sc, ok := any(h.p).(SourceChecker[C]); ok {
		if err := sc.CheckSource(req, versions[0].Config); err != nil {
			return secrets.Version[C]{}, err
		}
	}
	var first error
	for _, v := range versions {
		err := h.p.Authenticate(req, v.Config)
		if err == nil {
			return v, nil
		}
		if first == nil {
			first = err
		}
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
	var buf [256]byte
	sum := sha256.Sum256(append(append(append(buf[:0], provider...), "\x00key:"...), key...))
	var id [32]byte
	hex.Encode(id[:], sum[:16])
	return string(id[:])
}
