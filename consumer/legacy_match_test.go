package consumer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const notObjectPrefix = "consumer: invalid message: body is not a JSON object: "

// sameAsLegacy reports how DecodeBody and the decoder it replaced
// (legacyDecodeBody) differ on body: "" when they accept it with the same
// message or refuse it with the same error. Two differences are allowed:
//   - syntax errors are worded by each tokenizer (both say the body is not a
//     JSON object, and a repeated member is named alike);
//   - text after the object: the legacy decoder read nothing after the object
//     but the first token, and accepted anything that is not one whole JSON
//     value ("{...}x", "{...}]", "{...},"); DecodeBody refuses it;
//   - a number too large for a float64 where an object must be (data, or the
//     body): legacy's error repeated the number ("json: cannot unmarshal
//     number 1e400 into Go value of type float64"), DecodeBody's says "not
//     an object", as for any other number.
func sameAsLegacy(body []byte) string {
	m, err := DecodeBody(body)
	lm, lerr := legacyDecodeBody(body)
	switch {
	case err == nil && lerr == nil:
		return sameMessage(m, lm)
	case err == nil:
		return fmt.Sprintf("DecodeBody accepts what legacy refused with %v", lerr)
	case err.Error() == notObjectPrefix+errTrailing.Error() && textAfterValue(body):
		return "" // whatever legacy said: it read no further than the object
	case lerr == nil:
		return fmt.Sprintf("DecodeBody refuses with %v what legacy accepted", err)
	case strings.Contains(lerr.Error(), "json: cannot unmarshal number") && strings.HasSuffix(err.Error(), ": "+errNotObj.Error()) &&
		strings.HasPrefix(lerr.Error(), strings.TrimSuffix(err.Error(), errNotObj.Error())):
		return "" // legacy repeated the number
	case err.Error() == lerr.Error():
		return ""
	case strings.HasPrefix(err.Error(), notObjectPrefix) && strings.HasPrefix(lerr.Error(), notObjectPrefix) &&
		!strings.Contains(err.Error(), "appears twice") && !strings.Contains(lerr.Error(), "appears twice"):
		return ""
	}
	return fmt.Sprintf("DecodeBody: %v\nlegacy:     %v", err, lerr)
}

// textAfterValue reports whether body is one JSON value followed by
// something other than white space.
func textAfterValue(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	if dec.Decode(&v) != nil {
		return false
	}
	return len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0
}

func sameMessage(m, l *Message) string {
	a, b := m.Event, l.Event
	switch {
	case a.SpecVersion != b.SpecVersion || a.ID != b.ID || a.Source != b.Source || a.Type != b.Type ||
		a.Subject != b.Subject || a.DataContentType != b.DataContentType || a.ReplayID != b.ReplayID:
		return fmt.Sprintf("envelope %+v, legacy %+v", a, b)
	case a.Time != b.Time: // == on purpose: the same instant, location and representation
		return fmt.Sprintf("time %#v, legacy %#v", a.Time, b.Time)
	case !bytes.Equal(a.Data, b.Data):
		return fmt.Sprintf("Event.Data %s, legacy %s", a.Data, b.Data)
	case !reflect.DeepEqual(m.Data, l.Data):
		return fmt.Sprintf("data %#v, legacy %#v", m.Data, l.Data)
	}
	return ""
}

// legacySeeds are bodies to mutate: a message of each type as the receivers
// send it, and the work test's bodies of every wrap and shape (small).
func legacySeeds(tb testing.TB) [][]byte {
	var out [][]byte
	files, err := filepath.Glob(filepath.Join("testdata", "messages", "*.json"))
	if err != nil || len(files) != len(eventTypes) {
		tb.Fatalf("%d message files: %v", len(files), err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, bytes.TrimSpace(b))
	}
	for _, w := range wraps {
		for _, s := range append(receiverShapes[:len(receiverShapes):len(receiverShapes)], consumerShapes...) {
			out = append(out, []byte(w.body(s.value(300))))
		}
	}
	return out
}

