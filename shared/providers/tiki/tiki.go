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
	"strings"
	"time"

	"webhooks/shared/apigw"
	"webhooks/shared/pan"
	"webhooks/shared/pipeline"
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

var _ pipeline.Provider[Secret] = (*Provider)(nil)

// Name implements pipeline.Provider.
func (*Provider) Name() string { return Name }

// ParseSecret implements pipeline.Provider. At least one kind must have a key.
func (*Provider) ParseSecret(raw []byte) (Secret, error) {
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

// Authenticate implements pipeline.Provider: HMAC-SHA1 of the exact body bytes
// with the kind's key, compared in constant time.
func (*Provider) Authenticate(req *apigw.Request, s Secret) error {
	kind := req.PathParams["kind"]
	if !validKind(kind) {
		return pipeline.NotFound("unknown Tiki webhook kind; expected order, stock or aftersale")
	}
	key := s.forKind(kind)
	if key == "" {
		return fmt.Errorf("kind %s: %w", kind, verify.ErrNotConfigured)
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

func validKind(k string) bool { return k == KindOrder || k == KindStock || k == KindAftersale }

// Decode implements pipeline.Provider.
func (*Provider) Decode(req *apigw.Request, _ Secret) (*pipeline.Event, error) {
	kind := req.PathParams["kind"]
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(req.Body, &env); err != nil {
		return nil, pipeline.Malformed(pipeline.CodeMalformedJSON, "body is not a Tiki webhook envelope")
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil, pipeline.Malformed(pipeline.CodeMissingField, `field "data" is required`)
	}
	f, err := parseFields(env.Data)
	if err != nil {
		return nil, err
	}
	date := f.optString("date")
	var ev pipeline.Event
	switch kind {
	case KindOrder:
		code := f.reqString("order_code")
		state := f.reqString("main_state")
		sub := f.optString("main_substate")
		f.optString("ref_code")
		f.optString("reason")
		f.optString("reason_code")
		ev = pipeline.Event{Type: TypeOrder, Subject: code, Key: join(kind, code, state, sub, date)}
	case KindStock:
		sku := f.reqString("sku")
		wh := f.reqString("warehouse")
		qty := f.reqNumber("qty_salable")
		f.optString("seller_product_code")
		ev = pipeline.Event{Type: TypeStock, Subject: wh + "/" + sku, Key: join(kind, wh, sku, qty, date)}
	case KindAftersale:
		code := f.reqString("order_code")
		status := f.reqString("status")
		ref := f.optString("ref_code")
		typ := f.optString("type")
		ev = pipeline.Event{Type: TypeAftersale, Subject: code, Key: join(kind, code, ref, typ, status, date)}
	default:
		return nil, pipeline.NotFound("unknown Tiki webhook kind")
	}
	if f.err != nil {
		return nil, f.err
	}
	if t, err := time.Parse(time.RFC3339, date); err == nil {
		ev.Time = t
	}
	data, err := Redactor.Redact(env.Data)
	if err != nil {
		return nil, pipeline.Malformed(pipeline.CodeMalformedJSON, "body is not well-formed JSON")
	}
	ev.Data = data
	return &ev, nil
}

// Redactor masks card numbers in Tiki's data (the rule of package pan) before
// anything is stored: in free text (a failed delivery's reason, a
// cancellation's extra_info) and in undocumented fields. The documented
// identifier, state, date and quantity fields are kept as sent: they are
// Tiki's ids and states, which events, keys and message groups are built from
// (a 13-digit SKU passes the Luhn check one time in ten, like the example
// 1377286379376 in Tiki's documentation).
var Redactor = pan.Policy{Keep: map[string]bool{
	"date": true, "ref_code": true, "order_code": true, "main_state": true, "main_substate": true, "reason_code": true,
	"sku": true, "warehouse": true, "qty_salable": true, "seller_product_code": true, "partner_id": true,
	"status": true, "type": true,
}}

// join builds a de-duplication key from parts; the separator cannot appear
// ambiguously because each part is length-prefixed.
func join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%d:%s|", len(p), p)
	}
	return b.String()
}

// fields reads typed fields of the data object, keeping the first error.
type fields struct {
	m   map[string]json.RawMessage
	err error
}

func parseFields(data json.RawMessage) (*fields, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, pipeline.Malformed(pipeline.CodeInvalidField, `field "data" must be a JSON object`)
	}
	return &fields{m: m}, nil
}

func (f *fields) fail(code, format string, args ...any) {
	if f.err == nil {
		f.err = pipeline.Malformed(code, format, args...)
	}
}

func (f *fields) str(name string, required bool) string {
	raw, ok := f.m[name]
	if !ok || string(raw) == "null" {
		if required {
			f.fail(pipeline.CodeMissingField, "field data.%s is required", name)
		}
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail(pipeline.CodeInvalidField, "field data.%s must be a string", name)
		return ""
	}
	if required && strings.TrimSpace(s) == "" {
		f.fail(pipeline.CodeMissingField, "field data.%s must not be empty", name)
	}
	return s
}

func (f *fields) reqString(name string) string { return f.str(name, true) }
func (f *fields) optString(name string) string { return f.str(name, false) }

func (f *fields) reqNumber(name string) string {
	raw, ok := f.m[name]
	if !ok || string(raw) == "null" {
		f.fail(pipeline.CodeMissingField, "field data.%s is required", name)
		return ""
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil || len(raw) == 0 || raw[0] == '"' {
		f.fail(pipeline.CodeInvalidField, "field data.%s must be a number", name)
		return ""
	}
	return n.String()
}
