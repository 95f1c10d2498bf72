package apigift

import (
	"crypto/cipher"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode"

	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
)

// TypeOf recognises the event type of a body that arrived without an {event}
// slug (o: its top-level object), from fields only one event has:
//
//   - takeoutInventoryId or encryptedVirtualCollections: inventory_item.delivered
//   - supportTicketId: support_ticket.updated
//   - requestDescription or sourceOrderNumber: sell_review_request.created
//   - orderId: order_invoice.status_changed
//   - id together with status: product.status_changed
//   - inventoryId, without the delivered fields: inventory_item.refunded
//   - a field whose name starts with "deposit": deposit.status_changed (deprecated)
//
// A field counts when present, even null. A body that matches none, or more
// than one, is a 400 unknown_event: such a URL should be registered with its slug.
func TypeOf(o jsonx.Value) (string, error) {
	return classify(o)
}

func classify(o jsonx.Value) (string, error) {
	has := func(name string) bool { return o.Get(name).Exists() }
	var matched []string
	delivered := has("takeoutInventoryId") || has(fieldCiphertext)
	if delivered {
		matched = append(matched, TypeInventoryItemDelivered)
	}
	if has("supportTicketId") {
		matched = append(matched, TypeSupportTicketUpdated)
	}
	if has("requestDescription") || has("sourceOrderNumber") {
		matched = append(matched, TypeSellReviewRequestCreated)
	}
	if has("orderId") {
		matched = append(matched, TypeOrderInvoiceStatus)
	}
	if has("id") && has("status") {
		matched = append(matched, TypeProductStatus)
	}
	if has("inventoryId") && !delivered {
		matched = append(matched, TypeInventoryItemRefunded)
	}
	for k := range o.Members() {
		if lowerHasPrefix(k.Text(), "deposit") {
			matched = append(matched, TypeDepositStatus)
			break
		}
	}
	switch len(matched) {
	case 1:
		return matched[0], nil
	case 0:
		return "", pipeline.Malformed(pipeline.CodeUnknownEvent, "body matches no APIGift event; register the webhook URL with its event slug (/webhooks/apigift/{token}/{event})")
	default:
		sort.Strings(matched)
		return "", pipeline.Malformed(pipeline.CodeUnknownEvent, "body matches more than one APIGift event (%s); register the webhook URL with its event slug", strings.Join(matched, ", "))
	}
}

// lowerHasPrefix reports whether strings.ToLower(s) starts with prefix (lower
// case ASCII), without building the lower-case string.
func lowerHasPrefix(s, prefix string) bool {
	i := 0
	for _, r := range s {
		if i == len(prefix) {
			return true
		}
		if unicode.ToLower(r) != rune(prefix[i]) {
			return false
		}
		i++
	}
	return i == len(prefix)
}