// Pools of what mutations put in.
var (
	mutantNames = []string{
		"cardNumber", "pan", "card_no", "PANValue", "cardPan", "primaryAccountNumber", "cardId", "cardholder", "x", "",
		"password", "privateSecret", "app_secret_2", "pass_word", "text", "replyId", "newReply", "attachmentUrls",
		"order_code", "main_state", "status", "price", "entryPrice", "virtualCollections", "encryptedVirtualCollections",
		"extra_info", "partner_id", "qty_salable", "userId", "orderId", "closed", "data", "type", "id", "replayid",
		"c\u0430rdNumber", "\u0130", "card\u212anumber", "4111111111111111",
	}
	mutantStrings = []string{
		"", " ", "\u00a0\u3000", "x", "S", "411111******1111", "4111111111111111", "4111 1111 1111 1111",
		"\uff14\uff11\uff11\uff11\uff11\uff11******\uff11\uff11\uff11\uff11", "**** **** **** ****", "exp 12/25",
		"19.99000*******0002", "-1.5e1*", "*", "abc*", "19.99", "2024-05-06T07:08:09Z", "2024-02-30T07:08:09Z",
		"0123456789abcdef0123456789abcdef", "1.0", "application/json", "webhooks/tiki", "tiki.order.status_changed",
		"rp_1", "r 1",
	}
	mutantRaw = []string{
		`null`, `true`, `false`, `0`, `-1.5`, `4111111111111111`, `1e400`, `12345678901234567890.000100`, `{}`, `[]`,
		`[null,"x"]`, `["a",1]`, `{"a":1,"a":2}`, `"\u0034\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0031"`,
		`"\ud834\udd1e"`, `"\ud834x"`, `"\/\b\f\n\r\t\"\\"`, "\"\xff\xfe\"", `[[[[[[[[[[]]]]]]]]]]`,
	}
	// Bytes and snippets that break or bend JSON.
	mutantBytes    = []byte("{}[]:,\"\\ \t\n0123456789-+.eEtrufalsn*xu\x00\x1f\x7f\xff")
	mutantSnippets = []string{
		`,"x":1`, `,"cardNumber":"4111111111111111"`, `,"pan":4111111111111111`, `,"password":"p"`, `"\u0063ardNumber"`,
		`{"a":1,"a":2}`, `\u0034`, `\ud800`, `null`, `"`, `[`, `]`, `{`, `}`, `,`, `:`, " ", "\xc3\xa9", "\xe2\x84\xaa",
		`,"replayid":"rp-1"`, `,"replayid":""`, `,"specversion":"1.0"`, `,"data":{}`, `x`, `1`,
	}
)

// mutate changes body in one random way.
func mutate(r *rand.Rand, body []byte) []byte {
	switch r.IntN(10) {
	case 0, 1, 2, 3, 4:
		if b := mutateValue(r, body); b != nil {
			return b
		}
		fallthrough
	case 5:
		if len(body) == 0 {
			return body
		}
		b := bytes.Clone(body)
		b[r.IntN(len(b))] = mutantBytes[r.IntN(len(mutantBytes))]
		return b
	case 6:
		i := r.IntN(len(body) + 1)
		return append(append(bytes.Clone(body[:i]), mutantSnippets[r.IntN(len(mutantSnippets))]...), body[i:]...)
	case 7:
		if len(body) == 0 {
			return body
		}
		i := r.IntN(len(body))
		j := i + r.IntN(min(8, len(body)-i)+1)
		return append(bytes.Clone(body[:i]), body[j:]...)
	case 8:
		return moveData(body)
	default:
		// Change a name where it stands: another name, or the same with
		// an escape.
		i := bytes.IndexByte(body[r.IntN(len(body)+1)/2:], '"')
		if i < 0 {
			return body
		}
		name := mutantNames[r.IntN(len(mutantNames))]
		q, _ := json.Marshal(name)
		if r.IntN(2) == 0 && len(name) > 0 {
			q = []byte(fmt.Sprintf(`"\u%04x%s"`, name[0], q[2:len(q)-1]))
		}
		return append(append(bytes.Clone(body[:i]), q...), body[i:]...)
	}
}

