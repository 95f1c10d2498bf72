package apigift

import (
	"bytes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
)

// object is a body's top-level fields, values exactly as sent.
type object map[string]json.RawMessage

func parseObject(body []byte) (object, error) {
	var obj object
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, pipeline.Malformed(pipeline.CodeMalformedJSON, "body must be a JSON object")
	}
	return obj, nil
}

func (o object) has(name string) bool { _, ok := o[name]; return ok }

// Classify recognises the event type of a body that arrived without an {event}
// slug, from fields only one event has:
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
func Classify(body []byte) (string, error) {
	o, err := parseObject(body)
	if err != nil {
		return "", err
	}
	return classify(o)
}

func classify(o object) (string, error) {
	var matched []string
	delivered := o.has("takeoutInventoryId") || o.has(fieldCiphertext)
	if delivered {
		matched = append(matched, TypeInventoryItemDelivered)
	}
	if o.has("supportTicketId") {
		matched = append(matched, TypeSupportTicketUpdated)
	}
	if o.has("requestDescription") || o.has("sourceOrderNumber") {
		matched = append(matched, TypeSellReviewRequestCreated)
	}
	if o.has("orderId") {
		matched = append(matched, TypeOrderInvoiceStatus)
	}
	if o.has("id") && o.has("status") {
		matched = append(matched, TypeProductStatus)
	}
	if o.has("inventoryId") && !delivered {
		matched = append(matched, TypeInventoryItemRefunded)
	}
	for k := range o {
		if strings.HasPrefix(strings.ToLower(k), "deposit") {
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

// describe checks that o fits the event typ and derives subject, key and time.
func describe(typ string, o object) (*pipeline.Event, error) {
	f := &fields{o: o}
	ev := &pipeline.Event{Type: typ}
	switch typ {
	case TypeSellReviewRequestCreated:
		f.optString("source")
		ev.Subject = f.optString("sourceOrderNumber")
		f.reqString("requestDescription")
		ev.Key = canonical(o)
		ev.Entity = "body:" + ev.Key
		if strings.TrimSpace(ev.Subject) != "" {
			ev.Entity = "order:" + ev.Subject
		}
	case TypeSupportTicketUpdated:
		ev.Subject = f.reqID("supportTicketId")
		f.optBool("underMediationChanged")
		f.optBool("closed")
		replyID := ""
		if reply := f.optObject("newReply"); reply != nil {
			r := &fields{o: reply, prefix: "newReply."}
			replyID = r.reqID("replyId")
			created := r.optString("createAt")
			r.optString("text")
			r.optString("replier")
			r.optStringArray("attachmentUrls")
			f.merge(r)
			if t, err := time.Parse(time.RFC3339, created); err == nil {
				ev.Time = t
			}
		}
		ev.Entity = ev.Subject
		ev.Key = join(replyID, canonical(o["underMediationChanged"]), canonical(o["closed"]))
	case TypeOrderInvoiceStatus:
		ev.Subject = f.reqID("orderId")
		status := f.reqNumber("status")
		price := f.optNumber("price")
		ev.Entity, ev.Key = ev.Subject, join(status, price)
	case TypeProductStatus:
		ev.Subject = f.reqID("id")
		status := f.reqNumber("status")
		price := f.optNumber("price")
		ev.Entity, ev.Key = ev.Subject, join(status, price)
	case TypeInventoryItemDelivered:
		takeout := f.reqID("takeoutInventoryId")
		ev.Subject = f.reqID("inventoryId")
		f.optNumber("entryPrice")
		f.reqString(fieldCiphertext)
		f.optString("deliveryKey")
		f.optString("productId")
		if o.has(fieldPlaintext) {
			f.fail(pipeline.CodeInvalidField, "field %s is not expected in a delivery: it is produced by decrypting %s", fieldPlaintext, fieldCiphertext)
		}
		ev.Key = join(typ, takeout)
	case TypeInventoryItemRefunded:
		ev.Subject = f.reqID("inventoryId")
		ev.Key = join(typ, ev.Subject)
	case TypeDepositStatus:
		// Deprecated and undocumented: any JSON object is acknowledged.
		ev.Deprecated = true
		ev.Key = join(typ, canonical(o))
	default:
		return nil, pipeline.NotFound("unknown APIGift event")
	}
	if f.err != nil {
		return nil, f.err
	}
	return ev, nil
}

// decryptData turns the stored data of a delivery into the queued data: the
// fields in their order, encryptedVirtualCollections replaced in place by
// virtualCollections. Undecryptable ciphertext is a quarantine.
func decryptData(data json.RawMessage, block cipher.Block) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("apigift: stored delivery is not a JSON object")
	}
	var out bytes.Buffer
	out.WriteByte('{')
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("apigift: stored delivery: %w", err)
		}
		name, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("apigift: stored delivery: %w", err)
		}
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		if name != fieldCiphertext {
			out.Write(jsonx.AppendString(nil, name)) // escaped no more than JSON needs

			out.WriteByte(':')
			out.Write(val)
			continue
		}
		var ct string
		if err := json.Unmarshal(val, &ct); err != nil {
			return nil, pipeline.Quarantine(fieldCiphertext+" is not a string", err)
		}
		pt, err := decrypt(block, ct)
		if err != nil {
			if errors.Is(err, ErrCiphertextEncoding) {
				return nil, pipeline.Quarantine(fieldCiphertext+" is not valid base64", err)
			}
			return nil, pipeline.Quarantine(fieldCiphertext+" does not decrypt with the configured key", ErrDecrypt)
		}
		out.WriteString(`"` + fieldPlaintext + `":`)
		if json.Valid(pt) {
			out.Write(pt)
		} else {
			// The plaintext as one JSON string, escaped no more than JSON needs.
			s := jsonx.AppendString(nil, string(pt))
			out.Write(s)
			Wipe(s)
		}
		Wipe(pt)
		found = true
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("apigift: stored delivery: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("apigift: stored delivery has data after the object")
	}
	if !found {
		return nil, pipeline.Quarantine(fieldCiphertext+" is missing", nil)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// canonical renders a body or one of its values with sorted keys and numbers
// exactly as sent (jsonx.Canonical). An absent value renders as "".
func canonical(v any) string {
	switch x := v.(type) {
	case json.RawMessage:
		return jsonx.Canonical(x)
	case object:
		raw, _ := json.Marshal(map[string]json.RawMessage(x))
		return jsonx.Canonical(raw)
	}
	return ""
}

// join builds a de-duplication key; each part is length-prefixed, so no
// choice of values makes two different lists give the same key.
func join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%d:%s|", len(p), p)
	}
	return b.String()
}

