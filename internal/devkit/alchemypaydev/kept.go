package alchemypaydev

import (
	"time"

	"webhooks/internal/devkit/cardref"
)

// kept is what docs/CONTRACT.md §5 keeps as sent in an Alchemy Pay card
// order's data, written from the contract: orderNo (the subject and entity),
// cardId (the card's id consumers need for Alchemy Pay's API), and orderTime
// when it is a valid time in the documented layout "2024-08-09 15:11:09".
func kept(string, []byte, bool) cardref.KeptAsSent {
	return cardref.KeptAsSent{IDs: []string{"orderNo", "cardId"}, If: map[string]func(string) bool{"orderTime": documentedTime}}
}

func documentedTime(s string) bool {
	const layout = "2006-01-02 15:04:05"
	_, err := time.Parse(layout, s)
	return err == nil && len(s) == len(layout)
}
