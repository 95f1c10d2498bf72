// Package pipeline is the provider-neutral request path every webhook receiver
// runs: adapt → authenticate → parse and classify → transform → store once →
// enqueue → mark queued → reply. A provider plugs in by implementing Provider;
// the pipeline owns the body (one parse, one redaction: see Classify),
// de-duplication, failure semantics, logs and metrics.
package pipeline

import (
	"context"
	"crypto/hmac"
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
	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/jsonx"
	"webhooks/shared/metrics"
	"webhooks/shared/secrets"
	"webhooks/shared/verify"
)

// Event is what a provider's Decode makes of an authenticated body.
type Event struct {
	// Type is the CloudEvents type, e.g. "<provider>.order.status_changed".
	Type string
	// Subject is the entity id (message group); empty when the body has none.
	Subject string
	// Key identifies the event among all of the provider's events: two
	// deliveries of the same event must give the same Key, two different events
	// different ones. The event id is derived from it. Required. It must be
	// built from the stored form of the body (Data), never from values the
	// stored form redacts or drops: the id is a digest stored beside the data.
	Key string
	// Entity, when set, marks an event that is a state of an entity and
	// whose key could come back for a new state (no event id of its own, or
	// a time too coarse or optional to tell two states apart): Key is then
	// the entity's state, and the event is a duplicate only when that state
	// equals the entity's latest recorded state (eventstore's layout.go: the
	// entity's states in a partition of their own),
	// so A → B → A is three events and only an immediate redelivery of the
	// latest state is one event. Every key that can recur must be such an
	// entity's state (docs/CONTRACT.md lists each type's). Like Key, it must
	// be built from the stored form.
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
	// Name is the provider's route and source name (contract.Provider.Name).
	Name() string
	// ParseSecret parses and validates one version of the secret. An empty or
	// incomplete secret is an error; the error must not contain secret values.
	ParseSecret(raw []byte) (C, error)
	// Authenticate checks req's credential against one secret version. Errors
	// wrap the sentinels of package verify (all → 401) or are a *Error. Network
	// policy is not checked here but by SourceChecker, with AWSCURRENT only.
	Authenticate(req *apigw.Request, cfg C) error
	// Classify reads an authenticated body as sent (sent: its top-level
	// object, parsed once by the pipeline with the strict check of
	// jsonx.Parse), checks the fields the body must have as sent (a number
	// that redaction would turn into a masked string must still be refused
	// where a string belongs, and accepted where a number does), and says
	// how its data is made storable (Redaction). The pipeline then redacts
	// once, from the parse's tokens. Input it cannot accept is a *Error (see
	// Malformed).
	Classify(req *apigw.Request, sent jsonx.Value, cfg C) (Redaction, error)
	// Decode reads the event from the body (see Body): everything stored
	// beside the data — key, entity, subject, time — from body.Stored, the
	// redacted data. It leaves Event.Data unset: the pipeline sets it to the
	// redacted data's text. Input it cannot accept is a *Error.
	Decode(req *apigw.Request, body Body, cfg C) (*Event, error)
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
// body. For an authenticated request it returns the signed
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
// stored data (a field decrypted for the queue only). Enrich returns the
// message data of ev, whose stored data the pipeline hands over parsed
// (data: ev.Data's document, the redacted one on the request path), or a
// QuarantineError when the input can never be processed with cfg.
type Enricher[C any] interface {
	Enrich(ev *Event, data jsonx.Value, cfg C) (json.RawMessage, error)
}

// EventTyper is implemented by providers to say which event types are their
// own (the contract's, and for a provider that passes undocumented types on,
// those it can produce): a replay's types filter accepts nothing else. A
// provider without it cannot have its replays filtered by type.
type EventTyper interface {
	IsEventType(t string) bool
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
const MinEventTTL = contract.MinEventTTL

// DefaultEventTTL is the default EventTTL (30 days).
const DefaultEventTTL = contract.DefaultEventTTL

// Handler runs the pipeline for one provider.
type Handler[C any] struct {
	p       Provider[C]
	secrets *secrets.Cache[C]
	store   Store
	queue   Queue
	opt     Options
	log     *slog.Logger
}

// New returns a Handler. It fails when the options are invalid.
func New[C any](p Provider[C], sc *secrets.Cache[C], store Store, q Queue, opt Options) (*Handler[C], error) {
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
	if p == nil || sc == nil || missing(store) || missing(q) {
		return nil, errors.New("pipeline: provider, secrets, store and queue are required")
	}
	return &Handler[C]{p: p, secrets: sc, store: store, queue: q, opt: opt, log: opt.Logger.With("provider", p.Name())}, nil
}

// RequestBudget bounds a webhook's handling, whatever the function's timeout
// (which operator commands may need raised): the provider gets the function's
// own 5xx well before API Gateway's 30-second integration limit, and a failed
// send still has time to leave its unsent marker.
const RequestBudget = 8 * time.Second

// requestContext bounds a webhook by RequestBudget and by the function's
// deadline less the time a failed send needs for its marker.
func requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl := time.Now().Add(RequestBudget)
	if fd, ok := ctx.Deadline(); ok && fd.Add(-markerTimeout).Before(dl) {
		dl = fd.Add(-markerTimeout)
	}
	return context.WithDeadline(ctx, dl)
}

// result is what one request came to.
type result struct {
	status     int
	outcome    metrics.Outcome
	code       string
	message    string
	eventType  string
	eventID    string
	verifiedBy string // the secret version that verified the request, logged
	err        error  // internal detail, logged
}

// HandleHTTP serves one API Gateway HTTP API (payload 2.0) request. It never
// returns a Go error: every failure is an HTTP answer with a stable code.
func (h *Handler[C]) HandleHTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	ctx, cancel := requestContext(ctx)
	defer cancel()
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
	h.logResult(ctx, req, res, elapsed)
	return h.respond(res)
}

