package capacity

// The peak assumed per provider, and why. Assumptions, stated plainly: no
// provider publishes its volumes. They follow docs/DEPLOY.md ("Throttling"),
// which sizes the stage throttle for them.

// Peak is one provider's assumed peak.
type Peak struct {
	Provider string
	Rate     float64 // webhooks per second at the peak
	Why      string
	// HotRate is the webhooks per second of the provider's busiest single
	// entity (one message group); HotState says they are states of that
	// entity, recorded as its latest state in one partition.
	HotRate   float64
	HotEntity string
	HotState  bool
}

// Peaks are the assumed peaks of a flash sale.
var Peaks = []Peak{
	{Provider: "tiki", Rate: 600,
		Why:     "a marketplace flash sale: an order webhook per order state change and a stock webhook per SKU and warehouse each order moves; as docs/DEPLOY.md sizes it, two hundred orders a second of two items each",
		HotRate: 50, HotEntity: "the sale's headline SKU in one warehouse: every order of it moves its stock (tiki.stock.changed, subject warehouse/sku)", HotState: true},
	{Provider: "apigift", Rate: 30,
		Why:     "gift cards sold in the same sale: an invoice status change per order and a delivery per inventory item",
		HotRate: 2, HotEntity: "one order's invoice states", HotState: true},
	{Provider: "alchemypay", Rate: 50,
		Why:     "card spending during the sale, plus retry waves after any outage of ours (every ten minutes for an hour, then hourly)",
		HotRate: 1, HotEntity: "one card order's states", HotState: true},
	{Provider: "oslpay", Rate: 20,
		Why:     "crypto purchases: an order webhook per state, KYC and account events besides",
		HotRate: 1, HotEntity: "one order's states", HotState: true},
}
