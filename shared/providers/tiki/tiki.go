// Package tiki receives Tiki TikiNOW fulfillment webhooks: order status, stock
// and aftersale (FD/CR) changes, each kind registered with its own URL
// (/webhooks/tiki/{kind}) and its own 32-character secret. Every delivery is
// signed with "x-signature: sha1=<hex HMAC-SHA1(secret, raw body)>".
package tiki

import (
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pan"
	"webhooks/shared/pipeline"
	"webhooks/shared/secrets"
	"webhooks/shared/verify"
)

// Name is the provider's route segment and CloudEvents source suffix.
const Name = "tiki"

// Kinds of Tiki webhook, the {kind} route parameter.
const (
	KindOrder     = "order"
	KindStock     = "stock"
	KindAftersale = "aftersale"
)

// Event types.
const (
	TypeOrder     = "tiki.order.status_changed"
	TypeStock     = "tiki.stock.changed"
	TypeAftersale = "tiki.aftersale.status_changed"
)

// SignatureHeader carries the signature; SignaturePrefix starts its value.
const (
	SignatureHeader = "x-signature"
	SignaturePrefix = "sha1="
)

// Secret is one version of the Tiki secret: one key per kind. A kind without a
// key is not accepted (401).
type Secret struct {
	Order     string `json:"order"`
	Stock     string `json:"stock"`
	Aftersale string `json:"aftersale"`
}

func (s Secret) forKind(kind string) string {
	switch kind {
	case KindOrder:
		return s.Order
	case KindStock:
		return s.Stock
	case KindAftersale:
		return s.Aftersale
	}
	return ""
}

// Provider implements pipeline.Provider for Tiki.
type Provider struct{}

// New returns the Tiki provider.
func New() *Provider { return &Provider{} }

var (
	_ pipeline.Provider[Secret] = (*Provider)(nil)
	_ pipeline.Router           = (*Provider)(nil)
)

// Name implements pipeline.Provider.
func (*Provider) Name() string { return Name }

// IsEventType implements pipeline.EventTyper: the contract's event types.
func (*Provider) IsEventType(t string) bool { return slices.Contains(Contract.EventTypes, t) }

// SecretFields are the fields a Tiki secret may have (besides
// secrets.GraceField): one key per kind.
var SecretFields = []string{KindOrder, KindStock, KindAftersale}

// ParseSecret implements pipeline.Provider. At least one kind must have a key;
// a field that is not a kind (or a kind in another case) is an error.
func (*Provider) ParseSecret(raw []byte) (Secret, error) {
	if err := secrets.CheckFields(raw, SecretFields...); err != nil {
		return Secret{}, fmt.Errorf("tiki %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Secret{}, errors.New(`tiki secret must be a JSON object {"order": "...", "stock": "...", "aftersale": "..."}`)
	}
	var s Secret
	for kind, dst := range map[string]*string{KindOrder: &s.Order, KindStock: &s.Stock, KindAftersale: &s.Aftersale} {
		v, ok := fields[kind]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return Secret{}, fmt.Errorf("tiki secret field %q must be a string", kind)
		}
		*dst = strings.TrimSpace(*dst)
	}
	if s.Order == "" && s.Stock == "" && s.Aftersale == "" {
		return Secret{}, errors.New(`tiki secret has no key for any kind (set "order", "stock" and/or "aftersale")`)
	}
	return s, nil
}

// Route implements pipeline.Router: the {kind} parameter, order, stock or
// aftersale; any other is answered 404 (no key could authenticate it).
func (*Provider) Route(req *apigw.Request) (pipeline.Route, error) {
	kind := req.PathParams["kind"]
	if kind != KindOrder && kind != KindStock && kind != KindAftersale {
		return pipeline.Route{}, pipeline.NotFound("unknown Tiki webhook kind; expected order, stock or aftersale")
	}
	return pipeline.Route{Variant: kind}, nil
}

// Authenticate implements pipeline.Provider: HMAC-SHA1 of the exact body bytes
// with the key of the request's kind (req.Variant, see Route), compared in
// constant time.
func (*Provider) Authenticate(req *apigw.Request, s Secret) error {
	key := s.forKind(req.Variant)
	if key == "" {
		return fmt.Errorf("kind %s: %w", req.Variant, verify.ErrNotConfigured)
	}
	sig := strings.TrimSpace(req.Headers.Get(SignatureHeader))
	if sig == "" {
		return verify.ErrMissingCredential
	}
	if len(sig) < len(SignaturePrefix) || !strings.EqualFold(sig[:len(SignaturePrefix)], SignaturePrefix) {
		return fmt.Errorf("%w: x-signature must start with sha1=", verify.ErrMalformedCredential)
	}
	return verify.CheckHMACHex(sha1.New, []byte(key), req.Body, sig[len(SignaturePrefix):])
}

// Sign returns the x-signature header value Tiki sends for body under secret.
func Sign(secret string, body []byte) string {
	return SignaturePrefix + verify.HMACHex(sha1.New, []byte(secret), body)
}

