package pan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"webhooks/internal/devkit/cardref"
	"webhooks/shared/jsonx"
)

// ---- The reference scanner: the guarantee, checked naively on the output ----

// The reader is the project's one reference (cardref.CardRuns): it shares no
// code with Redact. Here it reads a policy's kept members as Redact's
// documentation says: a top-level scalar under a Keep name, a top-level
// string without '*' that a KeepIf function accepts; never a field named
// like a card number, nor an object or array.

// policyKept is what a policy keeps as sent, as the reference reader asks.
func policyKept(keep map[string]bool, keepIf map[string]func(string) bool) cardref.KeptMember {
	if len(keep) == 0 && len(keepIf) == 0 {
		return nil
	}
	return func(k string, v any) bool {
		if isCardKey(k) {
			return false
		}
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
		if keep[k] {
			return true
		}
		text, ok := v.(string)
		return ok && refKeptIf(keepIf[k], text)
	}
}

// refKeptIf reports whether a KeepIf function f keeps a top-level string.
func refKeptIf(f func(string) bool, text string) bool {
	return f != nil && !strings.Contains(text, "*") && f(text)
}

// refKept reports whether a top-level member's value raw (not dropped, not
// named like a card number) is kept: under a Keep name when it is a scalar;
// under a KeepIf name (f) when it is a string without '*' that f accepts.
func refKept(keep bool, f func(string) bool, raw json.RawMessage) bool {
	c := bytes.TrimLeft(raw, " \t\r\n")
	if keep {
		return c[0] != '{' && c[0] != '['
	}
	var text string
	if f == nil || c[0] != '"' || json.Unmarshal(c, &text) != nil {
		return false
	}
	return refKeptIf(f, text)
}

// refRuns returns the digits (ASCII, by value) of every run of doc's
// character stream, read by the reference reader.
func refRuns(doc []byte, keep map[string]bool, keepIf map[string]func(string) bool, starLetter bool) ([]string, error) {
	return cardref.CardRuns(doc, cardref.CardReading{Kept: policyKept(keep, keepIf), StarLetter: starLetter})
}

// refLuhnWindow returns a 13–19-digit Luhn-valid window of some run.
func refLuhnWindow(runs []string) (string, bool) { return cardref.LuhnWindow(runs) }

// flatToken is a token of a document as encoding/json reads it.
type flatToken struct {
	kind byte // '{', '}', '[', ']', 'k' key, 's' string, 'n' number, 'l' literal
	text string
}

// flatten lists doc's tokens, leaving out dropped members.
func flatten(doc []byte, drop func(string) bool) ([]flatToken, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var out []flatToken
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			out = append(out, flatToken{kind: byte(v)})
			for dec.More() {
				if v == '{' {
					kt, err := dec.Token()
					if err != nil {
						return err
					}
					if drop != nil && drop(kt.(string)) {
						var raw json.RawMessage
						if err := dec.Decode(&raw); err != nil {
							return err
						}
						continue
					}
					out = append(out, flatToken{kind: 'k', text: kt.(string)})
				}
				if err := walk(); err != nil {
					return err
				}
			}
			end, err := dec.Token()
			if err != nil {
				return err
			}
			out = append(out, flatToken{kind: byte(end.(json.Delim))})
		case string:
			out = append(out, flatToken{kind: 's', text: v})
		case json.Number:
			out = append(out, flatToken{kind: 'n', text: string(v)})
		default:
			out = append(out, flatToken{kind: 'l', text: fmt.Sprint(v)})
		}
		return nil
	}
	return out, walk()
}

// maskedFrom reports whether out is in with some digits written '*'.
func maskedFrom(out, in string) bool {
	o := []rune(out)
	i := []rune(in)
	if len(o) != len(i) {
		return false
	}
	for k := range o {
		if o[k] != i[k] && !(o[k] == '*' && unicode.IsDigit(i[k])) {
			return false
		}
	}
	return true
}

// planted is what a generated input holds: pans are digit strings that must
// not survive in any run; solos maps the top-level members holding a card
// number alone (between letters) to it; known are the digits of the
// card-number fields' values; besides are top-level members that must come
// out exactly as sent when a KeepIf member is kept.
type planted struct {
	pans    []string
	solos   map[string]string
	known   []string
	besides []beside
}

// beside is a top-level member next to a KeepIf member (cond): when cond's
// value is kept, and so one letter, the member is written as sent (its key,
// and its value when value is set): had the kept value not been a letter,
// the digits on either side of it would have formed a Luhn-valid run.
type beside struct {
	cond, key string
	value     *string
}

