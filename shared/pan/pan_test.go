package pan

import (
	"strings"
	"testing"
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
	} {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Mask(tc.in); len([]rune(got)) != len([]rune(tc.in)) {
			t.Errorf("Mask(%q) changed the length", tc.in)
		}
	}
}

func TestIsCardNumberField(t *testing.T) {
	yes := []string{"cardNumber", "card_number", "CardNumber", "CARD_NUMBER", "cardNo", "card_no", "cardNum", "cardnumber",
		"pan", "PAN", "cardPAN", "cardPan", "card-number", "fullCardNumber", "primaryAccountNumber", "panNumber", "card.number"}
	no := []string{"cardId", "cardType", "cardAmount", "cardCurrency", "timespan", "company", "panel", "orderNo", "cardNotes", "number", ""}
	for _, k := range yes {
		if !IsCardNumberField(k) {
			t.Errorf("%q should be a card number field", k)
		}
	}
	for _, k := range no {
		if IsCardNumberField(k) {
			t.Errorf("%q should not be a card number field", k)
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

func TestMaskText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"card 4111111111111111 declined", "card 411111******1111 declined"},
		{"card 4111 1111 1111 1111 exp 2029", "card 4111 11** **** 1111 exp 2029"},
		{"card 4111-1111-1111-1111 2025", "card 4111-11**-****-1111 2025"},
		{"pan=5555555555554444.", "pan=555555******4444."},
		{"4111111111111112", "4111111111111112"},                       // fails Luhn
		{"order 100217231874691123456", "order 100217231874691123456"}, // 21 digits: an id
		{"0xab4111111111111111cd", "0xab4111111111111111cd"},           // inside an address
		{"TRX4111111111111111", "TRX4111111111111111"},                 // touches letters
		{"2024-08-09 15:11:09", "2024-08-09 15:11:09"},                 // a date
		{"no digits here", "no digits here"},
	} {
		got, changed := MaskText(tc.in)
		if got != tc.want {
			t.Errorf("MaskText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if changed != (tc.in != tc.want) {
			t.Errorf("MaskText(%q) changed = %v", tc.in, changed)
		}
	}
}

func TestRedact(t *testing.T) {
	body := `{"cardNumber":"5554748800912345","cardId":"4111111111111111111","note":"paid with 4111111111111111",
		"nested":{"card_no":5555555555554444,"list":["x 5555555555554444 y"],"pan":{"v":"378282246310005"}},
		"orderNo":"4111111111111111","amount":61.91}`
	v, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	out, changed := Redactor{ScanText: true, Exempt: map[string]bool{"cardId": true, "orderNo": true}}.Redact(v)
	if !changed {
		t.Fatal("nothing changed")
	}
	b, err := Encode(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, leak := range []string{"5554748800912345", "5555555555554444", "paid with 4111111111111111", "378282246310005"} {
		if strings.Contains(s, leak) {
			t.Errorf("%q survived: %s", leak, s)
		}
	}
	for _, want := range []string{`"cardNumber":"555474******2345"`, `"cardId":"4111111111111111111"`, `"orderNo":"4111111111111111"`,
		`"card_no":"555555******4444"`, `"x 555555******4444 y"`, `"v":"378282*****0005"`, `"amount":61.91`} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s in %s", want, s)
		}
	}
	// Without text scanning only card-number fields change.
	v, _ = Decode([]byte(`{"note":"5555555555554444","cardNumber":"4111111111111111"}`))
	out, _ = Redactor{}.Redact(v)
	b, _ = Encode(out)
	if string(b) != `{"cardNumber":"411111******1111","note":"5555555555554444"}` {
		t.Errorf("field-only redaction: %s", b)
	}
}

// A card number that fails the Luhn check (like the provider's documented
// example) is still masked wherever else it appears in the same payload.
func TestRedactKnownNumberEverywhere(t *testing.T) {
	v, _ := Decode([]byte(`{"cardNumber":"5554748800912345","failReason":"card 5554 7488 0091 2345 declined","orderNo":"x5554748800912345",
		"n":5554748800912345,"deep":[{"t":"5554-7488-0091-2345"}],"other":"5554748800912346"}`))
	out, _ := Redactor{Exempt: map[string]bool{"orderNo": true}}.Redact(v)
	b, _ := Encode(out)
	s := string(b)
	for _, want := range []string{`"cardNumber":"555474******2345"`, `"card 5554 74** **** 2345 declined"`, `"orderNo":"x555474******2345"`,
		`"n":"555474******2345"`, `"t":"5554-74**-****-2345"`, `"other":"5554748800912346"`} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s in %s", want, s)
		}
	}
}
