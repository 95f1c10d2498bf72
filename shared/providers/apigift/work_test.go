package apigift_test

import (
	"encoding/json"
	"testing"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/apigiftdev"
	"webhooks/shared/providers/apigift"
)

// The decode path's work (route, parse, classification, Decode and its
// redaction, the canonical state, a delivery's decryption in Enrich;
// counted, never timed) is linear in the body on every adversarial shape,
// for every kind of key.
func TestDecodeWorkIsLinear(t *testing.T) {
	p := apigift.New()
	raw := devkit.DevSecret(t, apigift.Name)
	cfg, err := p.ParseSecret(raw)
	if err != nil {
		t.Fatal(err)
	}
	var plain struct{ SecretKey string }
	if err := json.Unmarshal(raw, &plain); err != nil {
		t.Fatal(err)
	}
	ct, err := apigift.Encrypt([]byte(plain.SecretKey), []byte(`[{"code":"GIFT-4111111111111111"}]`))
	if err != nil {
		t.Fatal(err)
	}
	devkit.CheckDecodeWork(t, apigiftdev.Kit, p, cfg, []devkit.Wrap{
		{Name: "invoice", Body: apigiftdev.Kit.Adversarial},
		// No slug: the type is recognised from the body's member names.
		{Name: "inferred-invoice", Body: func(v string) (string, []byte) {
			return "", []byte(`{"orderId":"b3c09d58","status":1,"price":47.99,"x":` + v + `}`)
		}},
		// The whole body is the state: rendered canonical (sorted keys).
		{Name: "sell-review", Body: func(v string) (string, []byte) {
			return "sell-review-request-created", []byte(`{"sourceOrderNumber":"S-1","requestDescription":"d","x":` + v + `}`)
		}},
		{Name: "deposit", Body: func(v string) (string, []byte) {
			return "deposit-status-changed", []byte(`{"depositId":"d1","x":` + v + `}`)
		}},
		{Name: "support-ticket", Body: func(v string) (string, []byte) {
			return "support-ticket-updated", []byte(`{"supportTicketId":"T1","closed":false,"newReply":{"replyId":"r1","text":"t"},"x":` + v + `}`)
		}},
		// Kept ciphertext, then decrypted into the message's data.
		{Name: "delivery", Body: func(v string) (string, []byte) {
			return "inventory-item-delivered", []byte(`{"takeoutInventoryId":"t1","inventoryId":"i1","encryptedVirtualCollections":"` + ct + `","x":` + v + `}`)
		}},
	})
}
