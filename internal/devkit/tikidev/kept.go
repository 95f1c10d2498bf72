package tikidev

import (
	"strings"
	"time"

	"webhooks/internal/devkit/cardref"
)

// kept is what docs/CONTRACT.md §5 keeps as sent in Tiki's data, written
// from the contract: the ids that are the subject, entity and message group
// (order_code; sku and warehouse), the stock level qty_salable, and date
// when it is RFC 3339 to the second, without a fraction.
func kept(eventType string, _ []byte, _ bool) cardref.KeptAsSent {
	k := cardref.KeptAsSent{If: map[string]func(string) bool{"date": documentedDate}}
	switch eventType {
	case "tiki.order.status_changed", "tiki.aftersale.status_changed":
		k.IDs = []string{"order_code"}
	case "tiki.stock.changed":
		k.IDs = []string{"sku", "warehouse", "qty_salable"}
	}
	return k
}

func documentedDate(s string) bool {
	if len(s) != len("2006-01-02T15:04:05Z") && len(s) != len("2006-01-02T15:04:05+07:00") {
		return false
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil && !strings.Contains(s, ".")
}