// mutateValue parses body and changes one member at a random depth: removed,
// renamed, retyped, or a new one.
func mutateValue(r *rand.Rand, body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	// Walk down a random path of objects and arrays.
	for depth := 0; r.IntN(3) != 0 && depth < 6; depth++ {
		var next []map[string]any
		for _, e := range obj {
			switch x := e.(type) {
			case map[string]any:
				next = append(next, x)
			case []any:
				for _, y := range x {
					if o, ok := y.(map[string]any); ok {
						next = append(next, o)
					}
				}
			}
		}
		if len(next) == 0 {
			break
		}
		obj = next[r.IntN(len(next))]
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	target := mutantNames[r.IntN(len(mutantNames))]
	if len(names) > 0 && r.IntN(2) == 0 {
		target = names[r.IntN(len(names))]
	}
	switch r.IntN(5) {
	case 0:
		delete(obj, target)
	case 1:
		if e, ok := obj[target]; ok {
			delete(obj, target)
			obj[mutantNames[r.IntN(len(mutantNames))]] = e
		}
	case 2:
		obj[target] = mutantStrings[r.IntN(len(mutantStrings))]
	case 3:
		obj[target] = json.RawMessage(mutantRaw[r.IntN(len(mutantRaw))])
	default:
		obj[target] = randomValue(r, 3)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	if r.IntN(4) == 0 { // white space
		out = bytes.ReplaceAll(out, []byte(`,"`), []byte(" ,\n\t\"")) // (inside strings too: a mutation of its own)
	}
	return out
}

func randomValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(6); {
	case depth == 0 || n == 0:
		return mutantStrings[r.IntN(len(mutantStrings))]
	case n == 1:
		return json.RawMessage(mutantRaw[r.IntN(len(mutantRaw))])
	case n == 2:
		a := make([]any, r.IntN(4))
		for i := range a {
			a[i] = randomValue(r, depth-1)
		}
		return a
	default:
		o := map[string]any{}
		for range r.IntN(4) {
			o[mutantNames[r.IntN(len(mutantNames))]] = randomValue(r, depth-1)
		}
		return o
	}
}

// moveData moves the data member first: the type then comes after it.
func moveData(body []byte) []byte {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil || members["data"] == nil {
		return body
	}
	names := []string{"data"}
	for k := range members {
		if k != "data" {
			names = append(names, k)
		}
	}
	sort.Strings(names[1:])
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		q, _ := json.Marshal(k)
		b.Write(q)
		b.WriteByte(':')
		b.Write(members[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

func testSeed(t *testing.T) uint64 {
	if s := os.Getenv("CONSUMER_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := rand.Uint64()
	t.Logf("seed %d (CONSUMER_TEST_SEED=%d replays it)", v, v)
	return v
}

// DecodeBody gives the verdicts and errors of the decoder it replaced, on
// every seed and on tens of thousands of mutations of them (one to three
// changes each: members removed, renamed, retyped, added, escaped, moved;
// bytes changed, inserted, removed).
func TestDecodeBodyMatchesLegacy(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 22))
	seeds := legacySeeds(t)
	n := 10000
	if testing.Short() {
		n = 2000
	}
	accepted, refused := 0, 0
	errs := map[string]int{}
	check := func(body []byte) {
		if diff := sameAsLegacy(body); diff != "" {
			t.Fatalf("on %q:\n%s", body, diff)
		}
		if _, err := DecodeBody(body); err == nil {
			accepted++
		} else {
			refused++
			reason := err.Error()
			if i := strings.IndexAny(reason, `"`); i > 0 {
				reason = reason[:i]
			}
			errs[reason]++
		}
	}
	for _, s := range seeds {
		check(s)
		check(moveData(s))
	}
	for range n {
		body := seeds[r.IntN(len(seeds))]
		for range 1 + r.IntN(3) {
			body = mutate(r, body)
		}
		check(body)
	}
	if accepted < n/10 || refused < n/10 {
		t.Fatalf("%d accepted, %d refused: the mutations say little", accepted, refused)
	}
	t.Logf("%d bodies: %d accepted, %d refused alike; errors: %d kinds", accepted+refused, accepted, refused, len(errs))
}

// FuzzDecodeBodyMatchesLegacy: on any body, DecodeBody gives the verdict and
// the error of the decoder it replaced (but for the differences sameAsLegacy
// allows).
func FuzzDecodeBodyMatchesLegacy(f *testing.F) {
	for _, s := range legacySeeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if diff := sameAsLegacy(body); diff != "" {
			t.Fatalf("%s", diff)
		}
	})
}

// Repeated member names, in objects of every size (compared one by one, or
// through the hash table past the first 16), spelt alike or not (escapes;
// invalid UTF-8, which decodes to U+FFFD): DecodeBody refuses them where the
// decoder it replaced did (the envelope, data, a struct in data), with the
// same error, and accepts them where it did (deeper, and in values kept as
// sent).
func TestRepeatedNamesMatchLegacy(t *testing.T) {
	const ticket = `{"specversion":"1.0","id":"0123456789abcdef0123456789abcdef","source":"webhooks/apigift","type":"apigift.support_ticket.updated","subject":"T1","time":"2026-01-02T03:04:05Z","datacontenttype":"application/json",%s"data":{"supportTicketId":"T1",%s"newReply":{"replyId":"r1",%s"text":"x"},"x":{%s"y":1}}}`
	spellings := [][2]string{{`"a"`, `"a"`}, {`"a"`, `"\u0061"`}, {`"\u0061"`, `"a"`}, {"\"\xff\"", "\"\xfe\""}, {"\"\xff\"", `"\ufffd"`}, {`"supportTicketId"`, `"\u0073upportTicketId"`}, {`"a"`, `"b"`}}
	refusedSomewhere := 0
	for _, n := range []int{0, 1, 14, 15, 16, 17, 40, 300} {
		for _, sp := range spellings {
			for _, at := range []int{0, n / 2, n} { // where the first of the two stands
				var b strings.Builder
				for i := range n + 1 {
					if i == at {
						b.WriteString(sp[0] + ":1,")
					}
					if i < n {
						fmt.Fprintf(&b, `"k%d":%d,`, i, i)
					}
				}
				b.WriteString(sp[1] + ":2,")
				members := b.String()
				for level := range 4 {
					parts := []any{"", "", "", ""} // the envelope, data, newReply, x (untyped)
					parts[level] = members
					body := []byte(fmt.Sprintf(ticket, parts...))
					if diff := sameAsLegacy(body); diff != "" {
						t.Fatalf("%d members, %s and %s, level %d:\n%s\n%s", n, sp[0], sp[1], level, diff, body)
					}
					if _, err := DecodeBody(body); err != nil && strings.Contains(err.Error(), "appears twice") {
						refusedSomewhere++
					}
				}
			}
		}
	}
	if refusedSomewhere < 100 {
		t.Fatalf("only %d bodies refused for a repeated name", refusedSomewhere)
	}
}
