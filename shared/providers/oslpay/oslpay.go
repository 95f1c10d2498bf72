// Package oslpay receives OSL Pay on-ramp webhooks at /webhooks/oslpay: an
// envelope {"type": "...", "data": {...}} for order status, KYC status and DeFi
// account bind/auth status changes.
//
// Authentication: the headers appId, timestamp (ms since the epoch) and
// signature (base64 RSA PKCS#1 v1.5, SHA-256 by default, over
// "appId=<appId>&timestamp=<timestamp>") verified with the merchant's OSL Pay
// public key; appId equal to the configured one; timestamp within the
// tolerance (default 5 minutes) in both directions.
//
// The signature does not cover the body, so the receiver closes the gap: a
// signed appId/timestamp pair may carry one body only — the pipeline binds it
// to the body right after the signature verifies, before the body is parsed,
// and keeps the record for twice the tolerance (see SingleUse) — and an appid
// in the body, top level or in data, must equal the configured appId.
package oslpay

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"webhooks/consumer/fieldname"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pan"
	"webhooks/shared/pipeline"
	"webhooks/shared/secrets"
	"webhooks/shared/verify"
)

// Name is the provider's route segment and CloudEvents source suffix.
const Name = "oslpay"

// OSL Pay's envelope types.
const (
	KindOrderStatus       = "order_status_change"
	KindKYCStatus         = "kyc_status_change"
	KindDefiAccountBind   = "defi_account_bind_status"
	KindDefiAccountAuth   = "defi_account_auth_status"
	maxSanitisedTypeBytes = 64
)

// Event types.
const (
	TypeOrderStatus     = "oslpay.order.status_changed"
	TypeKYCStatus       = "oslpay.kyc.status_changed"
	TypeDefiAccountBind = "oslpay.defi_account.bind_status"
	TypeDefiAccountAuth = "oslpay.defi_account.auth_status"
)

// known maps each documented envelope type to its event type and the data
// field that names the entity (the subject); that field is required.
// orderStrings are the fields of an order status change that OSL Pay
// documents as strings (besides orderId and state, which are required, and
// the secret it documents, which is dropped): one that is present and not
// null must be a string (else 400), so that consumers read them as the
// schema and the typed data say.
var orderStrings = []string{
	"merchantOrderId", "userId", "fiatCurrency", "cryptoCurrency", "fiatAmount", "cryptoAmount", "orderFee",
	"price", "payWayCode", "errorCode", "errorMessage", "completedTime", "createTime", "updateTime", "network",
	"address", "tag", "merchantUser", "txId", "networkFee", "chainArrivalTime", "actualReceivedAmount",
	"threeDsRedirectUrl", "orderCallBackUrl",
}

var known = map[string]struct{ typ, subject string }{
	KindOrderStatus:     {TypeOrderStatus, "orderId"},
	KindKYCStatus:       {TypeKYCStatus, "userId"},
	KindDefiAccountBind: {TypeDefiAccountBind, "userId"},
	KindDefiAccountAuth: {TypeDefiAccountAuth, "userId"},
}

// subjectOf is the subject field of a documented event type (Classify's
// Redaction.Type: an undocumented envelope type never maps to one, see
// EventType).
func subjectOf(typ string) (string, bool) {
	for _, k := range known {
		if k.typ == typ {
			return k.subject, true
		}
	}
	return "", false
}

// Reply codes in OSL Pay's {"code", "msg", "data", "requestTime"} shape. Only
// CodeSuccess means success to OSL Pay; every other code is a failure (OSL Pay
// retries). The field "error" carries the pipeline's stable error code.
const (
	CodeSuccess       = "00000" // 200: accepted or duplicate
	CodeServerError   = "00001" // 5xx: storage, queue or configuration failure; retry
	CodeBadRequest    = "00002" // 400, 415: malformed request
	CodeUnauthorized  = "00003" // 401, 403: not authentic, or source not allowed
	CodeNotFound      = "00004" // 404, 405: no such route or method
	CodeTooLarge      = "00005" // 413: body over the limit
	defaultTolSeconds = 300
	maxTolSeconds     = 100 * 365 * 24 * 3600
)

