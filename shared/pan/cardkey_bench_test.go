package pan

import (
	"strings"
	"testing"
)

// The key test Redact runs on every key: on keys webhooks carry and
// near-misses, and on long adversarial keys.
var cardKeyBench = []struct {
	name  string
	names [][]byte
}{
	{"typical", [][]byte{
		[]byte("orderNo"), []byte("merchantOrderNo"), []byte("cardNumber"), []byte("cardId"), []byte("amount"),
		[]byte("currency"), []byte("status"), []byte("failReason"), []byte("createTime"), []byte("card_no"),
		[]byte("primaryAccountNumber"), []byte("PANValue"), []byte("4111111111111111"), []byte("timespan"),
		[]byte("company"), []byte("seller_product_code"), []byte("cardHolderName"), []byte("card2Number"),
	}},
	{"long", [][]byte{
		[]byte(strings.Repeat("cardPan", 40)), []byte(strings.Repeat("pancardprimary", 30)), []byte(strings.Repeat("aB", 100)),
	}},
}

func BenchmarkCardKey(b *testing.B) {
	for _, c := range cardKeyBench {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for _, k := range c.names {
				n += len(k)
			}
			b.SetBytes(int64(n))
			for b.Loop() {
				for _, k := range c.names {
					cardKey(k)
				}
			}
		})
	}
}