// fields checks typed fields of one object, keeping the first error.
type fields struct {
	o      object
	prefix string
	err    error
}

func (f *fields) fail(code, format string, args ...any) {
	if f.err == nil {
		f.err = pipeline.Malformed(code, format, args...)
	}
}

func (f *fields) merge(g *fields) {
	if f.err == nil {
		f.err = g.err
	}
}

// get returns the raw value, or nil when absent or null.
func (f *fields) get(name string) json.RawMessage {
	raw, ok := f.o[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	return raw
}

func (f *fields) str(name string, required bool) (string, bool) {
	raw := f.get(name)
	if raw == nil {
		if required {
			f.fail(pipeline.CodeMissingField, "field %s%s is required", f.prefix, name)
		}
		return "", false
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		f.fail(pipeline.CodeInvalidField, "field %s%s must be a string", f.prefix, name)
		return "", false
	}
	return s, true
}

// reqID is a required, non-blank string identifier.
func (f *fields) reqID(name string) string {
	s, ok := f.str(name, true)
	if ok && strings.TrimSpace(s) == "" {
		f.fail(pipeline.CodeMissingField, "field %s%s must not be empty", f.prefix, name)
	}
	return s
}

func (f *fields) reqString(name string) string { s, _ := f.str(name, true); return s }
func (f *fields) optString(name string) string { s, _ := f.str(name, false); return s }

func (f *fields) number(name string, required bool) string {
	raw := f.get(name)
	if raw == nil {
		if required {
			f.fail(pipeline.CodeMissingField, "field %s%s is required", f.prefix, name)
		}
		return ""
	}
	var n json.Number
	if c := raw[0]; (c != '-' && (c < '0' || c > '9')) || json.Unmarshal(raw, &n) != nil {
		f.fail(pipeline.CodeInvalidField, "field %s%s must be a number", f.prefix, name)
		return ""
	}
	return n.String()
}

func (f *fields) reqNumber(name string) string { return f.number(name, true) }
func (f *fields) optNumber(name string) string { return f.number(name, false) }

func (f *fields) optBool(name string) {
	raw := f.get(name)
	if raw != nil && string(raw) != "true" && string(raw) != "false" {
		f.fail(pipeline.CodeInvalidField, "field %s%s must be true or false", f.prefix, name)
	}
}

func (f *fields) optObject(name string) object {
	raw := f.get(name)
	if raw == nil {
		return nil
	}
	var o object
	if raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
		f.fail(pipeline.CodeInvalidField, "field %s%s must be an object or null", f.prefix, name)
		return nil
	}
	return o
}

func (f *fields) optStringArray(name string) {
	raw := f.get(name)
	if raw == nil {
		return
	}
	var a []string
	if raw[0] != '[' || json.Unmarshal(raw, &a) != nil {
		f.fail(pipeline.CodeInvalidField, "field %s%s must be an array of strings", f.prefix, name)
	}
}