// logResult writes the webhook's one log record: what an operator reads
// (outcome, status, type, event id, latency, route, source address, the
// secret version that verified it, the error code) and its EMF metrics
// (metrics.Recorder.WebhookEMF), whose timestamp is the record's time: the
// record carries no second one.
func (h *Handler[C]) logResult(ctx context.Context, req *apigw.Request, res result, elapsed time.Duration) {
	level := slog.LevelInfo
	if res.status >= 500 {
		level = slog.LevelError
	} else if res.status >= 400 {
		level = slog.LevelWarn
	}
	if !h.log.Enabled(ctx, level) {
		return
	}
	rec := slog.NewRecord(time.Time{}, level, "webhook", 0)
	rec.AddAttrs(
		slog.String("outcome", string(res.outcome)),
		slog.Int("status", res.status),
		slog.String("eventType", res.eventType),
		slog.String("eventId", res.eventID),
		slog.Float64("latencyMs", float64(elapsed.Microseconds())/1000),
	)
	if req != nil {
		// The route key, never the raw path: URL tokens are secrets.
		rec.AddAttrs(slog.String("routeKey", req.RouteKey), slog.String("sourceIp", req.SourceIP.String()))
	}
	if res.verifiedBy != "" {
		rec.AddAttrs(slog.String("verifiedBy", res.verifiedBy))
	}
	if res.code != "" {
		rec.AddAttrs(slog.String("code", res.code))
	}
	if res.err != nil {
		rec.AddAttrs(slog.String("error", res.err.Error()))
	}
	if emf := h.opt.Metrics.WebhookEMF(elapsed); emf != nil {
		rec.AddAttrs(emf...)
	} else {
		rec.Time = h.opt.Now() // no EMF timestamp: the record keeps its own
	}
	_ = h.log.Handler().Handle(ctx, rec)
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
	hdr := map[string]string{contract.HeaderOutcome: string(res.outcome)}
	// A rejected sender learns nothing about the event it tried to pass: no
	// 4xx carries an event header (a replayed signature answered with the
	// event's id and type would tell the sender its headers were valid).
	if res.status < 400 || res.status >= 500 {
		if res.eventType != "" {
			hdr[contract.HeaderEventType] = res.eventType
		}
		if res.eventID != "" {
			hdr[contract.HeaderEventID] = res.eventID
		}
	}
	return apigw.JSON(res.status, body, hdr)
}