// Secret is one version of the OSL Pay secret.
type Secret struct {
	AppID     string
	PublicKey *rsa.PublicKey
	Hash      crypto.Hash
	Tolerance time.Duration
}

// Provider implements pipeline.Provider and pipeline.Responder for OSL Pay.
type Provider struct{}

// New returns the OSL Pay provider.
func New() *Provider { return &Provider{} }

var (
	_ pipeline.Provider[Secret]   = (*Provider)(nil)
	_ pipeline.SingleUser[Secret] = (*Provider)(nil)
	_ pipeline.Responder          = (*Provider)(nil)
)

// Name implements pipeline.Provider.
func (*Provider) Name() string { return Name }

// IsEventType implements pipeline.EventTyper: the documented types, and every
// type an undocumented envelope type becomes (EventType: "oslpay." and 1 to
// 64 of [A-Za-z0-9_-], not all underscores, or "oslpay.unknown"; a '*' where
// redaction masked a digit).
func (*Provider) IsEventType(t string) bool {
	if slices.Contains(Contract.EventTypes, t) {
		return true
	}
	rest, ok := strings.CutPrefix(t, Name+".")
	if !ok || rest == "" || len(rest) > maxSanitisedTypeBytes || strings.Trim(rest, "_") == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '*') {
			return false
		}
	}
	return true
}

// SecretFields are the fields an OSL Pay secret may have (besides
// secrets.GraceField).
var SecretFields = []string{"appId", "publicKey", "hash", "toleranceSeconds"}

