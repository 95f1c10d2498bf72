package benchdata

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/samples"
	"webhooks/internal/signer"
)

// Shape builds an adversarial JSON value of about n bytes: the inputs that once
// made redaction take cubic time, and their relatives.
type Shape struct {
	Name  string
	Value func(n int) string
}

func repeatString(unit string, n int) string {
	return `"` + strings.Repeat(unit, max(1, n/len(unit))) + `"`
}

// Shapes are the adversarial shapes every provider's request path is measured
// (make bench) and tested (linear work) on.
var Shapes = []Shape{
	{"digit-groups", func(n int) string { return repeatString("1 ", n) }},
	{"digit-dashes", func(n int) string { return repeatString("12-", n) }},
	{"mixed-separators", func(n int) string { return repeatString(`1.2_3/4  5\u00a06\u20287,`, n) }},
	{"long-digit-run", func(n int) string { return repeatString("0123456789", n) }},
	{"card-numbers", func(n int) string { return repeatString("4111111111111111 ", n) }},
	{"known-lookalikes", func(n int) string {
		var b strings.Builder
		b.WriteString(`{"cards":[`)
		for i := 0; b.Len() < n/2; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"cardNumber":"55547488%08d"}`, i)
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
	{"html", func(n int) string { return repeatString("<", n) }},
	{"line-separators", func(n int) string { return repeatString("\u2028", n) }},
	{"letters-unicode", func(n int) string { return repeatString("abcdé中𝟘", n) }},
	{"escaped-digits", func(n int) string { return repeatString(`\u0034\u0031\u0031\u0031 `, n) }},
}

// AdversarialBody is a provider's valid body (for its sample variant) with the
// shape's value of about size bytes in an undocumented field.
func AdversarialBody(provider string, shape Shape, size int) (variant string, body []byte) {
	v := shape.Value(size)
	switch provider {
	case "tiki":
		return "order", []byte(`{"data":{"date":"2022-10-26T14:22:05+07:00","order_code":"347171821","main_state":"processing","x":` + v + `}}`)
	case "apigift":
		return "order-invoice-status-changed", []byte(`{"orderId":"b3c09d58","status":1,"price":47.99,"x":` + v + `}`)
	case "alchemypay":
		return "", []byte(`{"orderNo":"100217","orderType":"1","status":"FAIL","cardNumber":"5554748800912345","x":` + v + `}`)
	case "oslpay":
		return "", []byte(`{"type":"order_status_change","data":{"orderId":"o1","state":"COMPLETED","appid":"dev-oslpay-app","x":` + v + `}}`)
	}
	panic("benchdata: unknown provider " + provider)
}

// AdversarialEvent is AdversarialBody as an authentic payload-2.0 event,
// signed with the development secrets at the samples' time.
func AdversarialEvent(tb testing.TB, provider string, shape Shape, size int) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	keys, err := signer.DevKeys(EventsDir())
	if err != nil {
		tb.Fatal(err)
	}
	variant, body := AdversarialBody(provider, shape, size)
	r, err := keys.Request(provider, variant, body, samples.SampleTime)
	if err != nil {
		tb.Fatal(err)
	}
	return samples.HTTPEvent(r).Event
}
