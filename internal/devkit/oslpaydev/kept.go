package oslpaydev

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"webhooks/internal/devkit/cardref"
)

// kept is what docs/CONTRACT.md §5 keeps as sent in OSL Pay's data, written
// from the contract: the entity id (orderId on an order, never its userId;
// userId on a KYC or DeFi account event; for another type orderId, or
// userId when it is the subject: no orderId but blanks), and the documented
// times (updateTime; an order's createTime, completedTime and
// chainArrivalTime) when they are epoch milliseconds, 13 digits, from 2000
// to 2089.
func kept(eventType string, data []byte, _ bool) cardref.KeptAsSent {
	order := cardref.KeptAsSent{IDs: []string{"orderId"}, If: map[string]func(string) bool{
		"updateTime": epochMillis, "createTime": epochMillis, "completedTime": epochMillis, "chainArrivalTime": epochMillis}}
	user := cardref.KeptAsSent{IDs: []string{"userId"}, If: map[string]func(string) bool{"updateTime": epochMillis}}
	switch eventType {
	case "oslpay.order.status_changed":
		return order
	case "oslpay.kyc.status_changed", "oslpay.defi_account.bind_status", "oslpay.defi_account.auth_status":
		return user
	}
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	nonBlank := func(k string) bool { s, ok := m[k].(string); return ok && strings.TrimSpace(s) != "" }
	switch {
	case nonBlank("orderId"):
		return order
	case nonBlank("userId"):
		return user
	}
	return cardref.KeptAsSent{}
}

func epochMillis(s string) bool {
	if len(s) != 13 || strings.Trim(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() && n < time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}
