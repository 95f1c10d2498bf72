package pan

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// adversarialShape builds a body of about size bytes.
type adversarialShape struct {
	name  string
	build func(size int) []byte
}

// shapePolicy is the policy a shape's bodies are redacted with: the zero
// Policy but for the KeepIf shapes.
func shapePolicy(s adversarialShape) Policy {
	if strings.HasPrefix(s.name, "kept-if") {
		return keptIfShapePolicy()
	}
	return Policy{}
}

// repeatTo repeats unit inside prefix…suffix until the body has about size bytes.
func repeatTo(size int, prefix, unit, suffix string) []byte {
	n := max(1, (size-len(prefix)-len(suffix))/len(unit))
	return []byte(prefix + strings.Repeat(unit, n) + suffix)
}

// luhnDigits returns the i-th of a sequence of distinct Luhn-valid 16-digit
// numbers sharing their first 6 and last 4 digits (all mask the same).
func luhnDigits(i int) string {
	for k := 0; ; k++ {
		s := fmt.Sprintf("411111%05d%d1111", i, k)
		if Luhn(s) {
			return s
		}
	}
}

// pseudoDigits returns n deterministic pseudo-random digits.
func pseudoDigits(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = '0' + byte(x%10)
	}
	return string(b)
}

var adversarialShapes = []adversarialShape{
	{"ones", func(n int) []byte { return repeatTo(n, `{"a":"`, "1 ", `"}`) }},
	{"twelves", func(n int) []byte { return repeatTo(n, `{"a":"`, "12-", `"}`) }},
	{"mixed-groups", func(n int) []byte { return repeatTo(n, `{"a":"`, "1.2_3/4 ", `"}`) }},
	{"many-separators", func(n int) []byte {
		return repeatTo(n, `{"a":"`, "4 -._/\u00a0\u2028\u3000*,:;!?()[]{}|~^=+  \\t\\n\\u2029", `"}`)
	}},
	{"digits", func(n int) []byte { return []byte(`{"a":"` + pseudoDigits(n-8) + `"}`) }},
	{"zeros", func(n int) []byte { return repeatTo(n, `{"a":"`, "0", `"}`) }}, // every window passes Luhn
	// A number in a float64's range (the parser refuses others) that is one long run of digits.
	{"number-digits", func(n int) []byte { return []byte(`{"a":0.1` + pseudoDigits(n-10) + `}`) }},
	{"escaped-digits", func(n int) []byte { return repeatTo(n, `{"a":"`, `\u0034\u0031 \uff11`, `"}`) }},
	{"known-lookalikes", func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"cards":[`)
		cards := max(2, n/400)
		var nums []string
		for i := range cards {
			num := fmt.Sprintf("55547488%08d", i*7919)
			nums = append(nums, num)
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"cardNumber":"%s"}`, num)
		}
		b.WriteString(`],"text":"`)
		for i := 0; b.Len() < n-2; i++ { // near matches: one digit changed, one long run
			num := []byte(nums[i%len(nums)])
			num[i%16] = '0' + (num[i%16]-'0'+1)%10
			b.Write(num[:8])
			b.WriteString(" - ")
			b.Write(num[8:])
			b.WriteString(" ")
		}
		b.WriteString(`"}`)
		return []byte(b.String())
	}},
	{"known-lengths", func(n int) []byte { // 8 known lengths, text of their prefixes
		var b strings.Builder
		b.WriteString(`{"cards":[`)
		for L := 12; L <= 19; L++ {
			if L > 12 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"pan":"%s"}`, strings.Repeat("1", L-1)+"2")
		}
		b.WriteString(`],"text":"`)
		for b.Len() < n-2 {
			b.WriteString("1111111111111111111 ")
		}
		b.WriteString(`"}`)
		return []byte(b.String())
	}},
	{"digit-keys", func(n int) []byte {
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; b.Len() < n-40; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%d":%d`, 1000000000000+i*7, i%10)
		}
		b.WriteByte('}')
		return []byte(b.String())
	}},
	{"colliding-keys", func(n int) []byte { // every key masks to 411111******1111
		var b strings.Builder
		b.WriteString(`{"411111******1111":"x"`)
		for i := 0; b.Len() < n-40; i++ {
			fmt.Fprintf(&b, `,"%s":"x"`, luhnDigits(i))
		}
		b.WriteByte('}')
		return []byte(b.String())
	}},
	{"letters", func(n int) []byte { return repeatTo(n, `{"a":"`, "abcé中жßxyz", `"}`) }},
	{"numbers-array", func(n int) []byte { return repeatTo(n, `{"a":[4111`, ",1111", `]}`) }},
	{"u2028", func(n int) []byte { return repeatTo(n, `{"a":"`, "\u2028", `"}`) }},
	{"lt", func(n int) []byte { return repeatTo(n, `{"a":"`, "<", `"}`) }},
	{"small-objects", func(n int) []byte { return repeatTo(n, `{"a":[{}`, `,{"b":[4111,"1 1",null,{"c":true}]}`, `]}`) }},
	// Top-level KeepIf members, documented times and near misses, under
	// names without letters or digits: only the values stand between runs.
	{"kept-if-mixed", func(n int) []byte {
		return keptIfBody(n, []string{`"2024-08-09 15:11:19"`, `"2024-08-09 15:11:19 "`, `20240809151119`, `"\u0032024-08-09 15:11:19"`,
			`{"orderTime":"2024-08-09 15:11:19"}`, `"4111 1111 1111 1111"`, `"2024-08-09 15:11:19 4111111111111111"`, `"2024-08-** **:11:19"`})
	}},
	// All refused, no letter anywhere: the whole body is one run.
	{"kept-if-run", func(n int) []byte {
		return keptIfBody(n, []string{`"2024-08-09 15:11:19 "`, `20240809151119`, `"4111 1111 1111 1111"`, `["2024-08-09 15:11:19"]`,
			`"2024-08-09  15:11:1"`, `"\u0032024-08-09 15:11:19."`, `"2024-08-09 15:11:19 4111111111111111"`})
	}},
}