// Classify implements pipeline.Provider. The envelope's data (its member
// "data", matched in any case as Tiki's envelope always was) must be an
// object; the fields of the request's kind are checked as sent; the data is
// what is stored, redacted with the kind's policy (Redactors).
func (*Provider) Classify(req *apigw.Request, sent jsonx.Value, _ Secret) (pipeline.Redaction, error) {
	data := envelopeData(sent)
	if data.IsNull() {
		return pipeline.Redaction{}, pipeline.Malformed(pipeline.CodeMissingField, `field "data" is required`)
	}
	if data.Kind() != jsonx.Object {
		return pipeline.Redaction{}, pipeline.Malformed(pipeline.CodeInvalidField, `field "data" must be a JSON object`)
	}
	kind := req.Variant
	policy, ok := Redactors[kind]
	if !ok {
		return pipeline.Redaction{}, pipeline.NotFound("unknown Tiki webhook kind")
	}
	f := pipeline.FieldsOf(data, "data.")
	f.OptString("date")
	switch kind {
	case KindOrder:
		f.ReqID("order_code")
		f.ReqID("main_state")
		f.OptStrings("main_substate", "ref_code", "reason", "reason_code")
	case KindStock:
		f.ReqID("sku")
		f.ReqID("warehouse")
		f.ReqNumber("qty_salable")
		f.OptStrings("seller_product_code")
	case KindAftersale:
		f.ReqID("order_code")
		f.ReqID("status")
		f.OptStrings("ref_code", "type")
	}
	if err := f.Err(); err != nil {
		return pipeline.Redaction{}, err
	}
	return pipeline.Redaction{Policy: policy, Data: data}, nil
}

// Decode implements pipeline.Provider: the event's entity and state are read
// from the stored (redacted) data.
func (*Provider) Decode(req *apigw.Request, body pipeline.Body, _ Secret) (*pipeline.Event, error) {
	r := body.Stored
	// text is a member of the stored form: as sent where the kind keeps it,
	// redacted elsewhere (a masked number reads as its masked string).
	text := func(name string) string {
		switch v := r.Get(name); v.Kind() {
		case jsonx.String:
			return v.Text()
		case jsonx.Number:
			return string(v.Raw())
		}
		return "" // absent or null
	}
	// Each event is a state of an entity (pipeline.Event.Entity): Tiki sends
	// no event id, and its date has whole seconds and is optional, so a state
	// can come back (stock 60 → 59 → 60 within a second): each new state is
	// an event, only a redelivery of the entity's latest state is a duplicate.
	date := text("date")
	var ev pipeline.Event
	switch req.Variant {
	case KindOrder:
		code := text("order_code")
		ev = pipeline.Event{Type: TypeOrder, Subject: code, Entity: code, Key: pipeline.Key(text("main_state"), text("main_substate"), date)}
	case KindStock:
		sku, wh := text("sku"), text("warehouse")
		ev = pipeline.Event{Type: TypeStock, Subject: wh + "/" + sku, Entity: pipeline.Key(wh, sku), Key: pipeline.Key(text("qty_salable"), date)}
	case KindAftersale:
		code := text("order_code")
		ev = pipeline.Event{Type: TypeAftersale, Subject: code, Entity: pipeline.Key(code, text("type"), text("ref_code")),
			Key: pipeline.Key(text("status"), date)}
	default:
		return nil, pipeline.NotFound("unknown Tiki webhook kind")
	}
	if t, err := time.Parse(time.RFC3339, date); err == nil {
		ev.Time = t
	}
	return &ev, nil
}

// envelopeData is the envelope's member "data". The envelope was first read
// into a Go struct, which matches a member to a field in any case ("Data",
// "DATA") and keeps the last such member: so does this.
func envelopeData(env jsonx.Value) jsonx.Value {
	var data jsonx.Value
	for k, v := range env.Members() {
		if k.IsFold("data") {
			data = v
		}
	}
	return data
}

// Redactors mask card numbers in Tiki's data (the rule of package pan), one
// policy per kind, before anything is stored. Only the scalar fields that form
// the event's entity or message group and whose masking could merge two
// entities are kept as sent: the ids, order_code, sku and warehouse (a 13-digit
// SKU passes the Luhn check one time in ten, like the example 1377286379376 in
// Tiki's documentation), and the stock level qty_salable (a number: the state
// itself). Everything else — states and substates, types, ref_code,
// reason_code, seller_product_code, partner_id, free text, undocumented
// fields — is redacted like free text (a state word holds no card number, so
// redaction leaves it as sent, and the state is read from the stored form).
// date, Tiki's documented time, is kept as sent when it is an RFC 3339 time
// (a time is not a card number); any other value under that name is redacted.
var Redactors = map[string]pan.Policy{
	KindOrder:     {Keep: map[string]bool{"order_code": true}, KeepIf: keepDate},
	KindStock:     {Keep: map[string]bool{"sku": true, "warehouse": true, "qty_salable": true}, KeepIf: keepDate},
	KindAftersale: {Keep: map[string]bool{"order_code": true}, KeepIf: keepDate},
}

var keepDate = map[string]func(string) bool{"date": IsDate}

// IsDate reports whether s is a time in Tiki's documented layout: RFC 3339
// to the second, "2022-10-26T14:22:05+07:00" or "...Z" (a fraction of a
// second, which Go's parser takes at any length, could carry a run of
// digits: it is not the documented layout).
func IsDate(s string) bool {
	if (len(s) != len("2006-01-02T15:04:05Z") || s[len(s)-1] != 'Z') && len(s) != len("2006-01-02T15:04:05+07:00") {
		return false
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
