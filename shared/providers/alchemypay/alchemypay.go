// Package alchemypay receives Alchemy Pay crypto-card order webhooks: one event,
// an order's status change (card creation or recharge), pushed to
// /webhooks/alchemypay/{token}.
//
// Alchemy Pay documents no authentication for these webhooks (its staff register
// the URL). The receiver requires an unguessable token in the URL, compared in
// constant time, and optionally a source-IP allow-list.
//
// The body carries the full card number (cardNumber). It is masked to the first
// 6 and last 4 digits in the event's data before anything is stored, queued or
// logged, and card numbers written inside other free-text fields are masked too
// (see package pan and Redactor).
package alchemypay

import (
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
const Name = "alchemypay"

// TypeCardOrder is the type of every Alchemy Pay card-order event.
const TypeCardOrder = "alchemypay.card_order.status_changed"

// TokenParam is the route's path parameter holding the URL token.
const TokenParam = "token"

// Fields of the webhook body, all documented as strings.
var documented = []string{
	"orderNo", "email", "cardNumber", "cardId", "cryptoAddress", "network", "orderType", "cardType",
	"orderAmount", "paymentAmount", "cryptoCurrency", "applyFee", "rechargeFee", "voucherCode",
	"rechargeMarkup", "deliveryFee", "cardAmount", "cardCurrency", "currencyExchangeRate",
	"cryptoCurrencyExchangeRate", "orderTime", "failReason", "status",
}

// Redactor is applied to every body before anything is stored, queued or
// logged: every 13–19-digit Luhn-valid run, whatever its shape (strings,
// numbers, keys; any separators; touching letters), and every value of a field
// named like a card number, is masked to its first 6 and last 4 digits. Only
// the documented top-level identifiers orderNo and cardId are kept as sent:
// they are the provider's ids, and a random 19-digit id passes the Luhn check
// one time in ten.
//
// orderTime, documented as "2024-08-09 15:11:09", is kept as sent when it is
// a valid time in that layout: its 14 digits pass the Luhn check about one
// time in ten, and a time is not a card number — masking it would corrupt the
// order's time. Any other value under that name is redacted.
var Redactor = pan.Policy{
	Keep:   map[string]bool{"orderNo": true, "cardId": true},
	KeepIf: map[string]func(string) bool{"orderTime": IsOrderTime},
}

// OrderTimeLayout is the layout Alchemy Pay documents for orderTime.
const OrderTimeLayout = "2006-01-02 15:04:05"

// IsOrderTime reports whether s is a valid time written exactly in
// OrderTimeLayout.
func IsOrderTime(s string) bool {
	if len(s) != len(OrderTimeLayout) {
		return false
	}
	_, err := time.Parse(OrderTimeLayout, s)
	return err == nil
}

// Secret is one version of the Alchemy Pay secret: a URL token and an
// optional allow-list, the scheme shared with other token-addressed providers.
type Secret = verify.TokenAuth

// Provider implements pipeline.Provider for Alchemy Pay.
type Provider struct{}

// New returns the Alchemy Pay provider.
func New() *Provider { return &Provider{} }

var (
	_ pipeline.Provider[Secret]      = (*Provider)(nil)
	_ pipeline.SourceChecker[Secret] = (*Provider)(nil)
)

// Name implements pipeline.Provider.
func (*Provider) Name() string { return Name }

// IsEventType implements pipeline.EventTyper: the contract's event types.
func (*Provider) IsEventType(t string) bool { return slices.Contains(Contract.EventTypes, t) }

// SecretFields are the fields an Alchemy Pay secret may have (besides
// secrets.GraceField).
var SecretFields = []string{"urlToken", "allowedIps"}

// ParseSecret implements pipeline.Provider: {"urlToken": "...", "allowedIps": [...]}
// with a non-empty urlToken; allowedIps is optional; any other field (or one
// of these in another case) is an error.
func (*Provider) ParseSecret(raw []byte) (Secret, error) {
	if err := secrets.CheckFields(raw, SecretFields...); err != nil {
		return Secret{}, fmt.Errorf("alchemypay %w", err)
	}
	s, err := verify.ParseTokenAuth(raw)
	if err != nil {
		return Secret{}, fmt.Errorf("alchemypay %w", err)
	}
	return s, nil
}

// CheckSource implements pipeline.SourceChecker: the source IP against the
// allow-list of the secret (the pipeline passes AWSCURRENT's).
func (*Provider) CheckSource(req *apigw.Request, s Secret) error {
	return s.CheckSource(req.SourceIP)
}

// Authenticate implements pipeline.Provider: the URL token in constant time.
func (*Provider) Authenticate(req *apigw.Request, s Secret) error {
	return s.CheckToken(req.PathParams[TokenParam])
}

// Classify implements pipeline.Provider. orderNo and status are required;
// every documented field, where present and not null, must be a string. The
// whole body is stored, redacted (Redactor).
func (*Provider) Classify(_ *apigw.Request, sent jsonx.Value, _ Secret) (pipeline.Redaction, error) {
	f := pipeline.FieldsOf(sent, "")
	for _, name := range documented {
		f.OptString(name)
	}
	for _, name := range []string{"orderNo", "status"} {
		if v := f.Get(name); v.Kind() != jsonx.String || strings.TrimSpace(v.Text()) == "" {
			f.Fail(pipeline.CodeMissingField, "field %s is required", name)
		}
	}
	if err := f.Err(); err != nil {
		return pipeline.Redaction{}, err
	}
	return pipeline.Redaction{Policy: Redactor, Data: sent}, nil
}

// Decode implements pipeline.Provider. The event's key is the order, its
// type and its status, so the ~30 deliveries of one status over 25 hours are
// one event and a new status is a new event. Key and subject are read from
// the redacted form: the event id is a digest stored beside the data, and
// must not let anyone recover a digit the data hides.
func (*Provider) Decode(_ *apigw.Request, body pipeline.Body, _ Secret) (*pipeline.Event, error) {
	root := body.Stored
	orderNo := root.Get("orderNo").Text()
	// An order's status is a state of the order (pipeline.Event.Entity): the
	// body has no event id or time, and a status can come back (REFUNDING,
	// then SUCCESS again): each new status is an event, the ~30 deliveries of
	// the latest one over 25 hours are one.
	return &pipeline.Event{
		Type:    TypeCardOrder,
		Subject: orderNo,
		Entity:  pipeline.Key(orderNo, root.Get("orderType").Text()),
		Key:     pipeline.Key(root.Get("status").Text()),
	}, nil
}
