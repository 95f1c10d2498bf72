package jsonx_test

import (
	"fmt"
	"strings"
	"testing"

	"webhooks/internal/devkit"
	"webhooks/shared/jsonx"
	"webhooks/shared/workcount"
)

// repeatObject fills an object of about n bytes with members made by member(i).
func repeatObject(n int, member func(i int) string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(member(i))
	}
	b.WriteByte('}')
	return b.String()
}

// parserShapes are the parser's own worst cases, besides devkit.Shapes: what
// makes the duplicate-key search, the decoded keys or the range check work.
var parserShapes = []devkit.Shape{
	// Objects of 31 members: the most keys compared pairwise, per key.
	{Name: "objects-of-31", Value: func(n int) string {
		var b strings.Builder
		b.WriteByte('[')
		for o := 0; b.Len() < n; o++ {
			if o > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			for k := range 31 {
				if k > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"k%02d":%d`, k, o)
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
		return b.String()
	}},
	// Keys of one length, first and last byte (one signature): compared
	// byte by byte.
	{Name: "same-signature-keys", Value: func(n int) string {
		var b strings.Builder
		b.WriteByte('[')
		for o := 0; b.Len() < n; o++ {
			if o > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			for k := range 31 {
				if k > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"a%s%02db":0`, strings.Repeat("x", 40), k)
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
		return b.String()
	}},
	// One object of many keys written with escapes: decoded, then hashed.
	{Name: "escaped-keys", Value: func(n int) string {
		return repeatObject(n, func(i int) string { return fmt.Sprintf(`"\u0061\u0062%d\n":%d`, i, i) })
	}},
	// Many objects of 33 members: each builds its own part of the hash table.
	{Name: "objects-of-33", Value: func(n int) string {
		var b strings.Builder
		b.WriteByte('[')
		for o := 0; b.Len() < n; o++ {
			if o > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			for k := range 33 {
				if k > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"%d":%d`, k, o)
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
		return b.String()
	}},
	// Numbers the range check parses: exponents, and 301 digits.
	{Name: "exponents", Value: func(n int) string {
		return "[" + strings.Repeat("1.5e300,", max(1, n/8)) + "0]"
	}},
	{Name: "long-numbers", Value: func(n int) string {
		return "[" + strings.Repeat(strings.Repeat("9", 301)+",", max(1, n/302)) + "0]"
	}},
	// Nesting to the bound, again and again.
	{Name: "deep-arrays", Value: func(n int) string {
		unit := strings.Repeat("[", jsonx.MaxDepth-2) + strings.Repeat("]", jsonx.MaxDepth-2)
		return "[" + strings.Repeat(unit+",", max(1, n/(len(unit)+1))) + "0]"
	}},
}

// parseWork is the work Parse and CheckObject count on body (both must accept it).
func parseWork(t testing.TB, body []byte) devkit.Work {
	t.Helper()
	steps := workcount.Measure(func() {
		d, err := jsonx.Parse(body)
		if err != nil {
			t.Fatalf("Parse(%.60s…): %v", body, err)
		}
		d.Release()
		if err := jsonx.CheckObject(body); err != nil {
			t.Fatalf("CheckObject(%.60s…): %v", body, err)
		}
	})
	return devkit.Work{Steps: steps, Bytes: len(body)}
}

// The parser's work (package workcount: bytes read, keys compared and
// hashed, table slots probed and moved) grows linearly with the body, on
// every adversarial shape: 8 times the body, at most devkit.MaxWorkRatio
// times the work. Counted, not timed: it holds on a loaded machine.
func TestParseWorkIsLinear(t *testing.T) {
	const n = 16 << 10
	for _, s := range append(append([]devkit.Shape{}, devkit.Shapes...), parserShapes...) {
		devkit.CheckLinearWork(t, s.Name, n, func(size int) devkit.Work {
			return parseWork(t, []byte(`{"x":`+s.Value(size)+`}`))
		})
	}
	// Spliced: many members in the top-level object itself.
	devkit.CheckLinearWork(t, devkit.TopLevelKeys.Name, n, func(size int) devkit.Work {
		return parseWork(t, []byte(`{"x":`+devkit.TopLevelKeys.Value(size)+`}`))
	})
}

// What a lookup reads is counted too: Get, Members and Text on a wide object.
func TestLookupWorkIsCounted(t *testing.T) {
	body := []byte(`{"x":` + devkit.TopLevelKeys.Value(4<<10) + `,"last":"v"}`)
	d, err := jsonx.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	members := 0
	for range d.Root().Members() {
		members++
	}
	if got := workcount.Measure(func() { d.Root().Get("last") }); got != uint64(members) {
		t.Errorf("Get of the last of %d members counted %d steps", members, got)
	}
	if got := workcount.Measure(func() {
		for range d.Root().Members() {
		}
	}); got != uint64(members) {
		t.Errorf("Members of %d members counted %d steps", members, got)
	}
	if got := workcount.Measure(func() { _ = d.Root().Get("last").Text() }); got != uint64(members)+1 {
		t.Errorf("Get and Text counted %d steps, want %d", got, members+1)
	}
	// Nothing is counted outside a measurement.
	if workcount.Measure(func() {}) != 0 {
		t.Error("steps counted with nothing measured")
	}
}
