package alchemypay_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/alchemypay"
)

// luhnPAN completes digits (12–18 of them) with a Luhn check digit.
func luhnPAN(digits string) string {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 { // doubled once the check digit is appended
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + strconv.Itoa((10-sum%10)%10)
}

// alnum keeps letters and digits only: a card number's digits stay together
// whatever separators a shape put between them.
func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// Through the provider's whole Decode: a Luhn-valid card number planted, in a
// shape and a field chosen by the fuzzer, into an Alchemy Pay body never
// survives in the stored data, the event's key or its subject; and the
// stored data is exactly the redaction of the body (whose guarantee
// shared/pan's FuzzRedact proves on generated bodies).
func FuzzDecodeRedacts(f *testing.F) {
	list, err := devkit.Load("../../../events", "alchemypay")
	if err != nil {
		f.Fatal(err)
	}
	for i, s := range list {
		f.Add(s.Event.Body, "411111111111111", uint8(i))
	}
	p := alchemypay.New()
	const token = "fuzz-token-0123456789abcdef"
	sec, err := p.ParseSecret([]byte(`{"urlToken":"` + token + `"}`))
	if err != nil {
		f.Fatal(err)
	}
	fields := []string{"cardNumber", "failReason", "status", "orderType", "email", "voucherCode", "cryptoAddress", "undocumented"}
	seps := []string{"", " ", "-", ".", "_", "/", "  ", "\u00a0", "\u2028", "\u3000", "*", "--"}
	f.Fuzz(func(t *testing.T, body, seed string, shape uint8) {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, seed)
		var pan string
		if len(digits) >= 12 {
			pan = luhnPAN(digits[:min(len(digits), 12+int(shape)%7)])
			var grouped strings.Builder
			sep := seps[int(shape/7)%len(seps)]
			for i, c := range pan {
				if i > 0 && i%4 == 0 {
					grouped.WriteString(sep)
				}
				grouped.WriteRune(c)
			}
			value := grouped.String()
			if shape%3 == 0 {
				value = "card" + value + "x" // touching letters
			}
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(body), &m) == nil && m != nil {
				field := fields[int(shape)%len(fields)]
				if shape%5 == 0 {
					m[field] = json.RawMessage(pan) // a JSON number
				} else {
					m[field] = jsonx.AppendString(nil, value)
				}
				if shape%11 == 0 {
					m[pan] = json.RawMessage(`1`) // an object key
				}
				b, _ := json.Marshal(m)
				body = string(b)
			}
		}
		r := &apigw.Request{Method: "POST", Headers: apigw.Headers{}, PathParams: map[string]string{"token": token}, Body: []byte(body)}
		if jsonx.CheckObject(r.Body) != nil {
			return
		}
		ev, err := pipeline.DecodeBody(p, r, sec)
		if !awstest.Decoded(t, ev, err) {
			return
		}
		want, err := alchemypay.Redactor.Redact(r.Body)
		if err != nil || string(want) != string(ev.Data) {
			t.Fatalf("stored data is not the body's redaction: %s", ev.Data)
		}
		if pan == "" {
			return
		}
		var kept struct{ OrderNo, CardID string }
		_ = json.Unmarshal(r.Body, &kept)
		if strings.Contains(kept.OrderNo+kept.CardID, pan) {
			return // orderNo and cardId are kept as sent
		}
		id := pipeline.EventID(alchemypay.Name, ev.Key)
		for what, text := range map[string]string{"data": string(ev.Data), "key": ev.Key, "subject": ev.Subject, "id": id} {
			if strings.Contains(alnum(text), pan) {
				t.Fatalf("card number %s survives in the %s: %s", pan, what, text)
			}
		}
	})
}
