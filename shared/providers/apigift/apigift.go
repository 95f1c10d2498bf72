// Package apigift receives APIGift marketplace webhooks on
// /webhooks/apigift/{token} and /webhooks/apigift/{token}/{event}.
//
// APIGift documents no webhook authentication, so a delivery is authentic only
// when it presents secrets the operator configured: the unguessable URL token
// and, when the request carries one, the "secret-key" header (the account's API
// secret key), both compared in constant time; an optional source-IP allow-list
// (CIDRs, answered 403) is checked first.
//
// The bodies carry no event type: it comes from the {event} slug, or on the
// route without one it is recognised from the body's fields (see Classify).
// Inventory Item Delivered carries the delivered goods as
// encryptedVirtualCollections (base64 of AES-CBC, key = the secretKey's bytes,
// IV "OFRna73mXaze01xY", PKCS#7, UTF-8). Only the ciphertext is ever stored; the
// plaintext exists in memory long enough to build the queue message. Ciphertext
// that does not decrypt is quarantined (stored, not queued, re-processable).
//
// # De-duplication keys
//
// APIGift bodies carry neither an event id nor a timestamp, so an event's key is
// built from what identifies it:
//
//   - inventory_item.delivered: takeoutInventoryId (one takeout, one delivery).
//   - inventory_item.refunded: inventoryId (an item is refunded once).
//   - the deprecated deposit.status_changed: the whole body in canonical form
//     (sorted keys, values exactly as sent), so the same content re-serialised
//     differently is still one event.
//
// Invoice, product, ticket and sell-review events are states of an entity
// (pipeline.Event.Entity) and carry no id or time: such an event is a
// duplicate only when it equals the entity's latest recorded state, so a
// product that goes Available → Unavailable → Available yields three events,
// and an immediate redelivery of the last one yields none.
//
//   - order_invoice.status_changed: entity orderId; state status and price.
//   - product.status_changed: entity id; state status and price.
//   - support_ticket.updated: entity supportTicketId; state newReply.replyId
//     (when there is a reply) and the underMediationChanged and closed flags.
//   - sell_review_request.created: entity sourceOrderNumber (else the whole
//     body); state the whole body in canonical form.
//
// The one ambiguity left: a retry of an older state that arrives after a newer
// one (A, then B, then A's late retry) cannot be told from a genuine return to
// A, and is queued as a new event. A consumer that must never step back to a
// stale state has no time in these bodies to compare; it can only treat each
// event as "the provider says the entity is in this state".
package apigift

import (
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pan"
	"webhooks/shared/pipeline"
	"webhooks/shared/secrets"
	"webhooks/shared/verify"
)

// Name is the provider's route segment and CloudEvents source suffix.
const Name = "apigift"

// SecretKeyHeader is the header carrying the account's API secret key, when sent.
const SecretKeyHeader = "secret-key"

// Event types.
const (
	TypeSellReviewRequestCreated = "apigift.sell_review_request.created"
	TypeSupportTicketUpdated     = "apigift.support_ticket.updated"
	TypeOrderInvoiceStatus       = "apigift.order_invoice.status_changed"
	TypeProductStatus            = "apigift.product.status_changed"
	TypeInventoryItemDelivered   = "apigift.inventory_item.delivered"
	TypeInventoryItemRefunded    = "apigift.inventory_item.refunded"
	TypeDepositStatus            = "apigift.deposit.status_changed" // deprecated
)

// Slugs maps the {event} route parameter to the event type.
var Slugs = map[string]string{
	"sell-review-request-created":  TypeSellReviewRequestCreated,
	"support-ticket-updated":       TypeSupportTicketUpdated,
	"order-invoice-status-changed": TypeOrderInvoiceStatus,
	"product-status-changed":       TypeProductStatus,
	"inventory-item-delivered":     TypeInventoryItemDelivered,
	"inventory-item-refunded":      TypeInventoryItemRefunded,
	"deposit-status-changed":       TypeDepositStatus,
}

// Field names used by the transform.
const (
	fieldCiphertext = "encryptedVirtualCollections"
	fieldPlaintext  = "virtualCollections"
)

// Secret is one version of the APIGift secret:
// {"secretKey": "...", "urlToken": "...", "allowedIps": ["203.0.113.0/24"]}.
type Secret struct {
	verify.TokenAuth // urlToken and allowedIps, as for Alchemy Pay
	SecretKey        string
	block            cipher.Block
}

