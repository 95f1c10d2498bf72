package pan

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"

	"webhooks/shared/jsonx"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"5554748800912345", "555474******2345"},
		{"4111111111111111111", "411111*********1111"}, // 19 digits
		{"378282246310005", "378282*****0005"},         // 15 digits (Amex): 5 hidden
		{"5554 7488 0091 2345", "5554 74** **** 2345"},
		{"5554-7488-0091-2345", "5554-74**-****-2345"},
		{"555474******2345", "555474******2345"}, // already masked: unchanged
		{"30569309025904", "**************"},     // 14 digits: too short to show 6+4
		{"4111111111", "**********"},
		{"1234", "****"},
		{"", ""},
		{"５５５４７４８８００９１２３４５", "５５５４７４******２３４５"}, // fullwidth digits
		{"card 5554.7488.0091.2345 ok", "card 5554.74**.****.2345 ok"},
	} {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Mask(tc.in); len([]rune(got)) != len([]rune(tc.in)) {
			t.Errorf("Mask(%q) changed the length", tc.in)
		}
		if got := Mask(Mask(tc.in)); got != Mask(tc.in) {
			t.Errorf("Mask(Mask(%q)) = %q", tc.in, got)
		}
	}
}

func TestIsCardNumberField(t *testing.T) {
	yes := []string{"cardNumber", "card_number", "CardNumber", "CARD_NUMBER", "cardNo", "card_no", "cardNum", "cardnumber",
		"pan", "PAN", "cardPAN", "cardPan", "card-number", "fullCardNumber", "primaryAccountNumber", "panNumber", "card.number"}
	no := []string{"cardId", "cardType", "cardAmount", "cardCurrency", "timespan", "company", "panel", "orderNo", "cardNotes", "number", ""}
	for _, k := range yes {
		if !IsCardNumberField(k) || !isCardKey(k) {
			t.Errorf("%q should be a card number field", k)
		}
	}
	for _, k := range no {
		if IsCardNumberField(k) || isCardKey(k) {
			t.Errorf("%q should not be a card number field", k)
		}
	}
	// Redact also treats a key as a card-number field when it is one with its
	// digits masked, so that masking a key's digits never changes the answer.
	for _, k := range []string{"cardNumber2", "pan1", "card123456789012number"} {
		if !isCardKey(k) || !isCardKey(Mask(k)) {
			t.Errorf("isCardKey(%q) should be true", k)
		}
	}
}

func TestLuhn(t *testing.T) {
	for s, want := range map[string]bool{"4111111111111111": true, "5555555555554444": true, "4111111111111112": false, "": false, "41a1": false} {
		if Luhn(s) != want {
			t.Errorf("Luhn(%q) = %v", s, !want)
		}
	}
}

// Every range of decimal digits is made of whole blocks of ten, 0 to 9, so
// that a digit's value is its position in its block.
func TestDigitValues(t *testing.T) {
	check := func(lo, hi, stride uint32) {
		if stride != 1 || (hi-lo+1)%10 != 0 {
			t.Errorf("Nd range %#x-%#x (stride %d) is not whole blocks of ten", lo, hi, stride)
		}
		for r := lo; r <= hi; r++ {
			v, ok := digitValue(rune(r))
			if !ok || uint32(v) != (r-lo)%10 {
				t.Errorf("digitValue(%U) = %d, %v", r, v, ok)
			}
		}
	}
	for _, r := range unicode.Nd.R16 {
		check(uint32(r.Lo), uint32(r.Hi), uint32(r.Stride))
	}
	for _, r := range unicode.Nd.R32 {
		check(r.Lo, r.Hi, r.Stride)
	}
	for _, r := range []rune{'a', '²', '½', 'Ⅳ', '*', 0x10FFFF} {
		if _, ok := digitValue(r); ok {
			t.Errorf("%U is not a decimal digit", r)
		}
	}
}

