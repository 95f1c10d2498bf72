package apigiftdev

import (
	"encoding/base64"

	"webhooks/internal/devkit/cardref"
)

// kept is what docs/CONTRACT.md §5 keeps as sent in APIGift's data, written
// from the contract: the id that is each type's subject or key, an
// invoice's or product's status and price, and a delivery's
// encryptedVirtualCollections when it decrypts (this reader holds no key:
// it keeps no more than the shape of what can decrypt, base64 of whole
// 16-byte AES blocks; a card number sent under that name is not it). In a
// message, a delivery's decrypted goods (virtualCollections) are the
// merchandise, not a customer's payment data: they travel as they are.
func kept(eventType string, _ []byte, queued bool) cardref.KeptAsSent {
	k := cardref.KeptAsSent{}
	switch eventType {
	case "apigift.sell_review_request.created":
		k.IDs = []string{"sourceOrderNumber"}
	case "apigift.support_ticket.updated":
		k.IDs = []string{"supportTicketId"}
	case "apigift.order_invoice.status_changed":
		k.IDs = []string{"orderId", "status", "price"}
	case "apigift.product.status_changed":
		k.IDs = []string{"id", "status", "price"}
	case "apigift.inventory_item.delivered":
		k.IDs = []string{"inventoryId", "takeoutInventoryId"}
		k.If = map[string]func(string) bool{"encryptedVirtualCollections": aesBlocks}
		if queued {
			k.Any = []string{"virtualCollections"}
		}
	case "apigift.inventory_item.refunded":
		k.IDs = []string{"inventoryId"}
	}
	return k // a deposit keeps nothing
}

func aesBlocks(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) > 0 && len(b)%16 == 0
}