// String keeps the secret's values out of any log or error that formats it.
func (s Secret) String() string {
	return fmt.Sprintf("apigift.Secret{secretKey: [%d bytes redacted], urlToken: [redacted], allowedIps: %d}", len(s.SecretKey), len(s.AllowedIPs))
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue is String, for slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Provider implements pipeline.Provider for APIGift.
type Provider struct{}

// New returns the APIGift provider.
func New() *Provider { return &Provider{} }

var (
	_ pipeline.Provider[Secret]      = (*Provider)(nil)
	_ pipeline.SourceChecker[Secret] = (*Provider)(nil)
	_ pipeline.Enricher[Secret]      = (*Provider)(nil)
	_ pipeline.Router                = (*Provider)(nil)
)

// Name implements pipeline.Provider.
func (*Provider) Name() string { return Name }

// IsEventType implements pipeline.EventTyper: the contract's event types.
func (*Provider) IsEventType(t string) bool { return slices.Contains(Contract.EventTypes, t) }

// SecretFields are the fields an APIGift secret may have (besides
// secrets.GraceField).
var SecretFields = []string{"secretKey", "urlToken", "allowedIps"}

// ParseSecret implements pipeline.Provider. secretKey (16, 24 or 32 bytes, used
// as given) and urlToken are required; allowedIps is optional; any other field
// (or one of these in another case) is an error. Errors never contain the
// secret's values.
func (*Provider) ParseSecret(raw []byte) (Secret, error) {
	if err := secrets.CheckFields(raw, SecretFields...); err != nil {
		return Secret{}, fmt.Errorf("apigift %w", err)
	}
	var f struct {
		SecretKey *string `json:"secretKey"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return Secret{}, errors.New(`apigift secret must be a JSON object {"secretKey": "...", "urlToken": "...", "allowedIps": [...]} with string values`)
	}
	if f.SecretKey == nil || *f.SecretKey == "" {
		return Secret{}, errors.New(`apigift secret has no "secretKey"`)
	}
	auth, err := verify.ParseTokenAuth(raw)
	if err != nil {
		return Secret{}, fmt.Errorf("apigift %w", err)
	}
	s := Secret{TokenAuth: auth, SecretKey: *f.SecretKey}
	if s.block, err = newCipher([]byte(s.SecretKey)); err != nil {
		return Secret{}, fmt.Errorf(`apigift secret "secretKey": %w`, err)
	}
	return s, nil
}

// CheckSource implements pipeline.SourceChecker: the source IP against the
// allow-list of the secret (the pipeline passes AWSCURRENT's).
func (*Provider) CheckSource(req *apigw.Request, s Secret) error {
	return s.TokenAuth.CheckSource(req.SourceIP)
}

// Authenticate implements pipeline.Provider. The URL token and, when present,
// the secret-key header are both compared in constant time, and one
// undifferentiated error is returned whichever did not match. (An authentic
// request naming an unknown {event} is answered 404: see Route.)
func (*Provider) Authenticate(req *apigw.Request, s Secret) error {
	if s.URLToken == "" || s.SecretKey == "" {
		return verify.ErrNotConfigured
	}
	err := s.CheckToken(req.PathParams["token"])
	if hdr, sent := req.Headers[SecretKeyHeader]; sent {
		// Compared whatever the token's result, so the time taken does not say
		// which of the two failed.
		if !verify.EqualSecret(hdr, s.SecretKey) && err == nil {
			err = verify.ErrInvalidCredential
		}
	}
	return err
}

// Route implements pipeline.Router: the {event} slug names the event type; a
// route without one has its type recognised from the body (Classify). An
// unknown slug is answered 404 to an authentic request.
func (*Provider) Route(req *apigw.Request) (pipeline.Route, error) {
	slug := req.PathParams["event"]
	if slug == "" {
		return pipeline.Route{}, nil
	}
	typ, known := Slugs[slug]
	if !known {
		return pipeline.Route{NotFound: pipeline.NotFound("unknown APIGift event; expected one of %s", strings.Join(slugList(), ", "))}, nil
	}
	return pipeline.Route{Variant: typ}, nil
}

// Redactors mask card numbers in what APIGift sends (the rule of package pan),
// one policy per event type, before anything is stored. Only the scalar
// fields that form the event's key, entity or message group are kept as sent
// — APIGift's ids (masked, two ids sharing their first 6 and last 4 digits
// would be taken for one) and the status and price an invoice's or product's
// state is made of (a price with a long decimal expansion must not merge
// with another) — and, for a delivery, the ciphertext of the goods, which
// must reach decryption byte for byte (see Decode). Everything else — source,
// deliveryKey, productId, entryPrice, free text (requestDescription, a
// ticket's reply), undocumented fields, and the whole of a deprecated deposit
// — is redacted like free text.
var Redactors = map[string]pan.Policy{
	TypeSellReviewRequestCreated: {Keep: map[string]bool{"sourceOrderNumber": true}},
	TypeSupportTicketUpdated:     {Keep: map[string]bool{"supportTicketId": true}},
	TypeOrderInvoiceStatus:       {Keep: map[string]bool{"orderId": true, "status": true, "price": true}},
	TypeProductStatus:            {Keep: map[string]bool{"id": true, "status": true, "price": true}},
	TypeInventoryItemDelivered:   {Keep: map[string]bool{"inventoryId": true, "takeoutInventoryId": true}}, // and the ciphertext: see Decode
	TypeInventoryItemRefunded:    {Keep: map[string]bool{"inventoryId": true}},
	TypeDepositStatus:            {},
}

// Classify implements pipeline.Provider: the type comes from the route
// (req.Variant) or, on the route without a slug, from the body's field names
// (TypeOf: redaction never changes a name it looks for); the fields the type
// requires are checked on the body as sent (a number masked into a string
// must still be refused where a string belongs, and accepted where a number
// does); the whole body is stored, redacted with the type's policy
// (Redactors).
//
// A delivery's ciphertext is kept as sent when it is what it says: base64 of
// AES blocks that decrypt, with valid padding, under the secret version that
// authenticated the request. Anything else under that name (a card number
// sent as "ciphertext", base64 of something else) is redacted like free text;
// the delivery is then quarantined as not decrypting, as it would be anyway.
func (*Provider) Classify(req *apigw.Request, sent jsonx.Value, cfg Secret) (pipeline.Redaction, error) {
	typ := req.Variant
	if typ == "" {
		var err error
		if typ, err = TypeOf(sent); err != nil {
			return pipeline.Redaction{}, err
		}
	}
	policy, ok := Redactors[typ]
	if !ok {
		return pipeline.Redaction{}, pipeline.NotFound("unknown APIGift event")
	}
	if _, err := describe(typ, sent); err != nil {
		return pipeline.Redaction{}, err
	}
	if typ == TypeInventoryItemDelivered {
		policy.KeepIf = map[string]func(string) bool{fieldCiphertext: func(ct string) bool { return decrypts(cfg.block, ct) }}
	}
	return pipeline.Redaction{Type: typ, Policy: policy, Data: sent}, nil
}

// Decode implements pipeline.Provider: subject and de-duplication key are
// read from the redacted form, what is stored.
func (*Provider) Decode(_ *apigw.Request, body pipeline.Body, _ Secret) (*pipeline.Event, error) {
	// Checked as sent by Classify; here only what redaction changed (a
	// number masked into a string) could be refused, and none of it is read.
	ev, _ := describe(body.Type, body.Stored)
	if ev == nil {
		return nil, pipeline.NotFound("unknown APIGift event")
	}
	return ev, nil
}

// Enrich implements pipeline.Enricher: for Inventory Item Delivered it decrypts
// encryptedVirtualCollections into data.virtualCollections (JSON when the
// plaintext is JSON, else a string) and drops the ciphertext. The result goes
// to the queue only. Other events are queued as stored.
func (*Provider) Enrich(ev *pipeline.Event, data jsonx.Value, s Secret) (json.RawMessage, error) {
	if ev.Type != TypeInventoryItemDelivered {
		return ev.Data, nil
	}
	if s.block == nil {
		return nil, verify.ErrNotConfigured
	}
	return decryptData(data, s.block)
}

func slugList() []string {
	return []string{
		"sell-review-request-created", "support-ticket-updated", "order-invoice-status-changed",
		"product-status-changed", "inventory-item-delivered", "inventory-item-refunded",
		"deposit-status-changed",
	}
}