// keptIfShapeNames is the number of names keptIfShapePolicy knows.
const keptIfShapeNames = 1 << 14

// keptIfName returns the i-th name made of characters that are neither
// letters nor digits.
func keptIfName(i int) string {
	const sym = "!#$%&()+,-./:;<=>?@[]^_`{|}~"
	var b []byte
	for k := i + 1; k > 0; k = (k - 1) / len(sym) {
		b = append(b, sym[(k-1)%len(sym)])
	}
	return string(b)
}

// keptIfShapePolicy has the KeepIf names keptIfName(0), keptIfName(1), ...,
// each accepting a time in dateTimeLayout (made on first use).
var keptIfShapePolicy = sync.OnceValue(func() Policy {
	p := Policy{KeepIf: make(map[string]func(string) bool, keptIfShapeNames)}
	for i := range keptIfShapeNames {
		p.KeepIf[keptIfName(i)] = isDateTime
	}
	return p
})

// keptIfBody returns an object of about n bytes whose members are
// keptIfName(i) with the values in turn.
func keptIfBody(n int, values []string) []byte {
	b := []byte{'{'}
	for i := 0; len(b) < n-40; i++ {
		if i >= keptIfShapeNames {
			panic("keptIfBody: too few names")
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `"%s":%s`, keptIfName(i), values[i%len(values)])
	}
	return append(b, '}')
}

func redactWork(t testing.TB, p Policy, body []byte) uint64 {
	t.Helper()
	_, st, err := p.redact(body)
	if err != nil {
		t.Fatalf("%.40q: %v", body, err)
	}
	return st.work
}

// The work (inner-loop steps, counted) grows linearly with the body: 8 times
// the body takes at most 10 times the work (quadratic work would take 64).
func TestRedactLinearWork(t *testing.T) {
	const n = 16 << 10
	for _, s := range adversarialShapes {
		small, large := s.build(n), s.build(8*n)
		ws, wl := redactWork(t, shapePolicy(s), small), redactWork(t, shapePolicy(s), large)
		// The bodies are 8 times apart give or take a few bytes: scale.
		ratio := float64(wl) / float64(ws) * 8 / (float64(len(large)) / float64(len(small)))
		if ratio > 10 {
			t.Errorf("%s: work %d for %d bytes, %d for %d bytes (×%.1f): not linear", s.name, ws, len(small), wl, len(large), ratio)
		} else {
			t.Logf("%-16s work ×%.2f for 8 times the body", s.name, ratio)
		}
	}
}

// The work for a 256 KiB body of each shape is within a constant of its size.
func TestRedactWorkPerByte(t *testing.T) {
	for _, s := range adversarialShapes {
		body := s.build(256 << 10)
		if w := redactWork(t, shapePolicy(s), body); w > 64*uint64(len(body)) {
			t.Errorf("%s: work %d for %d bytes", s.name, w, len(body))
		} else {
			t.Logf("%-16s %7d bytes  work/byte %5.1f", s.name, len(body), float64(w)/float64(len(body)))
		}
	}
}

// The adversarial bodies hold the guarantee too (the naive reference scanner
// is quadratic in a run's length: small bodies only).
func TestRedactAdversarialGuarantee(t *testing.T) {
	for _, s := range adversarialShapes {
		body := s.build(2 << 10)
		checkRedacted(t, shapePolicy(s), body, planted{})
	}
}

func BenchmarkRedactAdversarial(b *testing.B) {
	for _, s := range adversarialShapes {
		body := s.build(256 << 10)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := shapePolicy(s).Redact(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A realistic webhook body, for comparison.
var typicalBody = []byte(`{"orderNo":"100217231874691","merchantOrderNo":"M-` + strconv.Itoa(42) + `","cardNumber":"5554748800912345",
		"cardId":"4111111111111111111","amount":"61.91","currency":"USD","status":"SUCCESS","failReason":"",
		"createTime":"2024-08-09 15:11:09","email":"someone@example.com","cardHolder":"JOHN DOE","expiry":"12/29"}`)

func BenchmarkRedactTypical(b *testing.B) {
	benchmarkTypical(b, Policy{Keep: map[string]bool{"orderNo": true, "cardId": true}})
}

// The same body with its documented time kept by Policy.KeepIf.
func BenchmarkRedactTypicalKeepIf(b *testing.B) {
	benchmarkTypical(b, Policy{Keep: map[string]bool{"orderNo": true, "cardId": true},
		KeepIf: map[string]func(string) bool{"createTime": isDateTime}})
}

func benchmarkTypical(b *testing.B, p Policy) {
	b.SetBytes(int64(len(typicalBody)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Redact(typicalBody); err != nil {
			b.Fatal(err)
		}
	}
}