// checkRedacted checks the guarantee and the properties of Redact on one
// input, and returns the top-level KeepIf members the policy asks about
// (not dropped, not in Keep, not named like a card number), each with
// whether its value is kept.
func checkRedacted(t *testing.T, p Policy, in []byte, pl planted) (keptIf map[string]bool) {
	t.Helper()
	pans, solos, known := pl.pans, pl.solos, pl.known
	out, st, err := p.redact(in)
	if err != nil {
		t.Fatalf("Redact(%q): %v", in, err)
	}
	// (a) Valid JSON, no duplicate keys.
	if !json.Valid(out) || !utf8.Valid(out) {
		t.Fatalf("invalid output %q from %q", out, in)
	}
	// (refRuns below also fails on a duplicate key, at any level.)
	// (a') The redacted document RedactValue hands on is exactly what parsing
	// the output gives: every token in place, of the same kind and escaping.
	checkSameTokens(t, p, in, out)
	topObject := bytes.HasPrefix(bytes.TrimLeft(in, " \t\r\n"), []byte("{"))
	if topObject && jsonx.CheckObject(in) == nil {
		if err := jsonx.CheckObject(out); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
	}
	// (b) No Luhn-valid window, with '*' as a separator or as a letter.
	for _, starLetter := range []bool{false, true} {
		runs, err := refRuns(out, p.Keep, p.KeepIf, starLetter)
		if err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if w, ok := refLuhnWindow(runs); ok {
			t.Fatalf("Luhn-valid %s survives (star letter %v) in %q\nfrom %q", w, starLetter, out, in)
		}
		// (c) No planted card number or known number survives.
		if !starLetter {
			for _, run := range runs {
				for _, pan := range append(pans[:len(pans):len(pans)], known...) {
					if strings.Contains(run, pan) {
						t.Fatalf("%s survives in %q\nfrom %q", pan, out, in)
					}
				}
			}
		}
	}
	// (d) Idempotent.
	again, _, err := p.redact(out)
	if err != nil || !bytes.Equal(again, out) {
		t.Fatalf("not idempotent: %q\n-> %q\n-> %q (%v)", in, out, again, err)
	}
	// (e) Never longer than the input plus the quotes of masked numbers and
	// the suffixes of renamed keys; a suffix is short.
	if len(out) > len(in)+2*st.maskedNumbers+st.renameBytes {
		t.Fatalf("output %d bytes, input %d, %+v", len(out), len(in), st)
	}
	if st.renameBytes > 5*st.renamedKeys {
		t.Fatalf("long suffixes: %+v", st)
	}
	// Only digits changed (and masked numbers became strings, and masked
	// keys may have a suffix); dropped members are gone.
	ft, err := flatten(in, p.Drop)
	if err != nil {
		t.Fatal(err)
	}
	fo, err := flatten(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ft) != len(fo) {
		t.Fatalf("%d tokens in, %d out: %q -> %q", len(ft), len(fo), in, out)
	}
	for k := range ft {
		a, b := ft[k], fo[k]
		switch {
		case a == b:
		case a.kind == 'n' && b.kind == 's' && maskedFrom(b.text, a.text) && b.text != a.text:
		case a.kind == b.kind && (a.kind == 's' || a.kind == 'k') && maskedFrom(b.text, a.text):
		case a.kind == 'k' && b.kind == 'k' && strings.Contains(b.text, "#") &&
			maskedFrom(b.text[:strings.LastIndexByte(b.text, '#')], a.text) &&
			strings.Trim(b.text[strings.LastIndexByte(b.text, '#')+1:], suffixLetters) == "":
		default:
			t.Fatalf("token %d: %q became %q in %q -> %q", k, a, b, in, out)
		}
		if b.kind == 'k' && p.Drop != nil && p.Drop(b.text) {
			t.Fatalf("dropped key %q in the output", b.text)
		}
	}
	// Kept members are written as sent (without insignificant whitespace)
	// when they are scalars; an object or array under a kept name is not
	// kept: no Luhn-valid window survives in it, read on its own.
	if topObject && len(p.Keep) > 0 {
		var mi, mo map[string]json.RawMessage
		if json.Unmarshal(in, &mi) != nil || json.Unmarshal(out, &mo) != nil {
			t.Fatal("not objects")
		}
		for k := range p.Keep {
			v, ok := mi[k]
			if !ok || IsCardNumberField(k) || (p.Drop != nil && p.Drop(k)) {
				continue
			}
			if v[0] != '{' && v[0] != '[' {
				var c bytes.Buffer
				_ = json.Compact(&c, v)
				if !bytes.Equal(c.Bytes(), mo[k]) {
					t.Fatalf("kept %s: %s became %s", k, v, mo[k])
				}
				continue
			}
			for _, starLetter := range []bool{false, true} {
				runs, err := refRuns(mo[k], nil, nil, starLetter)
				if err != nil {
					t.Fatalf("kept %s: %s: %v", k, mo[k], err)
				}
				if w, ok := refLuhnWindow(runs); ok {
					t.Fatalf("kept %s: Luhn-valid %s survives in its %s value %s\nfrom %q", k, w, v[:1], mo[k], in)
				}
			}
		}
	}
	// KeepIf members: a string the function accepts is written exactly as
	// sent; any other value is redacted: no Luhn-valid window survives in
	// it, read on its own. And the policy redacts exactly as one that keeps
	// the accepted members (Keep) and not the others.
	if len(p.KeepIf) > 0 {
		keptIf = map[string]bool{}
		var mi, mo map[string]json.RawMessage
		if topObject {
			if json.Unmarshal(in, &mi) != nil || json.Unmarshal(out, &mo) != nil {
				t.Fatal("not objects")
			}
		}
		keep := map[string]bool{}
		for k := range p.Keep {
			keep[k] = true
		}
		for k, f := range p.KeepIf {
			v, ok := mi[k]
			if !ok || p.Keep[k] || isCardKey(k) || (p.Drop != nil && p.Drop(k)) {
				continue
			}
			kept := refKept(false, f, v)
			keptIf[k] = kept
			if kept {
				keep[k] = true
				var c bytes.Buffer
				_ = json.Compact(&c, v)
				if !bytes.Equal(c.Bytes(), mo[k]) {
					t.Fatalf("kept-if %s: %s became %s", k, v, mo[k])
				}
				continue
			}
			for _, starLetter := range []bool{false, true} {
				runs, err := refRuns(mo[k], nil, nil, starLetter)
				if err != nil {
					t.Fatalf("kept-if %s: %s: %v", k, mo[k], err)
				}
				if w, ok := refLuhnWindow(runs); ok {
					t.Fatalf("kept-if %s: Luhn-valid %s survives in its refused value %s\nfrom %q", k, w, mo[k], in)
				}
			}
		}
		want, _, err := Policy{Keep: keep, Drop: p.Drop}.redact(in)
		if err != nil || !bytes.Equal(want, out) {
			t.Fatalf("KeepIf does not redact as Keep of the accepted members %v: %q\n-> %q\nwant %q (%v)", keptIf, in, out, want, err)
		}
		for _, b := range pl.besides {
			if !keptIf[b.cond] {
				continue
			}
			got, ok := mo[b.key]
			var text string
			if !ok || (b.value != nil && (json.Unmarshal(got, &text) != nil || text != *b.value)) {
				t.Fatalf("beside kept-if %s: member %q is %s, want it as sent\n%q -> %q", b.cond, b.key, got, in, out)
			}
		}
	}
	// (f) A card number alone between letters shows its first 6 and last 4
	// digits (all masked if it is a known number under 15 digits).
	if len(solos) > 0 {
		var mo map[string]json.RawMessage
		if err := json.Unmarshal(out, &mo); err != nil {
			t.Fatal(err)
		}
	solo:
		for key, pan := range solos {
			for _, k := range append(known[:len(known):len(known)], pans...) {
				if k != pan && strings.Contains(pan, k) {
					continue solo // another number inside it: masked its own way
				}
			}
			var v string
			if err := json.Unmarshal(mo[key], &v); err != nil {
				t.Fatalf("solo %q: %s in %q", key, mo[key], out)
			}
			got := strings.Map(func(r rune) rune { // digits by value, in ASCII
				if d, ok := cardref.CardDigit(r); ok {
					return rune(d)
				}
				if r == '*' {
					return r
				}
				return -1
			}, v)
			want := pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
			for _, k := range known {
				if k == pan && len(pan) < MinPartialLength {
					want = strings.Repeat("*", len(pan))
				}
			}
			if got != want {
				t.Fatalf("solo %s: %q shows %q, want %q\n%q -> %q", key, pan, got, want, in, out)
			}
		}
	}
	return keptIf
}

// ---- The generator: random JSON bodies with card numbers planted in every shape ----

type gnode struct {
	kind byte   // 'o' object, 'a' array, 's' string, 'r' raw number or literal
	text string // string value (decoded), or the raw number or literal
	keys []string
	kids []*gnode

	exact     bool // a string written without a lone surrogate added
	escDigits bool // a string whose digits are all written as \u escapes
	block     int  // members of one block (same number) stay together
}