func redactString(t *testing.T, p Policy, in string) string {
	t.Helper()
	out, err := p.Redact([]byte(in))
	if err != nil {
		t.Fatalf("Redact(%s): %v", in, err)
	}
	return string(out)
}

func TestRedactExamples(t *testing.T) {
	q := func(s string) string { return string(jsonx.AppendString(nil, s)) }
	for _, tc := range []struct{ in, want string }{
		// Text.
		{q("card 4111 1111 1111 1111 exp 2029"), q("card 4111 11** **** 1111 exp 2029")},
		{q("card 4111111111111111 declined"), q("card 411111******1111 declined")},
		{q("card4111111111111111"), q("card411111******1111")},
		{q("TRX4111111111111111"), q("TRX411111******1111")},
		{q("0xab4111111111111111cd"), q("0xab411111******1111cd")},
		{q("pan=5555555555554444."), q("pan=555555******4444.")},
		{q("4111.1111.1111.1111"), q("4111.11**.****.1111")},
		{q("4111_1111_1111_1111"), q("4111_11**_****_1111")},
		{q("4111/1111/1111/1111"), q("4111/11**/****/1111")},
		{q("4111  1111  1111  1111"), q("4111  11**  ****  1111")},
		{q("4111 - 1111 -- 1111 *** 1111"), q("4111 - 11** -- **** *** 1111")},
		{q("4111\u00a01111\u20281111\u30001111"), q("4111\u00a011**\u2028****\u30001111")},
		{`"4111\u00a01111\u20281111\u30001111"`, "\"4111\u00a011**\u2028****\u30001111\""}, // escapes decoded
		{`"\u0034111111111111111"`, `"411111******1111"`},
		{q("４１１１１１１１１１１１１１１１"), q("４１１１１１******１１１１")},       // fullwidth digits
		{q("4111²1111²1111²1111"), q("4111²11**²****²1111")}, // '²' is not a digit
		{q("4111111111111112"), q("411111111***1112")},       // fails Luhn, but a 13-digit window passes
		{q("2024-08-09 15:11:09"), q("2024-08-09 15:11:09")}, // fails Luhn
		{q("no digits here"), q("no digits here")},
		// A 21-digit run whose only Luhn-valid window is the card number.
		{q("id 002411111111111111111 x"), q("id 002411111******111111 x")},
		// Numbers become strings when masked.
		{`{"n":4111111111111111}`, `{"n":"411111******1111"}`},
		{`{"n":-4111111111111111.0e5}`, `{"n":"-411111*******111.0e5"}`},
		{`{"n":4111111111111111e5}`, `{"n":"411111******1111e5"}`},
		{`{"n":41111111,"m":5}`, `{"n":41111111,"m":5}`},
		// Keys.
		{`{"4111111111111111":true}`, `{"411111******1111":true}`},
		{`{"a":{"4111111111111111":"x","4111110000091111":"y","411111******1111":"z","411111******1111#a":"w"}}`,
			`{"a":{"411111******1111#b":"x","411111******1111#c":"y","411111******1111":"z","411111******1111#a":"w"}}`},
		// Across array elements and tokens.
		{`["4111","1111","1111","1111"]`, `["4111","11**","****","1111"]`},
		{`[4111,1111,1111,1111]`, `[4111,"11**","****",1111]`},
		{`{"x":[4111, "1111"], "1111":"1111"}`, `{"x":[4111,"11**"],"****":"1111"}`},
		{`["4111",true,"1111","1111","1111"]`, `["4111",true,"1111","1111","1111"]`}, // a literal is a letter
		// Whitespace and escapes are normalised; nothing is HTML-escaped.
		{"{ \"a\" : [ 1 , \"<&>\\u2028\\/\" ] }\n", "{\"a\":[1,\"<&>\u2028/\"]}"},
		{`"\ud800x"`, "\"\ufffdx\""},
		// Card-number fields: whatever they hold.
		{`{"cardNumber":"5554748800912345"}`, `{"cardNumber":"555474******2345"}`},
		{`{"card":{"pan":[30569309025904,"ab12"]}}`, `{"card":{"pan":["**************","ab**"]}}`},
		{`{"cardNo":"555474******2345"}`, `{"cardNo":"555474******2345"}`},
	} {
		if got := redactString(t, Policy{}, tc.in); got != tc.want {
			t.Errorf("Redact(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestRedactPolicy(t *testing.T) {
	keep := Policy{Keep: map[string]bool{"orderNo": true, "cardId": true, "cardNumber": true}}
	body := `{"cardNumber":"5554748800912345","cardId":"4111111111111111111","note":"paid with 4111111111111111",
		"nested":{"card_no":5555555555554444,"list":["x 5555555555554444 y"],"pan":{"v":"378282246310005"},"orderNo":"4111111111111111"},
		"orderNo":"4111111111111111","amount":61.91}`
	s := redactString(t, keep, body)
	for _, leak := range []string{"5554748800912345", "5555555555554444", "paid with 4111111111111111", "378282246310005", `"orderNo":"4111111111111111"}`} {
		if strings.Contains(s, leak) {
			t.Errorf("%q survived: %s", leak, s)
		}
	}
	for _, want := range []string{`"cardNumber":"555474******2345"`, `"cardId":"4111111111111111111"`, `"orderNo":"4111111111111111"`,
		`"card_no":"555555******4444"`, `"x 555555******4444 y"`, `"v":"378282*****0005"`, `"amount":61.91`, `"orderNo":"411111******1111"}`} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s in %s", want, s)
		}
	}

	// Kept values are written as sent; the same number elsewhere is masked.
	in := `{"orderNo":"4111111111111111","cardId":"4111111111111111111","other":"4111111111111111"}`
	want := `{"orderNo":"4111111111111111","cardId":"4111111111111111111","other":"411111******1111"}`
	if got := redactString(t, keep, in); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	in = `{"orderNo": "41\u00311111111111111", "cardId": 4111111111111111}`
	want = `{"orderNo":"41\u00311111111111111","cardId":4111111111111111}`
	if got := redactString(t, keep, in); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Only a scalar is kept: an object or array under a kept name is
	// redacted like any other value.
	for _, tc := range []struct{ in, want string }{
		{`{"cardId": [4111111111111111, {"a": 1}]}`, `{"cardId":["411111******1111",{"a":1}]}`},
		{`{"orderNo":{"cardNumber":"5554748800912345"},"x":"5554748800912345"}`,
			`{"orderNo":{"cardNumber":"555474******2345"},"x":"555474******2345"}`},
		{`{"orderNo":{"pan":{"v":1234}},"cardId":{"cardId":"4111111111111111"}}`,
			`{"orderNo":{"pan":{"v":"****"}},"cardId":{"cardId":"411111******1111"}}`},
		{`{"orderNo":{"secret":"4111111111111111","a":true},"cardId":null}`, `{"orderNo":{"a":true},"cardId":null}`},
		{`{"orderNo":["4111 1111", "1111 1111"]}`, `{"orderNo":["4111 11**","**** 1111"]}`},
	} {
		p := Policy{Keep: keep.Keep, Drop: func(name string) bool { return name == "secret" }}
		if got := redactString(t, p, tc.in); got != tc.want {
			t.Errorf("Redact(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	in = `{"x":{"orderNo":4111111111111111}}`
	if got := redactString(t, keep, in); got != `{"x":{"orderNo":"411111******1111"}}` {
		t.Errorf("Keep applies to top-level members only: %s", got)
	}
	// A kept member's key is scanned; its value is a break, like a letter.
	in = `{"0":"4111111111111111"}`
	if got := redactString(t, Policy{Keep: map[string]bool{"0": true}}, in); got != in {
		t.Errorf("got %s", got)
	}
	if got := redactString(t, Policy{}, in); got != `{"0":"41111*******1111"}` {
		t.Errorf("got %s", got)
	}

	// Dropped members go, at any depth, and are not scanned.
	drop := Policy{Drop: func(name string) bool { return strings.Contains(strings.ToLower(name), "secret") }}
	in = `{"privateSecret":"4111111111111111","a":{"b":1,"mySecret":{"x":"y"}},"c":[{"secret":2}],"d":"4111 1111","secretNo":"x","e":"1111 1111"}`
	want = `{"a":{"b":1},"c":[{}],"d":"4111 1111","e":"1111 1111"}`
	if got := redactString(t, drop, in); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// A dropped member contributes nothing: the digits on either side join.
	in = `["4111 1111 1111",{"secret":"a"},"1111"]`
	if got := redactString(t, drop, in); got != `["4111 11** ****",{},"1111"]` {
		t.Errorf("got %s", got)
	}
}

// A card number that fails the Luhn check (like the provider's documented
// example) is still masked wherever else it appears in the same payload.
func TestRedactKnownNumberEverywhere(t *testing.T) {
	in := `{"cardNumber":"5554748800912345","failReason":"card 5554 7488 0091 2345 declined","orderNo":"x5554748800912345",
		"n":5554748800912345,"deep":[{"t":"5554-7488-0091-2345"}],"other":"zz5554748800912346","t":"a5554.7488_0091/2345b", "u": "５５５４７４８８００９１２３４５"}`
	s := redactString(t, Policy{Keep: map[string]bool{"orderNo": true}}, in)
	for _, want := range []string{`"cardNumber":"555474******2345"`, `"card 5554 74** **** 2345 declined"`, `"orderNo":"x5554748800912345"`,
		`"n":"555474******2345"`, `"t":"5554-74**-****-2345"`, `"other":"zz55547488****2346"`, `"t":"a5554.74**_****/2345b"`,
		`"u":"５５５４７４******２３４５"`} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s in %s", want, s)
		}
	}
	// A short card-number value is masked completely, everywhere.
	s = redactString(t, Policy{}, `{"pan":"123456789012","x":"a 1234 5678 9012 b"}`)
	if s != `{"pan":"************","x":"a **** **** **** b"}` {
		t.Errorf("got %s", s)
	}
	// Masking can join a known number's digits; they are masked too.
	s = redactString(t, Policy{}, `{"cardNumber":"5554748800912345","x":"q 555474 4111111111111111 8800912345"}`)
	if strings.Contains(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s), "5554748800912345") {
		t.Errorf("the known number forms again across the masked digits: %s", s)
	}
}

// Bodies of characters that encoding/json escapes come out no longer.
func TestRedactNoInflation(t *testing.T) {
	for _, body := range []string{
		`{"a":"` + strings.Repeat("<", 200000) + `"}`,
		`{"a":"` + strings.Repeat("\u2028", 75000) + `"}`,
		`{"a":"` + strings.Repeat(`<>&\u2029`, 20000) + `"}`,
	} {
		out, err := Policy{}.Redact([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > len(body) {
			t.Errorf("%d bytes in, %d out", len(body), len(out))
		}
		var in, got map[string]string
		if json.Unmarshal([]byte(body), &in) != nil || json.Unmarshal(out, &got) != nil || in["a"] != got["a"] {
			t.Errorf("the value changed")
		}
	}
}

func TestRedactInvalid(t *testing.T) {
	for _, in := range []string{"", " ", "{", `{"a"}`, `{"a":1,}`, `[1,]`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, "\"\xff\"",
		`"\x"`, `"\u12"`, "\"a\tb\"", `01`, `1.`, `-`, `1e`, `.5`, `+1`, `tru`, `nul`, `true false`, `{} {}`, `[1 2]`,
		`{"a" 1}`, `{1:2}`, `["a":1]`, `{"a":1]`, `[1}`, "\xef\xbb\xbf{}", `"\ud800`, `NaN`, `[Infinity]`} {
		out, err := Policy{}.Redact([]byte(in))
		if err == nil || !errors.Is(err, ErrInvalid) || out != nil {
			t.Errorf("Redact(%q) = %q, %v: want ErrInvalid", in, out, err)
		}
		if json.Valid([]byte(in)) && !strings.Contains(in, `"a":1,"a"`) && !strings.Contains(in, `"b":1,"b"`) && !strings.Contains(in, "\xff") {
			t.Errorf("%q is valid JSON", in)
		}
	}
	// Dropped members are validated too (and their duplicate keys rejected).
	drop := Policy{Drop: func(string) bool { return true }}
	for _, in := range []string{`{"a":{"b":1,"b":2}}`, `{"a":[1,}`, `{"a":1,"a":2}`} {
		if _, err := drop.Redact([]byte(in)); err == nil {
			t.Errorf("Redact(%q) accepted", in)
		}
	}
	if got := redactString(t, drop, `{"a":{"b":1},"c":2}`); got != `{}` {
		t.Errorf("got %s", got)
	}
}

// Strings are decoded as encoding/json decodes them (escapes, surrogate
// pairs, lone surrogates) and written with jsonx.AppendString.
func TestRedactDecodesLikeEncodingJSON(t *testing.T) {
	for _, in := range []string{`"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\ud83dx\ude00"`,
		`"\"\\\/\b\f\n\r\t\u0000\u001f\u007f"`, `"é\u00e9\u2028\u2029"`, `"\uDBFF\uDFFF"`, `"\uFFFE\uffff"`} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		out := redactString(t, Policy{}, in)
		var got string
		if err := json.Unmarshal([]byte(out), &got); err != nil || got != want {
			t.Errorf("Redact(%s) = %s (%q), want %q", in, out, got, want)
		}
	}
}

// cardKey, the test Redact applies to every key, answers as isCardKey does.
func TestCardKeyIsIsCardKey(t *testing.T) {
	frags := []string{"card", "Card", "CARD", "cArD", "number", "Number", "NUMBER", "no", "No", "NO", "num", "Num", "nbr", "Nbr",
		"pan", "Pan", "PAN", "primary", "Primary", "account", "Account", "ACCOUNT", "id", "Id", "x", "X", "Value", "s",
		"_", "-", ".", " ", "/", "*", "#a", "1", "42", "0", "9", "é", "Ä", "ſ", "\u212a", "٣", "ａ", "\xff", ""}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(name string) {
		if got, want := cardKey([]byte(name)), isCardKey(name); got != want {
			t.Fatalf("cardKey(%q) = %v, isCardKey %v", name, got, want)
		}
	}
	for _, f := range frags {
		for _, g := range frags {
			check(f + g)
			for _, h := range frags {
				check(f + g + h)
			}
		}
	}
	for range 200000 {
		var b strings.Builder
		for range 1 + rng.IntN(7) {
			b.WriteString(frags[rng.IntN(len(frags))])
		}
		check(b.String())
	}
	check(strings.Repeat("card", 30) + "number")
	check("primaryaccountnumbers")
}

func FuzzCardKey(f *testing.F) {
	for _, s := range []string{"cardNumber", "card_no", "PANValue", "primary-account-no", "card1234number", "cardPAN2", "timespan"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := cardKey([]byte(name)), isCardKey(name); got != want {
			t.Fatalf("cardKey(%q) = %v, isCardKey %v", name, got, want)
		}
	})
}

// A repeated key is refused in objects of every size (pairwise, by signature
// and by hash), also when the keys share length and first and last bytes or
// are spelled with escapes.
func TestRedactDuplicateKeysEverySize(t *testing.T) {
	for n := 1; n <= 70; n++ {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, `"k%03dz":%d,`, i, i)
		}
		for _, c := range []struct {
			last string
			dup  bool
		}{{`"k000z"`, true}, {`"k\u0030\u0030\u0030z"`, true}, {fmt.Sprintf(`"k%03dz"`, n-1), true}, {`"k999z"`, false}, {`"k00z"`, false}} {
			doc := b.String() + c.last + `:0}`
			_, err := Policy{}.Redact([]byte(doc))
			if c.dup != errors.Is(err, ErrInvalid) || (!c.dup && err != nil) {
				t.Fatalf("%d keys, then %s: %v", n, c.last, err)
			}
		}
	}
}

