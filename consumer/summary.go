package consumer

import "unicode"

// Summarizer is implemented by the data of every event type: Summary says
// the event's state in a few words ("processing/ready_for_pickup",
// "qty_salable 60") from ids and states — never personal data or the
// delivered goods. Log it through Message.Summary, which applies LogSafe.
type Summarizer interface {
	Summary() string
}

// Summary of the message's data ("" when its data says nothing to log),
// passed through LogSafe: the fields it reads are ids and states the
// receivers keep as sent, which could hold a card number.
func (m *Message) Summary() string {
	if s, ok := m.Data.(Summarizer); ok {
		return LogSafe(s.Summary())
	}
	return ""
}

// LogSafe masks, in text to be logged, every run of 13 or more digits (of
// any script; the digits of a run may be separated by anything but letters,
// as the receivers read card numbers) to its first 6 and last 4 digits, so
// that no card number reaches a log, whatever field the text came from (a
// subject, a message group, an id kept as sent).
func LogSafe(s string) string {
	rs := []rune(s)
	var run []int // positions of the digits of the current run
	flush := func() {
		if len(run) >= 13 {
			for _, i := range run[6 : len(run)-4] {
				rs[i] = '*'
			}
		}
		run = run[:0]
	}
	for i, r := range rs {
		switch {
		case unicode.IsDigit(r):
			run = append(run, i)
		case unicode.IsLetter(r):
			flush()
		}
	}
	flush()
	return string(rs)
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}

// Summary implements Summarizer.
func (d *APIGiftSellReviewRequestCreated) Summary() string { return "review requested" }

// Summary implements Summarizer.
func (d *APIGiftSupportTicketUpdated) Summary() string {
	if d.Closed != nil && *d.Closed {
		return "closed"
	}
	return "updated"
}

// Summary implements Summarizer.
func (d *APIGiftOrderInvoiceStatusChanged) Summary() string { return "status " + d.Status.String() }

// Summary implements Summarizer.
func (d *APIGiftProductStatusChanged) Summary() string { return "status " + d.Status.String() }

// Summary implements Summarizer (never the goods).
func (d *APIGiftInventoryItemDelivered) Summary() string { return "delivered" }

// Summary implements Summarizer.
func (d *APIGiftInventoryItemRefunded) Summary() string { return "refunded" }

// Summary implements Summarizer.
func (d *APIGiftDepositStatusChanged) Summary() string { return "deprecated" }

// Summary implements Summarizer.
func (d *TikiOrderStatusChanged) Summary() string { return join(d.MainState, d.MainSubstate) }

// Summary implements Summarizer.
func (d *TikiStockChanged) Summary() string { return "qty_salable " + d.QtySalable.String() }

// Summary implements Summarizer.
func (d *TikiAftersaleStatusChanged) Summary() string { return join(d.Type, d.Status) }

// Summary implements Summarizer (never the email or the card).
func (d *AlchemyPayCardOrderStatusChanged) Summary() string {
	if d.OrderType == "" {
		return d.Status
	}
	return join("orderType "+d.OrderType, d.Status)
}

// Summary implements Summarizer.
func (d *OSLPayOrderStatusChanged) Summary() string { return d.State }

// Summary implements Summarizer.
func (d *OSLPayUserStatus) Summary() string { return "user status changed" }