type gen struct {
	data    []byte
	rng     *rand.Rand
	pans    []string          // planted Luhn-valid card numbers that must not survive
	known   []string          // digits of the card-number fields' values
	solos   map[string]string // top-level member → card number alone in it
	conts   []*gnode          // containers where things may be planted
	keptIf  map[string]string // top-level KeepIf member → what was planted in it
	besides []beside
	blocks  int
	scripts []string // "other-script", "mixed-scripts": how planted digits were written
}

func newGen(data []byte) *gen {
	h := fnv.New64a()
	h.Write(data)
	return &gen{data: data, rng: rand.New(rand.NewPCG(h.Sum64(), uint64(len(data)))), solos: map[string]string{}, keptIf: map[string]string{}}
}

// intn returns a number in [0, n): from the fuzzer's bytes while they last.
func (g *gen) intn(n int) int {
	if n <= 1 {
		return 0
	}
	if len(g.data) > 0 {
		v := int(g.data[0])
		g.data = g.data[1:]
		return v % n
	}
	return g.rng.IntN(n)
}

func (g *gen) pick(s []string) string { return s[g.intn(len(s))] }

var (
	genSeps    = []string{" ", "  ", "-", ".", "_", "/", "\u00a0", "\u2028", "\u3000", "\t", "\n", "*", ",", ":"}
	genLetters = []string{"a", "b", "c", "x", "y", "z", "A", "X", "é", "ß", "ж", "中"}
	genOther   = []string{"<", ">", "&", `"`, `\`, "\u2029", "😀", "\ufffd", "²", "\u0301", "#", "'", "\x00", "\x1f", "\x7f"}
	genDigits  = []string{"0", "1", "4", "5", "9", "４", "٤", "𝟗"}
)

func (g *gen) randText(max int) string {
	var b strings.Builder
	for n := g.intn(max + 1); n > 0; n-- {
		switch g.intn(4) {
		case 0:
			b.WriteString(g.pick(genSeps))
		case 1:
			b.WriteString(g.pick(genLetters))
		case 2:
			b.WriteString(g.pick(genOther))
		default:
			b.WriteString(g.pick(genDigits))
		}
	}
	return b.String()
}

func (g *gen) randNumber() string {
	var b strings.Builder
	if g.intn(3) == 0 {
		b.WriteByte('-')
	}
	n := g.intn(20)
	if n == 0 {
		b.WriteByte('0')
	} else {
		b.WriteByte(byte('1' + g.intn(9)))
		for ; n > 1; n-- {
			b.WriteByte(byte('0' + g.intn(10)))
		}
	}
	if g.intn(4) == 0 {
		b.WriteString("." + strconv.Itoa(g.intn(1000)))
	}
	if g.intn(5) == 0 {
		b.WriteString(g.pick([]string{"e", "E", "e+", "e-"}) + strconv.Itoa(g.intn(30)))
	}
	return b.String()
}

func (g *gen) randValue(depth int) *gnode {
	k := g.intn(6)
	if depth >= 5 && k < 2 {
		k += 2
	}
	switch k {
	case 0:
		o := &gnode{kind: 'o'}
		for n := g.intn(5); n > 0; n-- {
			g.addMember(o, g.randText(6), g.randValue(depth+1))
		}
		g.conts = append(g.conts, o)
		return o
	case 1:
		a := &gnode{kind: 'a'}
		for n := g.intn(5); n > 0; n-- {
			a.kids = append(a.kids, g.randValue(depth+1))
		}
		g.conts = append(g.conts, a)
		return a
	case 2, 3:
		return &gnode{kind: 's', text: g.randText(12)}
	case 4:
		return &gnode{kind: 'r', text: g.randNumber()}
	default:
		return &gnode{kind: 'r', text: g.pick([]string{"true", "false", "null"})}
	}
}

// addMember adds a member to o (at a random place), making its key unique.
func (g *gen) addMember(o *gnode, key string, v *gnode) string {
	for {
		dup := false
		for _, k := range o.keys {
			if k == key {
				dup = true
			}
		}
		if !dup {
			break
		}
		key += g.pick([]string{"a", "b", "c", "1", "2", " "})
	}
	i := g.intn(len(o.keys) + 1)
	o.keys = append(o.keys[:i], append([]string{key}, o.keys[i:]...)...)
	o.kids = append(o.kids[:i], append([]*gnode{v}, o.kids[i:]...)...)
	return key
}

// place puts v somewhere: a new member of an object or element of an array.
func (g *gen) place(v *gnode) {
	c := g.conts[g.intn(len(g.conts))]
	if c.kind == 'o' {
		g.addMember(c, g.randText(5), v)
		return
	}
	i := g.intn(len(c.kids) + 1)
	c.kids = append(c.kids[:i], append([]*gnode{v}, c.kids[i:]...)...)
}

// randPAN returns a Luhn-valid number of 13 to 19 digits, not starting with 0.
func (g *gen) randPAN() string {
	n := 13 + g.intn(7)
	b := []byte{byte('1' + g.intn(9))}
	for len(b) < n-1 {
		b = append(b, byte('0'+g.intn(10)))
	}
	for c := byte('0'); c <= '9'; c++ {
		if Luhn(string(b) + string(c)) {
			return string(b) + string(c)
		}
	}
	panic("no check digit")
}

// groups splits digits into groups joined by random separators.
func (g *gen) groups(digits string) []string {
	var gs []string
	for len(digits) > 0 {
		n := min(1+g.intn(6), len(digits))
		gs = append(gs, digits[:n])
		digits = digits[n:]
	}
	return gs
}

func (g *gen) sepRun() string {
	var b strings.Builder
	for n := 1 + g.intn(3); n > 0; n-- {
		b.WriteString(g.pick(genSeps))
	}
	return b.String()
}

// grouped writes digits (ASCII) as a reader could meet them in a string or
// a key: whole or in groups, in any script (see scripted).
func (g *gen) grouped(digits string) string {
	if g.intn(3) == 0 {
		return g.scripted(digits)
	}
	var b strings.Builder
	for i, gr := range g.groups(digits) {
		if i > 0 {
			b.WriteString(g.sepRun())
		}
		b.WriteString(gr)
	}
	return g.scripted(b.String())
}

// digitScripts are the zeros of some scripts' decimal digits (unicode.Nd):
// Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai, NKo,
// fullwidth, and mathematical bold (outside the BMP: a surrogate pair when
// escaped).
var digitScripts = []rune{'\u0660', '\u06f0', '\u0966', '\u09e6', '\u0e50', '\u07c0', '\uff10', '\U0001d7ce'}

// scripted rewrites the ASCII digits of s: half the time as they are, else
// all in one other script, or each in a script of its own (mixed within one
// number). A card number is its digits' values, whatever their script.
func (g *gen) scripted(s string) string {
	mode := g.intn(4)
	if mode < 2 {
		return s
	}
	g.scripts = append(g.scripts, []string{"other-script", "mixed-scripts"}[mode-2])
	zero := digitScripts[g.intn(len(digitScripts))]
	return strings.Map(func(r rune) rune {
		if r < '0' || r > '9' {
			return r
		}
		if mode == 3 { // mixed: ASCII too
			if k := g.intn(len(digitScripts) + 1); k < len(digitScripts) {
				return digitScripts[k] + (r - '0')
			}
			return r
		}
		return zero + (r - '0')
	}, s)
}

func (g *gen) affix() string {
	switch g.intn(5) {
	case 0:
		return ""
	case 1:
		return g.pick(genLetters)
	case 2:
		return g.pick(genSeps)
	default:
		return g.randText(4)
	}
}

const docSample = "5554748800912345" // the provider's documented sample: fails Luhn

var cardKeys = []string{"cardNumber", "card_number", "pan", "CardNo", "primaryAccountNumber", "cardPan"}

// genCase is a generated body and what was planted in it.
type genCase struct {
	body []byte
	planted
	keptIf map[string]string // top-level KeepIf member of fuzzPolicy → its plant
	labels []string          // every KeepIf plant made, "nested" included
}

// generate builds a random body with 1–5 card numbers planted in it, and
// (in an object) documented times and their near misses under the names
// fuzzPolicy.KeepIf lists.
func generate(data []byte) genCase {
	g := newGen(data)
	var root *gnode
	switch g.intn(10) {
	case 0:
		root = &gnode{kind: 'a'}
	case 1:
		root = &gnode{kind: 's', text: g.randText(8)}
	default:
		root = &gnode{kind: 'o'}
	}
	if root.kind != 's' {
		g.conts = append(g.conts, root)
		for n := g.intn(6); n > 0; n-- {
			v := g.randValue(1)
			if root.kind == 'o' {
				g.addMember(root, g.randText(6), v)
			} else {
				root.kids = append(root.kids, v)
			}
		}
	}
	for n := 1 + g.intn(5); n > 0; n-- {
		pan := g.randPAN()
		g.pans = append(g.pans, pan)
		if root.kind == 's' {
			root.text += g.affix() + g.grouped(pan) + g.affix()
			continue
		}
		switch g.intn(9) {
		case 0, 1: // in a string
			g.place(&gnode{kind: 's', text: g.affix() + g.grouped(pan) + g.affix()})
		case 2: // a number
			g.place(&gnode{kind: 'r', text: g.pick([]string{"", "-"}) + pan + g.pick([]string{"", ".5", "e3", ".0E-2"})})
		case 3: // a key
			if c := g.conts[g.intn(len(g.conts))]; c.kind == 'o' {
				g.addMember(c, g.affix()+g.grouped(pan)+g.affix(), g.randValue(4))
			} else {
				g.place(&gnode{kind: 'o', keys: []string{g.grouped(pan)}, kids: []*gnode{{kind: 'r', text: "null"}}})
			}
		case 4: // over consecutive array elements
			a := &gnode{kind: 'a'}
			for _, gr := range g.groups(pan) {
				if gr[0] != '0' && g.intn(2) == 0 {
					a.kids = append(a.kids, &gnode{kind: 'r', text: gr})
				} else {
					a.kids = append(a.kids, &gnode{kind: 's', text: g.scripted(gr)})
				}
			}
			g.place(a)
		case 5: // alone between letters, in a top-level member
			if root.kind == 'o' {
				key := g.addMember(root, "solo"+g.pick([]string{"a", "b", "c", "x", "y", "z"}), &gnode{kind: 's', text: "xy" + g.scripted(pan) + "zw"})
				g.solos[key] = pan
			} else {
				g.place(&gnode{kind: 's', text: "q" + g.scripted(pan) + "q"})
			}
		case 6: // a card-number field
			v := &gnode{kind: 's', text: g.grouped(pan)}
			if g.intn(3) == 0 {
				v = &gnode{kind: 'r', text: pan}
			}
			c := g.conts[g.intn(len(g.conts))]
			if c.kind != 'o' {
				c = &gnode{kind: 'o'}
				g.place(c)
			}
			if key := g.addMember(c, g.pick(cardKeys), v); isCardKey(key) {
				g.known = append(g.known, pan)
			}
			if g.intn(2) == 0 { // and copied elsewhere
				g.place(&gnode{kind: 's', text: g.affix() + g.grouped(pan) + g.affix()})
			}
		case 7: // kept or dropped: out of the guarantee's reach, or gone
			if k := g.intn(3); root.kind == 'o' && k == 0 {
				g.addMember(root, g.pick([]string{"orderNo", "cardId"}), &gnode{kind: 's', text: g.grouped(pan)})
			} else if root.kind == 'o' && k == 1 {
				// An object or array under a kept name is not kept: the
				// number must not survive.
				g.pans = append(g.pans, pan)
				var v *gnode
				switch g.intn(4) {
				case 0: // in a card-number field
					ck := g.pick(cardKeys)
					v = &gnode{kind: 'o', keys: []string{ck}, kids: []*gnode{{kind: 's', text: g.grouped(pan)}}}
					if isCardKey(ck) {
						g.known = append(g.known, pan)
					}
				case 1: // deeper, under a card-number field
					ck := g.pick(cardKeys)
					v = &gnode{kind: 'o', keys: []string{"x", ck},
						kids: []*gnode{g.randValue(4), {kind: 'o', keys: []string{"v"}, kids: []*gnode{{kind: 'r', text: pan}}}}}
					if isCardKey(ck) {
						g.known = append(g.known, pan)
					}
				case 2: // in an array
					v = &gnode{kind: 'a', kids: []*gnode{{kind: 's', text: g.affix() + g.grouped(pan) + g.affix()}}}
				default: // in a string among other members
					v = &gnode{kind: 'o', keys: []string{"a", "b"}, kids: []*gnode{g.randValue(3), {kind: 's', text: g.affix() + g.grouped(pan) + g.affix()}}}
				}
				g.addMember(root, g.pick([]string{"orderNo", "cardId"}), v)
				g.conts = append(g.conts, v)
			} else {
				c := g.conts[g.intn(len(g.conts))]
				if c.kind != 'o' {
					c = &gnode{kind: 'o'}
					g.place(c)
				}
				g.addMember(c, g.pick([]string{"secret", "privateSecret", "mySecretKey"}), &gnode{kind: 's', text: pan})
			}
		default: // colliding masked keys
			o := &gnode{kind: 'o'}
			mid := pan[6 : len(pan)-4]
			for i := 0; i < 3; i++ {
				other := pan[:6] + mid + pan[len(pan)-4:]
				if Luhn(other) {
					g.addMember(o, other, &gnode{kind: 's', text: "v"})
				}
				mid = strconv.Itoa(g.intn(10)) + mid[1:]
			}
			masked := pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
			g.addMember(o, masked, &gnode{kind: 'r', text: "true"})
			g.addMember(o, masked+"#a", &gnode{kind: 'r', text: "false"})
			g.place(o)
		}
	}
	if root.kind == 'o' && g.intn(2) == 0 { // the documented sample, also copied
		key := g.addMember(root, g.pick(cardKeys), &gnode{kind: 's', text: g.scripted(g.pick([]string{docSample, "5554 7488 0091 2345", "5554-7488-0091-2345"}))})
		if isCardKey(key) {
			g.known = append(g.known, docSample)
		}
		g.place(&gnode{kind: 's', text: "declined " + g.grouped(docSample) + g.affix()})
	}
	labels := g.plantKeptIf(root)
	labels = append(labels, g.scripts...)
	var b []byte
	b = g.ws(b)
	b = g.write(b, root)
	b = g.ws(b)
	return genCase{body: b, planted: planted{pans: g.pans, solos: g.solos, known: g.known, besides: g.besides}, keptIf: g.keptIf, labels: labels}
}

func (g *gen) ws(b []byte) []byte {
	return append(b, g.pick([]string{"", "", "", " ", "\n", "\t ", "\r\n"})...)
}

func (g *gen) write(b []byte, n *gnode) []byte {
	switch n.kind {
	case 'o', 'a':
		open, close := byte('['), byte(']')
		if n.kind == 'o' {
			open, close = '{', '}'
		}
		b = append(b, open)
		for i, kid := range n.kids {
			if i > 0 {
				b = append(g.ws(b), ',')
			}
			b = g.ws(b)
			if n.kind == 'o' {
				b = g.writeString(b, n.keys[i], false)
				b = append(g.ws(b), ':')
				b = g.ws(b)
			}
			b = g.write(b, kid)
		}
		return append(g.ws(b), close)
	case 's':
		if n.escDigits {
			return g.writeEscDigits(b, n.text)
		}
		return g.writeString(b, n.text, !n.exact)
	default:
		return append(b, n.text...)
	}
}

// writeString writes s as a JSON string, escaping some characters at random,
// and (when lone) sometimes adding a lone surrogate escape.
func (g *gen) writeString(b []byte, s string, lone bool) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 && g.intn(2) == 0 && (r == '\n' || r == '\t'):
			b = append(b, '\\', map[rune]byte{'\n': 'n', '\t': 't'}[r])
		case r < 0x20 || g.intn(8) == 0:
			if r > 0xFFFF {
				r1, r2 := utf16.EncodeRune(r)
				b = fmt.Appendf(b, `\u%04x\u%04X`, r1, r2)
			} else {
				b = fmt.Appendf(b, `\u%04x`, r)
			}
		case r == '/' && g.intn(2) == 0:
			b = append(b, `\/`...)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	if lone && g.intn(16) == 0 {
		b = append(b, `\ud800`...) // a lone surrogate: U+FFFD
	}
	return append(b, '"')
}

// ---- KeepIf: documented times, and their near misses ----

var fuzzPolicy = Policy{
	Keep: map[string]bool{"orderNo": true, "cardId": true},
	KeepIf: map[string]func(string) bool{
		"orderTime":  isDateTime,
		"updateTime": isEpochMillis,
		"@":          isDateTime, // no letter in the name: only its value stands between the runs on either side
		// A function that breaks the rule on '*' (it accepts anything):
		// Redact still refuses a text holding '*'.
		"lax":        func(string) bool { return true },
		"orderNo":    func(string) bool { return false }, // Keep wins
		"pan":        func(string) bool { return true },  // a card-number field: never kept
		"secretTime": isDateTime,                         // dropped: Drop wins
	},
	Drop: func(name string) bool { return strings.Contains(strings.ToLower(name), "secret") },
}

// keptIfKept says, for each plant under a KeepIf name that the policy asks
// about, whether the value is kept as sent.
var keptIfKept = map[string]bool{
	"time-luhn": true, "time": true, "time-escaped": true, "next-kept": true, "beside-kept": true, "lax-plain": true,
	"time-letter": false, "digits14": false, "pan": false, "pan-spaced": false, "time+pan": false, "pan-escaped": false,
	"number": false, "object": false, "array": false, "literal": false, "masked": false, "time-space": false,
	"next-refused": false, "beside-refused": false, "ms-range": false, "ms-sep": false, "lax-star": false,
}

var (
	// Plants under a KeepIf name the policy never asks about: Keep, Drop or
	// the card-number rule wins.
	keptIfNotAsked = []string{"card-time", "dropped", "keep-wins"}
	timePlants     = []string{"time-luhn", "time", "time-escaped", "next-kept", "time-letter", "digits14", "pan", "pan-spaced",
		"time+pan", "pan-escaped", "number", "object", "array", "literal", "masked", "time-space", "next-refused"}
	// The top-level names planted, in order, and what each may hold.
	keptIfNames  = []string{"orderTime", "updateTime", "@", "lax", "pan", "secretTime", "orderNo"}
	keptIfPlants = map[string][]string{
		"orderTime":  timePlants,
		"updateTime": append(timePlants[:len(timePlants):len(timePlants)], "ms-range", "ms-sep"),
		"@":          append(timePlants[:len(timePlants):len(timePlants)], "beside-kept", "beside-refused"),
		"lax":        {"lax-plain", "lax-star"},
		"pan":        {"card-time"},
		"secretTime": {"dropped"},
		"orderNo":    {"keep-wins"},
	}
)

// digitsOf returns the ASCII digits of s.
func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// luhnComplete returns digits followed by the check digit that makes it pass.
func luhnComplete(digits string) string {
	for c := byte('0'); c <= '9'; c++ {
		if Luhn(digits + string(c)) {
			return digits + string(c)
		}
	}
	panic("no check digit")
}

func (g *gen) randDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.intn(10))
	}
	return string(b)
}

// randTime returns a time in dateTimeLayout; its 14 digits pass the Luhn
// check when luhn.
func (g *gen) randTime(luhn bool) string {
	t := time.Date(2000+g.intn(100), time.Month(1+g.intn(12)), 1+g.intn(28), g.intn(24), g.intn(60), 10*g.intn(6), 0, time.UTC)
	if !luhn {
		return t.Add(time.Duration(g.intn(10)) * time.Second).Format(dateTimeLayout)
	}
	// The last digit of the seconds is the check digit: one of ten passes.
	for !Luhn(digitsOf(t.Format(dateTimeLayout))) {
		t = t.Add(time.Second)
	}
	return t.Format(dateTimeLayout)
}

// randMs returns 13 digits, a Unix-millisecond time from 2001 to 2096, that
// pass the Luhn check when luhn.
func (g *gen) randMs(luhn bool) string {
	d := string(rune('1'+g.intn(3))) + g.randDigits(11)
	if luhn {
		return luhnComplete(d)
	}
	return d + g.randDigits(1)
}

// str is a string node written without a lone surrogate added.
func str(text string) *gnode { return &gnode{kind: 's', text: text, exact: true} }

// addBlock adds members to the top-level object root, together, where they
// split no earlier block; it adds nothing and returns false when a key is
// taken.
func (g *gen) addBlock(root *gnode, keys []string, kids []*gnode) bool {
	for k, key := range keys {
		if slices.Contains(root.keys, key) || slices.Contains(keys[:k], key) {
			return false
		}
	}
	g.blocks++
	for _, kid := range kids {
		kid.block = g.blocks
	}
	i := g.intn(len(root.keys) + 1)
	for i > 0 && i < len(root.kids) && root.kids[i-1].block != 0 && root.kids[i-1].block == root.kids[i].block {
		i++
	}
	root.keys = slices.Insert(root.keys, i, keys...)
	root.kids = slices.Insert(root.kids, i, kids...)
	return true
}

// plantKeptIf plants documented times and their near misses under the
// KeepIf names of fuzzPolicy: at the top level of an object (each name at
// most once), and below it, where a KeepIf name is not kept. It returns the
// plants made.
func (g *gen) plantKeptIf(root *gnode) (labels []string) {
	if len(g.conts) > 0 && g.intn(3) == 0 {
		// Below the top level: redacted.
		name, t := "orderTime", g.randTime(true)
		if g.intn(2) == 0 {
			name, t = "updateTime", g.randMs(true)
		}
		g.pans = append(g.pans, digitsOf(t))
		g.place(&gnode{kind: 'o', keys: []string{name}, kids: []*gnode{str(t)}})
		labels = append(labels, "nested")
	}
	if root.kind != 'o' {
		return labels
	}
	for k, name := range keptIfNames {
		if g.intn(4) >= []int{3, 3, 3, 2, 1, 1, 1}[k] {
			continue
		}
		label := g.pick(keptIfPlants[name])
		if g.plantOne(root, name, label) {
			g.keptIf[name] = label
			labels = append(labels, label)
		}
	}
	return labels
}

// plantOne plants under name (at the top level of root) what label says.
func (g *gen) plantOne(root *gnode, name, label string) bool {
	ms := name == "updateTime"
	valid := func(luhn bool) string {
		if ms {
			return g.randMs(luhn)
		}
		return g.randTime(luhn)
	}
	// noLetter returns a time that the layout refuses, its digits left as
	// one run: a separator added or doubled.
	noLetter := func(t string) string {
		if ms {
			return t[:10] + g.pick([]string{".", " ", "-", "/"}) + t[10:]
		}
		switch g.intn(3) {
		case 0:
			return t + g.pick([]string{" ", ".", "\u00a0"})
		case 1:
			return " " + t
		default:
			return strings.Replace(t, " ", "  ", 1)
		}
	}
	pan := func() string {
		p := g.randPAN()
		for ms && isEpochMillis(p) {
			// A 13-digit card number starting with 1 to 4 is also a
			// valid epoch-millisecond time: kept, as the layout says.
			p = g.randPAN()
		}
		g.pans = append(g.pans, p)
		return p
	}
	lit := func(text string) *gnode { return &gnode{kind: 'r', text: text} }
	one := func(v *gnode) bool { return g.addBlock(root, []string{name}, []*gnode{v}) }
	switch label {
	case "time-luhn":
		return one(str(valid(true)))
	case "time":
		return one(str(valid(false)))
	case "time-escaped": // kept: the function sees the escapes resolved
		v := str(valid(true))
		v.escDigits = true
		return one(v)
	case "next-kept", "next-refused":
		// The next member's key is digits that make a Luhn-valid run with
		// the value's digits, were they read (refused) or not cut off by
		// the value's one letter (kept).
		t := valid(false)
		if label == "next-refused" {
			t = noLetter(t)
		}
		td := digitsOf(t)
		d2 := luhnComplete(td + g.randDigits(g.intn(19-len(td))))[len(td):]
		key := g.grouped(d2)
		if !g.addBlock(root, []string{name, key}, []*gnode{str(t), lit("true")}) {
			return false
		}
		if label == "next-refused" {
			g.pans = append(g.pans, td+d2)
		} else {
			g.besides = append(g.besides, beside{cond: name, key: key})
		}
		return true
	case "beside-kept", "beside-refused":
		// Between the digits of the member before and those of the key
		// after: kept, the value is one letter between the two halves of
		// a card number; refused, its digits join them into a Luhn-valid
		// run.
		var d1, t, d2, run string
		if label == "beside-kept" {
			p := g.randPAN()
			lo, hi := max(1, len(p)-12), min(12, len(p)-1)
			k := lo + g.intn(hi-lo+1)
			d1, t, d2 = p[:k], valid(false), p[k:]
		} else {
			t = noLetter(valid(false))
			td := digitsOf(t)
			d1 = g.randDigits(1 + g.intn(2))
			run = luhnComplete(d1 + td + g.randDigits(g.intn(19-len(d1)-len(td))))
			d2 = run[len(d1)+len(td):]
		}
		lkey, d1text, key := "beside"+g.pick([]string{"a", "b", "x"}), g.grouped(d1), g.grouped(d2)
		if !g.addBlock(root, []string{lkey, name, key}, []*gnode{str(d1text), str(t), lit("true")}) {
			return false // a key taken: nothing planted
		}
		if run != "" {
			g.pans = append(g.pans, run)
		}
		if label == "beside-kept" {
			g.besides = append(g.besides, beside{cond: name, key: lkey, value: &d1text}, beside{cond: name, key: key})
		}
		return true
	case "time-letter":
		t := valid(true)
		switch g.intn(3) {
		case 0:
			g.pans = append(g.pans, digitsOf(t))
			return one(str(t + g.pick([]string{"Z", "z", "é"})))
		case 1:
			g.pans = append(g.pans, digitsOf(t))
			return one(str("T" + t))
		default: // letters inside: no long run left
			if ms {
				return one(str(t[:10] + "x" + t[10:]))
			}
			return one(str(strings.Replace(strings.Replace(t, " ", "T", 1), "-", "x", 1)))
		}
	case "digits14":
		d := digitsOf(g.randTime(true))
		if ms {
			d = luhnComplete(g.randMs(false))
		}
		g.pans = append(g.pans, d)
		return one(str(d))
	case "ms-range": // 13 digits, after 2100
		d := luhnComplete(string(rune('5'+g.intn(5))) + g.randDigits(11))
		g.pans = append(g.pans, d)
		return one(str(d))
	case "ms-sep", "time-space":
		t := valid(true)
		g.pans = append(g.pans, digitsOf(t))
		return one(str(noLetter(t)))
	case "pan":
		return one(str(g.scripted(pan())))
	case "pan-spaced":
		p := pan()
		var b strings.Builder
		for i := 0; i < len(p); i += 4 {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(p[i:min(i+4, len(p))])
		}
		return one(str(g.scripted(b.String())))
	case "time+pan":
		return one(str(valid(false) + g.pick([]string{" ", "", "/"}) + g.scripted(pan())))
	case "pan-escaped":
		v := str(pan())
		v.escDigits = true
		return one(v)
	case "number": // a number, not a string
		t := digitsOf(valid(true))
		g.pans = append(g.pans, t)
		return one(lit(t))
	case "object":
		t := valid(true)
		g.pans = append(g.pans, digitsOf(t))
		return one(&gnode{kind: 'o', keys: []string{g.pick([]string{name, "v"})}, kids: []*gnode{str(t)}})
	case "array":
		t := valid(true)
		g.pans = append(g.pans, digitsOf(t))
		return one(&gnode{kind: 'a', kids: []*gnode{str(t)}})
	case "literal":
		return one(lit(g.pick([]string{"true", "false", "null"})))
	case "masked": // as a redacted time reads: refused, nothing more to mask
		t := []byte(valid(true))
		n, all := 0, len(digitsOf(string(t)))
		for k, c := range t {
			if c >= '0' && c <= '9' {
				if n >= 6 && n < all-4 {
					t[k] = '*'
				}
				n++
			}
		}
		return one(str(string(t)))
	case "lax-plain": // kept as sent, as the (lax) function says
		return one(str(g.randPAN()))
	case "lax-star": // holding '*': refused, whatever the function says
		p := pan()
		i := 1 + g.intn(len(p)-1)
		return one(str(p[:i] + "*" + p[i:]))
	case "card-time": // a card-number field: masked, its digits known
		t := g.randTime(true)
		if isCardKey(name) {
			g.known = append(g.known, digitsOf(t))
		}
		return one(str(t))
	case "dropped":
		return one(str(g.randTime(true)))
	case "keep-wins":
		if g.intn(2) == 0 {
			return one(lit(digitsOf(g.randTime(true))))
		}
		return one(str(g.randTime(true)))
	}
	panic("unknown plant " + label)
}

// writeEscDigits writes s (ASCII) as a JSON string with every digit escaped.
func (g *gen) writeEscDigits(b []byte, s string) []byte {
	b = append(b, '"')
	for i := range len(s) {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			b = fmt.Appendf(b, g.pick([]string{`\u%04x`, `\u%04X`}), c)
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// checkGenerated generates a body from data and checks the guarantee on it,
// under fuzzPolicy and the zero Policy. It returns the case and, per
// top-level KeepIf member fuzzPolicy asks about, whether its value is kept.
func checkGenerated(t *testing.T, data []byte) (genCase, map[string]bool) {
	c := generate(data)
	body := c.body
	if !json.Valid(body) {
		t.Fatalf("generator: invalid JSON %q", body)
	}
	if bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
		if err := jsonx.CheckObject(body); err != nil {
			t.Fatalf("generator: %v: %q", err, body)
		}
	}
	// Every planted number is in the input, read with nothing kept, whatever
	// the script of its digits: the plants are what the oracle looks for.
	runs, err := refRuns(body, nil, nil, false)
	if err != nil {
		t.Fatalf("generator: %v: %q", err, body)
	}
	for _, p := range c.pans {
		if len(cardref.RunsContaining(runs, p)) == 0 {
			t.Fatalf("generator: planted %s is not in %q", p, body)
		}
	}
	keptIf := checkRedacted(t, fuzzPolicy, body, c.planted)
	checkRedacted(t, Policy{}, body, c.planted)
	// The plants are what they claim: the documented times are accepted, the
	// near misses refused, and the names Keep, Drop or the card-number rule
	// take are not asked about.
	for name, label := range c.keptIf {
		kept, asked := keptIf[name]
		if want, ok := keptIfKept[label]; asked != ok || kept != want {
			t.Fatalf("generator: %s holds a %s plant; asked %v, kept %v\n%q", name, label, asked, kept, body)
		}
	}
	return c, keptIf
}

// FuzzRedact: from the fuzzer's bytes, a random JSON body with card numbers
// planted in every shape; the oracle is the guarantee itself.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"", "\x00", "\x01\x02\x03\x04\x05\x06\x07\x08", "seed", "\x02\x05\x03\x04\x06\x07\x08\x00\x01",
		"card numbers everywhere", strings.Repeat("\x03", 40), strings.Repeat("\x04\x08", 30)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkGenerated(t, data)
	})
}

// FuzzRedactRaw: arbitrary bytes. Redact never panics, accepts exactly the
// valid documents (valid JSON in valid UTF-8 without duplicate keys, nested
// at most jsonx.MaxDepth deep, every number in a float64's range: what the
// pipeline's parse accepts), and its output holds the guarantee.
func FuzzRedactRaw(f *testing.F) {
	for _, s := range []string{`{"a":"4111 1111 1111 1111"}`, `[4111,1111,1111,1111]`, `{"cardNumber":5554748800912345,"x":"5554748800912345"}`,
		`"\ud800\udc00"`, `{"a":1,"a":2}`, "\"\xff\"", `{"4111111111111111":1,"4111110000091111":2,"411111******1111":3}`, `-0.0e+0`,
		`{"orderTime":"2024-08-09 15:11:19","@":"2024-08-09 15:11:19 ","updateTime":1723216279121,"lax":"4111*111111111111"}`,
		`{"a":"4111 11","@":"2024-08-09 15:11:09","11 1111 1111":true,"x":{"orderTime":"\u0032024-08-09 15:11:19"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, err := fuzzPolicy.redact(in)
		_, refErr := refRuns(in, nil, nil, false)
		valid := json.Valid(in) && utf8.Valid(in) && refErr == nil && withinParserLimits(in)
		if (err == nil) != valid {
			t.Fatalf("Redact(%q): %v; valid %v (%v)", in, err, valid, refErr)
		}
		if err != nil {
			if out != nil {
				t.Fatal("output with an error")
			}
			return
		}
		checkRedacted(t, fuzzPolicy, in, planted{})
	})
}

// The fuzz oracle on a few thousand generated bodies, in every `go test`.
func TestRedactGenerated(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	plants := map[string]int{}
	kept, refused := 0, 0
	for i := range n {
		c, keptIf := checkGenerated(t, []byte(strconv.FormatUint(uint64(i), 36)))
		for _, l := range c.labels {
			plants[l]++
		}
		for _, k := range keptIf {
			if k {
				kept++
			} else {
				refused++
			}
		}
	}
	// Both branches, and (in a full run) every plant, are exercised.
	t.Logf("KeepIf values kept %d, redacted %d; plants %v", kept, refused, plants)
	if kept == 0 || refused == 0 {
		t.Errorf("KeepIf values kept %d, redacted %d: a branch is never taken", kept, refused)
	}
	if !testing.Short() {
		for _, l := range append(slices.Collect(maps.Keys(keptIfKept)), append(keptIfNotAsked, "nested", "other-script", "mixed-scripts")...) {
			if plants[l] == 0 {
				t.Errorf("no %s plant in %d bodies", l, n)
			}
		}
	}
}

// naiveMaskRun applies the masking rules to one run's digits (ASCII) the slow
// way: every Luhn window, every known number, then the fixpoint on the digits
// left, recomputing them from scratch after each masking. known lists the
// known numbers in the order Redact meets them (their lengths are tried in
// that order).
func naiveMaskRun(d string, known []string) []bool {
	m := make([]bool, len(d))
	mark := func(from, to int) {
		for t := from; t < to; t++ {
			m[t] = true
		}
	}
	isKnown := func(s string) bool {
		for _, k := range known {
			if k == s {
				return true
			}
		}
		return false
	}
	for i := range d {
		for L := 13; L <= 19 && i+L <= len(d); L++ {
			if Luhn(d[i : i+L]) {
				mark(i+6, i+L-4)
			}
		}
		for L := 12; L <= 19 && i+L <= len(d); L++ {
			if isKnown(d[i : i+L]) {
				if L >= 15 {
					mark(i+6, i+L-4)
				} else {
					mark(i, i+L)
				}
			}
		}
	}
	var lens []int // known lengths in first-seen order
	for _, k := range known {
		seen := false
		for _, L := range lens {
			seen = seen || L == len(k)
		}
		if !seen {
			lens = append(lens, len(k))
		}
	}
	for e := 0; ; e++ { // e: index in K of the digit whose windows are checked
		var K []int
		var ks []byte
		for t := range d {
			if !m[t] {
				K = append(K, t)
				ks = append(ks, d[t])
			}
		}
		if e >= len(K) {
			return m
		}
		n := e + 1
		cut, to := -1, 0
		for L := 19; L >= 13; L-- {
			if L <= n && Luhn(string(ks[n-L:n])) {
				cut, to = n-L+6, n-4
				break
			}
		}
		if cut < 0 {
			for _, L := range lens {
				if L <= n && isKnown(string(ks[n-L:n])) {
					cut, to = n-L, n
					if L >= 15 {
						cut, to = n-L+6, n-4
					}
					break
				}
			}
		}
		if cut >= 0 {
			for _, k := range K[cut:to] {
				m[k] = true
			}
			e = cut - 1 // resume at the digit after the masked ones, now K[cut]
		}
	}
}

// Redact masks exactly what the naive procedure masks (the stack, the prefix
// sums, the skipped prefix of a run, the rolling windows are shortcuts).
func TestRedactMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 6000
	if testing.Short() {
		n = 600
	}
	for it := range n {
		alphabet := []string{"0123456789", "01", "1", "19", "4", "0", "0123456789"}[it%7]
		var d []byte
		for range rng.IntN([]int{40, 90, 250}[it%3]) {
			d = append(d, alphabet[rng.IntN(len(alphabet))])
		}
		// Up to 3 card-number fields holding pieces of the run (or not).
		var known []string
		body := `{`
		for k := range rng.IntN(4) {
			L := 12 + rng.IntN(8)
			v := pseudoDigits(L)
			if len(d) >= L && rng.IntN(4) > 0 {
				i := rng.IntN(len(d) - L + 1)
				v = string(d[i : i+L])
			}
			known = append(known, v)
			body += fmt.Sprintf(`"%s":"%s",`, []string{"cardNumber", "card_number", "pan"}[k], v)
		}
		// The run, its digits separated at random.
		var run strings.Builder
		for _, c := range d {
			run.WriteByte(c)
			run.WriteString([]string{"", "", "", " ", "-", ".", "\u2028"}[rng.IntN(7)])
		}
		body += `"x":"` + run.String() + `"}`
		out, err := Policy{}.Redact([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		var gotMask []bool
		for _, r := range got["x"] {
			if r == '*' || unicode.IsDigit(r) {
				gotMask = append(gotMask, r == '*')
			}
		}
		if want := naiveMaskRun(string(d), known); fmt.Sprint(gotMask) != fmt.Sprint(want) {
			t.Fatalf("%s\n-> %s\nwant mask %v\n got mask %v", body, out, want, gotMask)
		}
	}
}

// Redact reads a document with package jsonx's parser, so it refuses what
// the pipeline's parse refuses beyond ambiguity (deep nesting, numbers out of
// a float64's range): an error wrapping ErrInvalid and no output, never a
// document with the number in it.
func TestRedactRefusesWhatTheParserRefuses(t *testing.T) {
	for _, in := range []string{
		`{"a":` + strings.Repeat("[", 40) + `"4111 1111 1111 1111"` + strings.Repeat("]", 40) + `}`,
		`{"a":1e400,"b":4111111111111111e400}`,
		strings.Repeat("[", 20000) + "4111111111111111" + strings.Repeat("]", 20000),
		`{"a":"4111111111111111","a":1}`,
	} {
		out, err := Policy{}.Redact([]byte(in))
		if !errors.Is(err, ErrInvalid) || out != nil {
			t.Errorf("%.60s: %q, %v; want no output and ErrInvalid", in, out, err)
		}
	}
}

// withinParserLimits reports whether the JSON text in (valid for
// encoding/json) is nested at most jsonx.MaxDepth deep and holds only numbers
// a float64 can hold, read with encoding/json.
func withinParserLimits(in []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err == io.EOF
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				if depth++; depth > jsonx.MaxDepth {
					return false
				}
			} else {
				depth--
			}
		case json.Number:
			if _, err := strconv.ParseFloat(string(v), 64); err != nil {
				return false
			}
		}
	}
}

// checkSameTokens checks that RedactValue, on in parsed, returns the document
// of out (Redact's output) with exactly the tokens jsonx.ParseValue finds in
// it: the redacted document is never parsed, so its tokens must be the
// parser's.
func checkSameTokens(t *testing.T, p Policy, in, out []byte) {
	t.Helper()
	src, err := jsonx.ParseValue(in)
	if err != nil {
		t.Fatalf("ParseValue(%q): %v (Redact accepted it)", in, err)
	}
	defer src.Release()
	red := p.RedactValue(src.Root())
	defer red.Release()
	if !bytes.Equal(red.Body(), out) {
		t.Fatalf("RedactValue wrote %q, Redact %q", red.Body(), out)
	}
	parsed, err := jsonx.ParseValue(out)
	if err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	defer parsed.Release()
	got, want := slices.Collect(red.Root().Tokens()), slices.Collect(parsed.Root().Tokens())
	if !slices.Equal(got, want) {
		t.Fatalf("tokens of the redacted document of %q:\n got %v\nwant %v", out, got, want)
	}
}
