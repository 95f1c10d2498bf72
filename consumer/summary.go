package consumer

// Summarizer is implemented by the data of every event type: Summary says
// the event's state in a few words ("processing/ready_for_pickup",
// "qty_salable 60"), from fields that are safe to log — never personal
// data, card numbers or the delivered goods.
type Summarizer interface {
	Summary() string
}

// Summary of the message's data ("" when its data says nothing to log).
func (m *Message) Summary() string {
	if s, ok := m.Data.(Summarizer); ok {
		return s.Summary()
	}
	return ""
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
	return join("orderType "+d.OrderType, d.Status)
}

// Summary implements Summarizer.
func (d *OSLPayOrderStatusChanged) Summary() string { return d.State }

// Summary implements Summarizer.
func (d *OSLPayUserStatus) Summary() string { return "user status changed" }