func (h *Handler[C]) serve(ctx context.Context, req *apigw.Request) result {
	if req.Method != http.MethodPost {
		return reject(&Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: "only POST is accepted"})
	}
	route, routeErr := h.route(req)
	matched, res, ok := h.authenticate(ctx, req, routeErr)
	if !ok {
		return res
	}
	if route.NotFound != nil {
		return reject(route.NotFound)
	}
	if res, ok := h.bindCredential(ctx, req, matched); !ok {
		return res
	}
	if !jsonContentType(req.Headers.Get("content-type")) {
		return reject(&Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "content type must be application/json"})
	}
	doc, err := jsonx.Parse(req.Body)
	if err != nil {
		return reject(malformedJSON(err))
	}
	ev, stored, err := decode(h.p, req, doc.Root(), matched.Config)
	doc.Release()
	defer stored.Release()
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
	ev.Time = EventTime(ev.Time, req.Received)
	// An event with a key of its own has its id now; a state of an entity gets
	// its id when it is stored (the next state's, or the stored one's).
	id := ""
	if ev.Entity == "" {
		id = EventID(h.p.Name(), ev.Key)
	}
	res = result{eventType: ev.Type, eventID: id, verifiedBy: matched.VersionID}

	// Transform for the queue. The result stays in memory: only ev.Data is stored.
	msgData, err := h.enrich(ctx, ev, stored.Root(), matched.VersionID)
	var q *QuarantineError // non-nil: authentic, but cannot be processed
	if err != nil && !errors.As(err, &q) {
		if errors.Is(err, secrets.ErrUnavailable) { // AWSPREVIOUS, tried when AWSCURRENT could not enrich
			return with(res, secretFailure(err))
		}
		return with(res, failure(http.StatusInternalServerError, CodeInternal, "event could not be processed", err))
	}
	item := &eventstore.Item{
		Provider: h.p.Name(), EventID: id, Type: ev.Type, Subject: ev.Subject, Time: ev.Time,
		Data: ev.Data, DataSHA256: eventstore.Digest(ev.Data), Deprecated: ev.Deprecated,
		ReceivedAt: req.Received, VerifiedBy: matched.VersionID,
	}
	if ev.Entity != "" {
		item.Entity, item.State = ev.Type+"|"+ev.Entity, ev.Key
	}
	out := h.advance(ctx, item, true, msgData, q, byWebhook)
	res.eventID = item.EventID // a state's, once stored
	return with(res, out)
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

// bindCredential binds a single-use credential to the request's body, right
// after authentication and before any parsing: the same credential with another
// body is refused, whatever became of the first body (400, 503 or 200).
func (h *Handler[C]) bindCredential(ctx context.Context, req *apigw.Request, verified secrets.Version[C]) (result, bool) {
	su, ok := any(h.p).(SingleUser[C])
	if !ok {
		return result{}, true
	}
	cred := su.SingleUse(req, verified.Config)
	if cred.ID == "" { // this request carries no single-use credential
		return result{}, true
	}
	if len(cred.Key) == 0 {
		return failure(http.StatusInternalServerError, CodeInternal, "request could not be processed", errors.New("pipeline: single-use credential without a key")), false
	}
	mac := hmac.New(sha256.New, cred.Key)
	mac.Write(req.Body)
	ttl, err := h.singleUseTTL(ctx, su, req, cred, verified.VersionID)
	if err != nil {
		return secretFailure(err), false
	}
	err = h.store.UseOnce(ctx, h.p.Name(), cred.ID, hex.EncodeToString(mac.Sum(nil)), req.Received.Add(ttl))
	switch {
	case errors.Is(err, eventstore.ErrReplay):
		return reject(&Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "request is not authentic", Err: err}), false
	case err != nil:
		return failure(http.StatusServiceUnavailable, CodeStorage, "event could not be stored; retry later", err), false
	}
	return result{}, true
}

// singleUseTTL is how long the record binding a single-use credential to its
// body must be kept: as long as ANY usable secret version could still verify
// the credential, not only the version that did. During a rotation's grace
// period, AWSPREVIOUS may carry a larger tolerance than AWSCURRENT: a record
// kept for the smaller one would expire while the previous version still
// verifies the captured headers, and a forged body would pass. AWSPREVIOUS
// verifies nothing after the grace period ends, whatever its tolerance, so
// the record is kept until then (keepSingleUse) instead of reading AWSPREVIOUS
// to learn its tolerance: the request needs AWSCURRENT only, which the cache
// holds since authenticate, and an unreadable AWSPREVIOUS cannot stop a
// request AWSCURRENT verified.
func (h *Handler[C]) singleUseTTL(ctx context.Context, su SingleUser[C], req *apigw.Request, cred Credential, verifiedBy string) (time.Duration, error) {
	cur, graceEnd, err := h.secrets.CurrentAndGraceEnd(ctx)
	if err != nil {
		return 0, err
	}
	current := cred.TTL // AWSCURRENT verified the request: its rules are cred's
	if cur.VersionID != verifiedBy {
		current = su.SingleUse(req, cur.Config).TTL
	}
	return keepSingleUse(req.Received, cred.TTL, current, graceEnd), nil
}