// describe checks that o fits the event typ and derives subject, key and
// time. It returns the event it derived even with an error: Decode checks the
// body as sent, and derives the event from its stored form.
func describe(typ string, o jsonx.Value) (*pipeline.Event, error) {
	f := pipeline.FieldsOf(o, "")
	ev := &pipeline.Event{Type: typ}
	switch typ {
	case TypeSellReviewRequestCreated:
		f.OptString("source")
		ev.Subject = f.OptString("sourceOrderNumber")
		f.ReqString("requestDescription")
		ev.Key = canonical(o)
		ev.Entity = "body:" + ev.Key
		if strings.TrimSpace(ev.Subject) != "" {
			ev.Entity = "order:" + ev.Subject
		}
	case TypeSupportTicketUpdated:
		ev.Subject = f.ReqID("supportTicketId")
		f.OptBool("underMediationChanged")
		f.OptBool("closed")
		replyID := ""
		if r, ok := f.OptObject("newReply"); ok {
			replyID = r.ReqID("replyId")
			created := r.OptString("createAt")
			r.OptString("text")
			r.OptString("replier")
			r.OptStringArray("attachmentUrls")
			if t, err := time.Parse(time.RFC3339, created); err == nil {
				ev.Time = t
			}
		}
		ev.Entity = ev.Subject
		ev.Key = pipeline.Key(replyID, canonical(o.Get("underMediationChanged")), canonical(o.Get("closed")))
	case TypeOrderInvoiceStatus:
		ev.Subject = f.ReqID("orderId")
		status := f.ReqNumber("status")
		price := f.OptNumber("price")
		ev.Entity, ev.Key = ev.Subject, pipeline.Key(status, price)
	case TypeProductStatus:
		ev.Subject = f.ReqID("id")
		status := f.ReqNumber("status")
		price := f.OptNumber("price")
		ev.Entity, ev.Key = ev.Subject, pipeline.Key(status, price)
	case TypeInventoryItemDelivered:
		takeout := f.ReqID("takeoutInventoryId")
		ev.Subject = f.ReqID("inventoryId")
		f.OptNumber("entryPrice")
		f.ReqString(fieldCiphertext)
		f.OptString("deliveryKey")
		f.OptString("productId")
		if o.Get(fieldPlaintext).Exists() {
			f.Fail(pipeline.CodeInvalidField, "field %s is not expected in a delivery: it is produced by decrypting %s", fieldPlaintext, fieldCiphertext)
		}
		ev.Key = pipeline.Key(typ, takeout)
	case TypeInventoryItemRefunded:
		ev.Subject = f.ReqID("inventoryId")
		ev.Key = pipeline.Key(typ, ev.Subject)
	case TypeDepositStatus:
		// Deprecated and undocumented: any JSON object is acknowledged.
		ev.Deprecated = true
		ev.Key = pipeline.Key(typ, canonical(o))
	default:
		return nil, pipeline.NotFound("unknown APIGift event")
	}
	return ev, f.Err()
}

// decryptData turns the stored data of a delivery (d: its document) into the
// queued data: the fields in their order, encryptedVirtualCollections
// replaced in place by virtualCollections. Undecryptable ciphertext is a
// quarantine.
func decryptData(d jsonx.Value, block cipher.Block) (json.RawMessage, error) {
	if d.Kind() != jsonx.Object {
		return nil, pipeline.Quarantine("the stored delivery is not a JSON object", nil)
	}
	raw := d.Raw()
	out := make([]byte, 0, len(raw)+len(raw)/2)
	out = append(out, '{')
	found := false
	for k, v := range d.Members() {
		if len(out) > 1 {
			out = append(out, ',')
		}
		name := k.Text()
		if name != fieldCiphertext {
			out = jsonx.AppendString(out, name) // escaped no more than JSON needs
			out = append(out, ':')
			out = append(out, v.Raw()...)
			continue
		}
		if v.Kind() != jsonx.String {
			return nil, pipeline.Quarantine(fieldCiphertext+" is not a string", errors.New("json: not a string"))
		}
		var err error
		if out, err = appendPlaintext(out, block, v.Text()); err != nil {
			return nil, err
		}
		found = true
	}
	if !found {
		return nil, pipeline.Quarantine(fieldCiphertext+" is missing", nil)
	}
	return append(out, '}'), nil
}

// appendPlaintext appends `"virtualCollections":` and the decrypted
// ciphertext ct: as JSON when it is JSON, else as a string.
func appendPlaintext(out []byte, block cipher.Block, ct string) ([]byte, error) {
	pt, err := decrypt(block, ct)
	if err != nil {
		if errors.Is(err, ErrCiphertextEncoding) {
			return nil, pipeline.Quarantine(fieldCiphertext+" is not valid base64", err)
		}
		return nil, pipeline.Quarantine(fieldCiphertext+" does not decrypt with the configured key", ErrDecrypt)
	}
	out = append(out, `"`+fieldPlaintext+`":`...)
	if json.Valid(pt) {
		out = append(out, pt...)
	} else {
		// The plaintext as one JSON string, escaped no more than JSON needs.
		s := jsonx.AppendString(nil, string(pt))
		out = append(out, s...)
		Wipe(s)
	}
	Wipe(pt)
	return out, nil
}

// canonical renders a body or one of its values with sorted keys and numbers
// exactly as sent (jsonx.Canonical). An absent value renders as "".
func canonical(v jsonx.Value) string {
	return string(v.AppendCanonical(nil))
}