// ParseSecret implements pipeline.Provider: {"appId": "...", "publicKey":
// "<PEM or base64 DER>", "hash": "SHA256", "toleranceSeconds": 300}; hash and
// toleranceSeconds are optional; any other field (or one of these in another
// case) is an error.
func (*Provider) ParseSecret(raw []byte) (Secret, error) {
	if err := secrets.CheckFields(raw, SecretFields...); err != nil {
		return Secret{}, fmt.Errorf("oslpay %w", err)
	}
	var f struct {
		AppID     *string          `json:"appId"`
		PublicKey *string          `json:"publicKey"`
		Hash      *string          `json:"hash"`
		Tolerance *json.RawMessage `json:"toleranceSeconds"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return Secret{}, errors.New(`oslpay secret must be a JSON object {"appId": "...", "publicKey": "...", "hash": "SHA256", "toleranceSeconds": 300} with string appId, publicKey and hash`)
	}
	var s Secret
	if f.AppID == nil || strings.TrimSpace(*f.AppID) == "" {
		return Secret{}, errors.New(`oslpay secret has no "appId"`)
	}
	s.AppID = strings.TrimSpace(*f.AppID)
	if f.PublicKey == nil || strings.TrimSpace(*f.PublicKey) == "" {
		return Secret{}, errors.New(`oslpay secret has no "publicKey"`)
	}
	pub, err := ParsePublicKey(*f.PublicKey)
	if err != nil {
		return Secret{}, fmt.Errorf("oslpay secret field \"publicKey\": %w", err)
	}
	s.PublicKey = pub
	hashName := ""
	if f.Hash != nil {
		hashName = *f.Hash
	}
	if s.Hash, err = ParseHash(hashName); err != nil {
		return Secret{}, fmt.Errorf("oslpay secret field \"hash\": %w", err)
	}
	tol := int64(defaultTolSeconds)
	if f.Tolerance != nil && string(*f.Tolerance) != "null" {
		var n float64
		if err := json.Unmarshal(*f.Tolerance, &n); err != nil || n != math.Trunc(n) || n < 1 || n > maxTolSeconds {
			return Secret{}, fmt.Errorf(`oslpay secret field "toleranceSeconds" must be a whole number of seconds from 1 to %d`, maxTolSeconds)
		}
		tol = int64(n)
	}
	s.Tolerance = time.Duration(tol) * time.Second
	return s, nil
}

// Authenticate implements pipeline.Provider: the signed headers (Verify). The
// body is not looked at here: it is bound to the signature first (SingleUse),
// then its appid is checked by Decode.
func (*Provider) Authenticate(req *apigw.Request, s Secret) error {
	h := req.Headers
	return Verify(h.Get(HeaderAppID), h.Get(HeaderTimestamp), h.Get(HeaderSignature), s, req.Received)
}

// SingleUse implements pipeline.SingleUser. The credential is the signed
// string: PKCS#1 v1.5 signatures are deterministic, so it identifies the
// signature whatever base64 spelling carried it. Its key is the signature's
// bytes, which only whoever holds the delivery has: the stored record keys the
// body's digest with it, so reading the table lets no one test guesses of a
// body (whose secret fields the stored data drops).
func (*Provider) SingleUse(req *apigw.Request, s Secret) pipeline.Credential {
	h := req.Headers
	sig, _ := decodeBase64(strings.TrimSpace(h.Get(HeaderSignature)))
	tol := s.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	return pipeline.Credential{
		ID:  SignedString(strings.TrimSpace(h.Get(HeaderAppID)), strings.TrimSpace(h.Get(HeaderTimestamp))),
		Key: sig,
		TTL: 2*tol + time.Minute,
	}
}

// checkBodyAppID rejects a body whose appid (any spelling of the key, at the top
// level or in data, also matched in any case) is set to anything other than appID.
func checkBodyAppID(body jsonx.Value, appID string) error {
	check := func(obj jsonx.Value) error {
		for k, v := range obj.Members() {
			if !k.IsFold("appid") || v.IsNull() {
				continue
			}
			if v.Kind() != jsonx.String {
				return fmt.Errorf("body appid is not a string: %w", verify.ErrInvalidCredential)
			}
			if got := v.Text(); got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(appID)) != 1 {
				return fmt.Errorf("body appid differs from the configured appId: %w", verify.ErrInvalidCredential)
			}
		}
		return nil
	}
	if err := check(body); err != nil {
		return err
	}
	for k, v := range body.Members() {
		if k.IsFold("data") {
			if err := check(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Classify implements pipeline.Provider. A body whose appid differs from the
// configured appId is not authentic (401). The envelope's data is what is
// stored, sanitised (see the sanitisers); its fields are checked as sent
// (sanitising may turn a number into a masked string).
func (*Provider) Classify(_ *apigw.Request, env jsonx.Value, s Secret) (pipeline.Redaction, error) {
	if err := checkBodyAppID(env, s.AppID); err != nil {
		return pipeline.Redaction{}, &pipeline.Error{Status: http.StatusUnauthorized, Code: pipeline.CodeUnauthorized, Message: "request is not authentic", Err: err}
	}
	f := pipeline.FieldsOf(env, "")
	kind := f.ReqID("type")
	if err := f.Err(); err != nil {
		return pipeline.Redaction{}, err
	}
	k, isKnown := known[kind]
	// An unknown type's data may be anything: it is recorded as it is.
	dataVal := env.Get("data")
	if isKnown {
		f.ReqObject("data")
		if err := f.Err(); err != nil {
			return pipeline.Redaction{}, err
		}
	}
	fields := pipeline.FieldsOf(dataVal, "data.")
	switch {
	case kind == KindOrderStatus:
		fields.ReqID("orderId")
		fields.ReqID("state")
		fields.OptStrings(orderStrings...)
	case isKnown:
		fields.ReqID(k.subject)
		fields.OptStrings("updateTime")
	}
	if err := fields.Err(); err != nil {
		return pipeline.Redaction{}, err
	}
	return pipeline.Redaction{Type: EventType(kind), Policy: sanitiserFor(kind, isKnown, dataVal), Data: dataVal}, nil
}

// Decode implements pipeline.Provider. Subject and key are read from the
// sanitised data, and the type is the pipeline's redaction of the one
// Classify read (an unknown envelope type may carry a card number): the
// event id is a digest stored beside them.
func (*Provider) Decode(_ *apigw.Request, body pipeline.Body, _ Secret) (*pipeline.Event, error) {
	subject, isKnown := subjectOf(body.Type)
	clean := body.Stored
	ev := &pipeline.Event{Type: body.Type}
	// str reads a field that was sent as a string, from the stored data (""
	// when it was sent as anything else: a number masked into a string is
	// still not one).
	str := func(name string) string {
		if body.Data.Get(name).Kind() != jsonx.String {
			return ""
		}
		if c := clean.Get(name); c.Kind() == jsonx.String {
			return c.Text()
		}
		return ""
	}
	switch {
	case body.Type == TypeOrderStatus:
		orderID, state, updated := str("orderId"), str("state"), str("updateTime")
		ev.Subject = orderID
		// A state of the order (pipeline.Event.Entity): the same state and
		// update time can come back (updateTime is optional, and may have
		// whole seconds), so only a redelivery of the latest is a duplicate.
		ev.Entity, ev.Key = orderID, pipeline.Key(state, updated)
		ev.Time = parseTime(updated)
	case isKnown:
		// A state of the user: the whole data is the state.
		ev.Subject = str(subject)
		ev.Entity, ev.Key = ev.Subject, canonical(clean)
		ev.Time = parseTime(str("updateTime"))
	default:
		if id := str("orderId"); strings.TrimSpace(id) != "" {
			ev.Subject = id
		} else if id := str("userId"); strings.TrimSpace(id) != "" {
			ev.Subject = id
		}
		// A state of the entity it names; without one, the data is the
		// event's identity (an identical body is a redelivery).
		ev.Entity, ev.Key = ev.Subject, pipeline.Key(ev.Type, canonical(clean))
	}
	return ev, nil
}

// canonical is the canonical text of a value (jsonx.Canonical).
func canonical(v jsonx.Value) string { return string(v.AppendCanonical(nil)) }

// EventType maps an envelope type to the event type: the four documented types
// to their names, any other to "oslpay.<type>" with characters outside
// [A-Za-z0-9_-] replaced by "_" (dots too, so an unknown type can never pose
// as a documented one) and at most 64 bytes kept.
func EventType(kind string) string {
	if k, ok := known[kind]; ok {
		return k.typ
	}
	var b strings.Builder
	for _, r := range strings.TrimSpace(kind) {
		if b.Len() >= maxSanitisedTypeBytes {
			break
		}
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	t := b.String()
	if strings.Trim(t, "_") == "" {
		t = "unknown"
	}
	return "oslpay." + t
}

// The sanitisers are applied to the envelope's data before anything is
// stored: every field named like a secret is dropped (IsSecretField), and card
// numbers are masked to first 6 + last 4 by the same rule as Alchemy Pay's.
// Only the entity id an event and its message group are keyed on is kept as
// sent, at the top of data: orderId for an order, userId for a user's status
// (masked, two entities whose long numeric ids share their first 6 and last 4
// digits would be taken for one, and the second's state lost). Every other
// field — userId on an order, merchantOrderId, free text, undocumented fields —
// is redacted like free text.
//
// OSL Pay's documented times (updateTime; an order's createTime, completedTime
// and chainArrivalTime) are kept as sent when they are a valid time
// (IsTime): a 13-digit epoch-millisecond time passes the Luhn check about one
// time in ten, and masked it would no longer be the event's time.
var (
	orderSanitiser = pan.Policy{Drop: IsSecretField, Keep: map[string]bool{"orderId": true}, KeepIf: map[string]func(string) bool{
		"updateTime": IsTime, "createTime": IsTime, "completedTime": IsTime, "chainArrivalTime": IsTime}}
	userSanitiser  = pan.Policy{Drop: IsSecretField, Keep: map[string]bool{"userId": true}, KeepIf: map[string]func(string) bool{"updateTime": IsTime}}
	plainSanitiser = pan.Policy{Drop: IsSecretField}
)

// Bounds of an epoch-millisecond time IsTime accepts. The upper one is below
// 4000000000000: every 13-digit card number (Visa's) starts with a 4, so none
// passes for a time.
var (
	minMillis = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxMillis = time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
)

// IsTime reports whether s is one of OSL Pay's times in its documented
// layout: milliseconds since the epoch, 13 ASCII digits, from 2000 to 2089.
// (The seconds and RFC 3339 forms parseTime also reads cannot hold 13 digits
// in a row: redaction leaves them as they are.)
func IsTime(s string) bool {
	if len(s) != 13 || strings.Trim(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= minMillis && n < maxMillis
}

// sanitiserFor is the sanitiser of an envelope type: an undocumented type
// keeps the id its subject is (orderId, else userId; see Decode), read from
// the data as sent.
func sanitiserFor(kind string, isKnown bool, data jsonx.Value) pan.Policy {
	switch {
	case kind == KindOrderStatus:
		return orderSanitiser
	case isKnown:
		return userSanitiser
	}
	for _, id := range []struct {
		name   string
		policy pan.Policy
	}{{"orderId", orderSanitiser}, {"userId", userSanitiser}} {
		if v := data.Get(id.name); v.Kind() == jsonx.String && strings.TrimSpace(v.Text()) != "" {
			return id.policy
		}
	}
	return plainSanitiser
}

// IsSecretField reports whether a field holds a secret that must not be stored:
// fieldname.IsSecret, the one rule the OSL Pay receiver, the consumer package
// and the schemas share. Its letters, in lower case and with every other
// character left out (separators, digits, other scripts), contain "secret",
// "password" or "privatekey": "pass_word" and "private_key" are secrets.
func IsSecretField(name string) bool { return fieldname.IsSecret(name) }

// parseTime reads an epoch time in milliseconds (13 digits) or seconds (10
// digits), or RFC 3339; anything else gives the zero time (receipt time).
func parseTime(v string) time.Time {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		switch len(v) {
		case 13:
			return time.UnixMilli(n).UTC()
		case 10:
			return time.Unix(n, 0).UTC()
		}
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t
	}
	return time.Time{}
}

// reply is OSL Pay's acknowledgement shape.
type reply struct {
	Code        string  `json:"code"`
	Msg         string  `json:"msg"`
	Data        *string `json:"data"`
	RequestTime int64   `json:"requestTime"`
	Error       string  `json:"error,omitempty"`
}

func encodeReply(r reply) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// SuccessBody implements pipeline.Responder:
// {"code":"00000","msg":"success","data":null,"requestTime":<ms>}.
func (*Provider) SuccessBody(now time.Time) []byte {
	return encodeReply(reply{Code: CodeSuccess, Msg: "success", RequestTime: now.UnixMilli()})
}

// ErrorBody implements pipeline.Responder: OSL Pay's shape with a failure code
// for the status (see the Code constants) and the stable error code in "error".
func (*Provider) ErrorBody(status int, code, message string, now time.Time) []byte {
	return encodeReply(reply{Code: ReplyCode(status), Msg: message, RequestTime: now.UnixMilli(), Error: code})
}

// ReplyCode is the OSL-shape code answered with an HTTP status.
func ReplyCode(status int) string {
	switch {
	case status < 300:
		return CodeSuccess
	case status == 401 || status == 403:
		return CodeUnauthorized
	case status == 404 || status == 405:
		return CodeNotFound
	case status == 413:
		return CodeTooLarge
	case status >= 500:
		return CodeServerError
	default:
		return CodeBadRequest
	}
}