// Documented time layouts, as a provider's Policy.KeepIf checks them.

const dateTimeLayout = "2006-01-02 15:04:05" // Alchemy Pay's orderTime

// isDateTime accepts exactly a time in dateTimeLayout.
func isDateTime(s string) bool {
	if len(s) != len(dateTimeLayout) {
		return false
	}
	_, err := time.Parse(dateTimeLayout, s)
	return err == nil
}

var (
	epochMsFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	epochMsTo   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
)

// isEpochMillis accepts exactly 13 ASCII digits that are a Unix-millisecond
// time from 2000-01-01 to 2100-01-01 (OSL Pay's updateTime).
func isEpochMillis(s string) bool {
	if len(s) != 13 {
		return false
	}
	var v int64
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		v = v*10 + int64(s[i]-'0')
	}
	return v >= epochMsFrom && v < epochMsTo
}

// Policy.KeepIf keeps a top-level string its function accepts (a documented
// time) as sent, as one letter of the stream; anything else under the name
// is redacted like any other value.
func TestRedactKeepIf(t *testing.T) {
	var asked []string
	dateTime := func(s string) bool {
		asked = append(asked, s)
		return isDateTime(s)
	}
	p := Policy{KeepIf: map[string]func(string) bool{"orderTime": dateTime, "updateTime": isEpochMillis, "": dateTime}}
	// 20240809151119 and 1723216279121 pass the Luhn check.
	for _, tc := range []struct{ in, kept, redacted string }{
		{`{"orderTime":"2024-08-09 15:11:19"}`, "", `{"orderTime":"2024-08-** **:11:19"}`},
		{`{"updateTime":"1723216279121"}`, "", `{"updateTime":"172321***9121"}`},
		// Escapes: the function sees the decoded text; a kept value is
		// written as sent.
		{`{"orderTime":"\u0032024-08-09 15:11:19"}`, "", `{"orderTime":"2024-08-** **:11:19"}`},
		{`{"order\u0054ime":"2024-08-09 15:11:19"}`, `{"orderTime":"2024-08-09 15:11:19"}`, `{"orderTime":"2024-08-** **:11:19"}`},
		// The digits on either side of a kept value (one letter) do not join.
		{`{"a":"4111 1111","":"2024-08-09 15:11:09","1111 1111":true}`, "", `{"a":"4111 111*","":"****-**-** **:**:**","**** 1111":true}`},
	} {
		want := tc.kept
		if want == "" {
			want = tc.in
		}
		if got := redactString(t, p, tc.in); got != want {
			t.Errorf("KeepIf: Redact(%s)\n got %s\nwant %s", tc.in, got, want)
		}
		if got := redactString(t, Policy{}, tc.in); got != tc.redacted {
			t.Errorf("no KeepIf: Redact(%s)\n got %s\nwant %s", tc.in, got, tc.redacted)
		}
	}
	if len(asked) < 2 || asked[1] != "2024-08-09 15:11:19" {
		t.Errorf("the function was asked %q, want the decoded text", asked)
	}

	// Near misses are redacted like any other value: a string the function
	// refuses, a number, an object or array, a member below the top level.
	for _, tc := range []struct{ in, want string }{
		{`{"orderTime":"2024-08-09 15:11:19 "}`, `{"orderTime":"2024-08-** **:11:19 "}`},
		{`{"orderTime":"2024-08-09 15:11:19\u0020"}`, `{"orderTime":"2024-08-** **:11:19 "}`},
		{`{"orderTime":"20240809151119"}`, `{"orderTime":"202408****1119"}`},
		{`{"orderTime":"2024-08-09 15:11:19 4111111111111111"}`, `{"orderTime":"2024-08-** **:**:** ************1111"}`},
		{`{"orderTime":20240809151119}`, `{"orderTime":"202408****1119"}`},
		{`{"updateTime":1723216279121}`, `{"updateTime":"172321***9121"}`},
		{`{"updateTime":"1723216279121 "}`, `{"updateTime":"172321***9121 "}`},
		{`{"updateTime":"17232162791210"}`, `{"updateTime":"172321***91210"}`},
		{`{"orderTime":{"orderTime":"2024-08-09 15:11:19"}}`, `{"orderTime":{"orderTime":"2024-08-** **:11:19"}}`},
		{`{"orderTime":["2024-08-09 15:11:19"]}`, `{"orderTime":["2024-08-** **:11:19"]}`},
		{`{"orderTime":null,"updateTime":true}`, `{"orderTime":null,"updateTime":true}`},
		{`{"x":{"orderTime":"2024-08-09 15:11:19"}}`, `{"x":{"orderTime":"2024-08-** **:11:19"}}`},
		{`[{"orderTime":"2024-08-09 15:11:19"}]`, `[{"orderTime":"2024-08-** **:11:19"}]`},
		// A refused value's digits join those on either side.
		{`{"a":"4111 1111","":"2024-08-09 15:11:09 ","1111 1111":true}`, `{"a":"4111 111*","":"****-**-** **:**:** ","**** 1111":true}`},
	} {
		if got := redactString(t, p, tc.in); got != tc.want {
			t.Errorf("Redact(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}

	// A text holding '*' is never kept, whatever the function says: here
	// the digits on either side join across it.
	lax := Policy{KeepIf: map[string]func(string) bool{"": func(string) bool { return true }}}
	for in, want := range map[string]string{
		`{"a":"4111 11","":"-","11 1111 1111":true}`: `{"a":"4111 11","":"-","11 1111 1111":true}`,
		`{"a":"4111 11","":"*","11 1111 1111":true}`: `{"a":"4111 11","":"*","** **** 1111":true}`,
	} {
		if got := redactString(t, lax, in); got != want {
			t.Errorf("Redact(%s)\n got %s\nwant %s", in, got, want)
		}
	}

	// Drop wins, then the card-number rule, then Keep; the function is not
	// asked about those members.
	asked = nil
	p = Policy{
		Keep:   map[string]bool{"createTime": true},
		KeepIf: map[string]func(string) bool{"createTime": dateTime, "secretTime": dateTime, "cardNumber": dateTime, "pan": func(string) bool { return true }},
		Drop:   func(name string) bool { return strings.Contains(name, "secret") },
	}
	in := `{"createTime":20240809151119,"secretTime":"2024-08-09 15:11:19","cardNumber":"2024-08-09 15:11:19","pan":"4111111111111111"}`
	want := `{"createTime":20240809151119,"cardNumber":"****-**-** **:**:**","pan":"411111******1111"}`
	if got := redactString(t, p, in); got != want || len(asked) != 0 {
		t.Errorf("Redact(%s)\n got %s\nwant %s (asked %q)", in, got, want, asked)
	}
	in = `{"createTime":"2024-08-09 15:11:19 4111111111111111"}` // Keep: kept whatever the function says
	if got := redactString(t, p, in); got != in || len(asked) != 0 {
		t.Errorf("Redact(%s) = %s (asked %q)", in, got, asked)
	}

	// A duplicate key is refused, also when spelt with escapes.
	p = Policy{KeepIf: map[string]func(string) bool{"orderTime": isDateTime}}
	for _, in := range []string{`{"orderTime":"2024-08-09 15:11:19","orderTime":"2024-08-09 15:11:19"}`,
		`{"orderTime":"2024-08-09 15:11:19","order\u0054ime":"x"}`} {
		if out, err := p.Redact([]byte(in)); !errors.Is(err, ErrInvalid) || out != nil {
			t.Errorf("Redact(%s) = %s, %v: want ErrInvalid", in, out, err)
		}
	}
}
