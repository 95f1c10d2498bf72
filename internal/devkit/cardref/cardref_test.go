package cardref

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestCardNumbersReader(t *testing.T) {
	keepID := func(name string, v any) bool {
		_, obj := v.(map[string]any)
		return name == "id" && !obj
	}
	for _, c := range []struct {
		doc  string
		kept KeptMember
		want []string
	}{
		{`{"a":"4111 1111 1111 1111"}`, nil, []string{"4111111111111111"}},
		{`{"a":"4111-1111-1111-1111 x"}`, nil, []string{"4111111111111111"}},
		{`{"a":"4111x1111 1111 1111"}`, nil, nil},                                // a letter cuts the run
		{`{"a":"٤١١١١١١١١١١١١١١١"}`, nil, []string{"4111111111111111"}},          // Arabic-Indic digits
		{`{"a":"４１１１ 1111 ११११११११"}`, nil, []string{"4111111111111111"}},        // fullwidth, ASCII, Devanagari
		{`{"4111":[1111,"1111"],"-":"1111"}`, nil, []string{"4111111111111111"}}, // keys, numbers, elements
		{`{"a":"4111","b":true,"c":"111111111111"}`, nil, nil},                   // a literal is a letter
		{`{"id":"4111111111111111"}`, keepID, nil},
		{`{"x":"4111","id":"x","y":"111111111111"}`, keepID, nil},                                                  // a kept value is a letter
		{`{"id":{"v":"4111111111111111"}}`, keepID, []string{"4111111111111111"}},                                  // an object is not kept
		{`{"a":{"id":"4111111111111111"}}`, keepID, []string{"4111111111111111"}},                                  // nor a member below the top
		{`{"a":"411111******1111"}`, nil, nil},                                                                     // masked
		{`{"a":"4111 11\u002a\u002a **** 1111", "b": "\u0034111111111111111"}`, nil, []string{"4111111111111111"}}, // escapes resolved
	} {
		got, err := CardNumbers([]byte(c.doc), c.kept)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v %v, want %v", c.doc, got, err, c.want)
		}
	}
	for _, bad := range []string{`{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `{"a":1} x`, `{`} {
		if _, err := CardNumbers([]byte(bad), nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if got := CardNumbersInText("card 4111 1111 1111 1111, exp 12/29"); !slices.Equal(got, []string{"4111111111111111"}) {
		t.Errorf("text: %v", got)
	}
	runs, _ := CardRuns([]byte(`{"a":"5554 7488 0091 2345"}`), CardReading{})
	if got := RunsContaining(runs, "5554748800912345", "4111111111111111"); !slices.Equal(got, []string{"5554748800912345"}) {
		t.Errorf("RunsContaining: %v", got)
	}
	// The value a KeptMember sees is the member's, decoded with UseNumber.
	var seen any
	_, _ = CardNumbers([]byte(`{"n":12.50}`), func(_ string, v any) bool { seen = v; return false })
	if seen != json.Number("12.50") {
		t.Errorf("KeptMember saw %#v", seen)
	}
}
