package consumer

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// shape builds a JSON value of about n bytes.
type shape struct {
	name  string
	value func(n int) string
}

func repeated(unit string, n int) string {
	return `"` + strings.Repeat(unit, max(1, n/len(unit))) + `"`
}

// receiverShapes are the adversarial shapes of the receivers' tests
// (internal/devkit, Shapes and TopLevelKeys, in the receivers' module),
// written as the receivers send them: a card-number member's value masked.
var receiverShapes = []shape{
	{"digit-groups", func(n int) string { return repeated("1 ", n) }},
	{"digit-dashes", func(n int) string { return repeated("12-", n) }},
	{"mixed-separators", func(n int) string { return repeated(`1.2_3/4  5\u00a06\u20287,`, n) }},
	{"long-digit-run", func(n int) string { return repeated("0123456789", n) }},
	{"card-numbers", func(n int) string { return repeated("411111******1111 ", n) }},
	{"known-lookalikes", func(n int) string {
		var b strings.Builder
		b.WriteString(`{"cards":[`)
		for i := 0; b.Len() < n/2; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"cardNumber":"555474******%04d"}`, i%10000)
		}
		b.WriteString(`],"text":"`)
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "5554 7488 %04d %04d ", i%10000, (i*7)%10000)
		}
		b.WriteString(`"}`)
		return b.String()
	}},
	{"many-keys", func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; b.Len() < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%d":%d`, 4111111111111000+i, i)
		}
		b.WriteByte('}')
		return b.String()
	}},
	{"number-array", func(n int) string {
		var b strings.Builder
		b.WriteByte('[')
		for i := 0; b.Len() < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(4111 + i%7))
		}
		b.WriteByte(']')
		return b.String()
	}},
	{"html", func(n int) string { return repeated("<", n) }},
	{"line-separators", func(n int) string { return repeated("\u2028", n) }},
	{"letters-unicode", func(n int) string { return repeated("abcdé中𝟘", n) }},
	{"escaped-digits", func(n int) string { return repeated(`\u0034\u0031\u0031\u0031 `, n) }},
	// Spliced: members of the object the value is the last member of.
	{"top-level-keys", func(n int) string {
		var b strings.Builder
		b.WriteString("0")
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, `,"%d":%d`, 4111111111111000+i, i%10)
		}
		return b.String()
	}},
}

// consumerShapes are the consumer's own worst cases: what its checks read
// member by member.
var consumerShapes = []shape{
	// Masked card numbers under card-number names, at every depth: each
	// value matched against the masked patterns.
	{"masked-members", func(n int) string {
		var b strings.Builder
		b.WriteByte('[')
		for i := 0; b.Len() < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"cardNumber":"411111******%04d","pan":["**** **** **** %04d"],"x":{"card_no":"***"}}`, i%10000, i%10000)
		}
		b.WriteByte(']')
		return b.String()
	}},
	// Nesting to near the bound, again and again: the walk's stack.
	{"deep-nesting", func(n int) string {
		unit := strings.Repeat(`{"a":[`, 30) + "1" + strings.Repeat("]}", 30)
		return "[" + strings.Repeat(unit+",", max(1, n/(len(unit)+1))) + "0]"
	}},
	// Long names: each name read by the card-number and secret rules.
	{"long-names", func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; b.Len() < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s%d":1`, strings.Repeat("cardHolderNameWithSomeMoreWords", 8), i)
		}
		b.WriteByte('}')
		return b.String()
	}},
}

// wraps put a value in a message body the receivers could send, where each
// check reads it.
var wraps = []struct {
	name string
	body func(value string) string
}{
	{"tiki-order", func(v string) string { return fmt.Sprintf(tikiOrderBody, v) }},
	// One masked card number as long as the body: the typed field's check.
	{"alchemypay-card", func(v string) string {
		return strings.Replace(fmt.Sprintf(cardBody, "411111"+strings.Repeat("*", len(v))+"1111"), `"status":"S"`, `"status":"S","x":`+v, 1)
	}},
	// Decrypted goods: kept as sent, read but not looked into.
	{"apigift-goods", func(v string) string { return fmt.Sprintf(deliveredBody, `{"codes":`+v+`}`) }},
	{"oslpay-order", func(v string) string {
		return `{"specversion":"1.0","id":"0123456789abcdef0123456789abcdef","source":"webhooks/oslpay","type":"oslpay.order.status_changed","subject":"o1","time":"2026-01-02T03:04:05Z","datacontenttype":"application/json","data":{"orderId":"o1","state":"COMPLETED","x":` + v + `}}`
	}},
	{"apigift-ticket", func(v string) string {
		return `{"specversion":"1.0","id":"0123456789abcdef0123456789abcdef","source":"webhooks/apigift","type":"apigift.support_ticket.updated","subject":"T1","time":"2026-01-02T03:04:05Z","datacontenttype":"application/json","data":{"supportTicketId":"T1","newReply":{"replyId":"r1","attachmentUrls":["https://x/1",null,"https://x/2"],"x":` + v + `}}}`
	}},
}

// decodeWork is the work DecodeBody counts on body, which it must accept.
func decodeWork(t *testing.T, body string) uint64 {
	t.Helper()
	countWork, work = true, 0
	defer func() { countWork = false }()
	if _, err := DecodeBody([]byte(body)); err != nil {
		t.Fatalf("%.200s…: %v", body, err)
	}
	return work
}

// maxWorkRatio bounds the work for a body 8 times larger (linear work gives
// about 8, quadratic 64), as in the receivers' tests.
const maxWorkRatio = 10

// DecodeBody's work (counted, never timed: the bytes each linear-time
// library call reads and the steps of the package's own loops) grows
// linearly with the body: on every shape, in every wrap, 8 times the body
// takes at most maxWorkRatio times the work.
func TestDecodeWorkIsLinear(t *testing.T) {
	const n = 16 << 10
	for _, w := range wraps {
		for _, s := range append(receiverShapes[:len(receiverShapes):len(receiverShapes)], consumerShapes...) {
			small, large := w.body(s.value(n)), w.body(s.value(8*n))
			ws, wl := decodeWork(t, small), decodeWork(t, large)
			ratio := float64(wl) / float64(max(ws, 1)) * 8 / (float64(len(large)) / float64(len(small)))
			line := fmt.Sprintf("%-34s %9d steps for %7d bytes, %10d for %7d: ×%.2f", w.name+"/"+s.name, ws, len(small), wl, len(large), ratio)
			if ws == 0 || ratio > maxWorkRatio {
				t.Errorf("%s: not linear", line)
			} else {
				t.Log(line)
			}
		}
	}
}
