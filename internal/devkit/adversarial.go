package devkit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
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

// AdversarialEvent is the kit's valid body (see Kit.Adversarial) with the
// shape's value of about size bytes in an undocumented field, as an authentic
// payload-2.0 event signed with the development secrets at the samples' time.
func AdversarialEvent(tb TB, k Kit, shape Shape, size int) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	keys, err := DevSigners([]Kit{k}, EventsDir())
	if err != nil {
		tb.Fatal(err)
	}
	variant, body := k.Adversarial(shape.Value(size))
	r, err := keys.Request(k.Name, variant, body, SampleTime)
	if err != nil {
		tb.Fatal(err)
	}
	return HTTPEvent(r).Event
}