// keepSingleUse is the lifetime of a single-use record made at received for a
// credential that the version which verified it keeps usable for verified,
// and AWSCURRENT's rules for current: the longest of these, an hour, and the
// time until AWSPREVIOUS stops being usable (previousUntil), after which no
// version but AWSCURRENT verifies anything, with a minute's margin as the
// tolerances have (the record's expiry is kept in whole seconds, and clocks
// differ).
func keepSingleUse(received time.Time, verified, current time.Duration, previousUntil time.Time) time.Duration {
	return max(verified, current, time.Hour, previousUntil.Sub(received)+time.Minute)
}

// enrich produces the message data, trying the version that authenticated
// the request first (prefer), then the others, then — through the cache — a
// fresh read of the secret (a rotated decryption key): only then is the event
// unprocessable.
func (h *Handler[C]) enrich(ctx context.Context, ev *Event, stored jsonx.Value, prefer string) (json.RawMessage, error) {
	e, ok := any(h.p).(Enricher[C])
	if !ok {
		return ev.Data, nil
	}
	var data json.RawMessage
	_, _, err := h.secrets.Try(ctx, prefer, func(v secrets.Version[C], _ []secrets.Version[C]) error {
		d, err := e.Enrich(ev, stored, v.Config)
		data = d
		return err
	})
	return data, err
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

// authenticate checks the request against the usable secret versions (the
// cache re-reads the secret once when none matches, so a rotation is picked
// up before the cache expires). The network policy is always AWSCURRENT's. A
// route error is the answer instead, once AWSCURRENT is read (a secret that is
// not configured is answered as such first); AWSPREVIOUS is not needed for it.
func (h *Handler[C]) authenticate(ctx context.Context, req *apigw.Request, routeErr error) (secrets.Version[C], result, bool) {
	var none secrets.Version[C]
	if routeErr != nil {
		if _, err := h.secrets.Current(ctx); err != nil {
			return none, secretFailure(err), false
		}
		return none, h.authFailure(routeErr), false
	}
	sc, checksSource := any(h.p).(SourceChecker[C])
	v, versions, authErr := h.secrets.Try(ctx, "", func(v secrets.Version[C], all []secrets.Version[C]) error {
		if checksSource {
			if err := sc.CheckSource(req, all[0].Config); err != nil {
				return err
			}
		}
		return h.p.Authenticate(req, v.Config)
	})
	switch {
	case authErr == nil:
		if v.Previous() {
			h.opt.Metrics.PreviousSecretVersion(h.p.Name())
			h.log.LogAttrs(ctx, slog.LevelWarn, "verified with the previous secret version",
				slog.String("versionId", v.VersionID), slog.String("currentCreated", versions[0].Created.UTC().Format(time.RFC3339)))
		}
		return v, result{}, true
	case versions == nil: // the secret could not be read
		return none, secretFailure(authErr), false
	}
	return none, h.authFailure(authErr), false
}

// authFailure answers a request that did not authenticate: the provider's own
// *Error, 403 for a source outside the allow-list, else 401.
func (h *Handler[C]) authFailure(authErr error) result {
	var pe *Error
	if errors.As(authErr, &pe) {
		return reject(pe)
	}
	if errors.Is(authErr, verify.ErrSourceNotAllowed) {
		return reject(&Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "source address is not allowed", Err: authErr})
	}
	return reject(&Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "request is not authentic", Err: authErr})
}

func secretFailure(err error) result {
	if errors.Is(err, secrets.ErrNotConfigured) {
		return failure(http.StatusInternalServerError, CodeConfiguration, "receiver is not configured; retry later", err)
	}
	return failure(http.StatusServiceUnavailable, CodeSecretUnavailable, "receiver is temporarily unavailable; retry later", err)
}

func with(base, r result) result {
	r.eventType, r.eventID, r.verifiedBy = base.eventType, base.eventID, base.verifiedBy
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

// EventTime is the time of an event whose body says t (zero when it says
// none) and that was received at received: t, unless it is zero or falls,
// in UTC, outside the years 0000 to 9999 that RFC 3339 can write (a body's
// "9999-12-31T23:30:00-01:00" is in year 10000 in UTC): then received.
func EventTime(t, received time.Time) time.Time {
	if y := t.UTC().Year(); t.IsZero() || y < 0 || y > 9999 {
		return received
	}
	return t
}
