package jsonx

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckObject(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth)
	tooDeep := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"object", `{"a":1,"b":[1,2,{"c":null}],"d":"x"}`, nil},
		{"whitespace around", " \n{\"a\":1}\n ", nil},
		{"nested at the limit", deep, nil},
		{"same key in sibling objects", `{"a":{"k":1},"b":{"k":2}}`, nil},
		{"huge number", `{"n":123456789012345678901234567890e400}`, nil},
		{"empty", ``, ErrSyntax},
		{"blank", `   `, ErrSyntax},
		{"truncated", `{"a":`, ErrSyntax},
		{"array", `[1,2]`, ErrNotObject},
		{"string", `"x"`, ErrNotObject},
		{"null", `null`, ErrNotObject},
		{"two objects", `{"a":1}{"b":2}`, ErrTrailingData},
		{"trailing garbage", `{"a":1} x`, ErrTrailingData},
		{"duplicate key", `{"a":1,"a":2}`, ErrDuplicateKey},
		{"nested duplicate key", `{"x":{"a":1,"b":2,"a":3}}`, ErrDuplicateKey},
		{"duplicate key in array element", `{"x":[{"a":1,"a":1}]}`, ErrDuplicateKey},
		{"too deep", tooDeep, ErrTooDeep},
		{"too deep arrays", `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, ErrTooDeep},
		{"invalid utf8", "{\"a\":\"\xff\"}", ErrInvalidUTF8},
		{"single quotes", `{'a':1}`, ErrSyntax},
		{"trailing comma", `{"a":1,}`, ErrSyntax},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckObject([]byte(c.in))
			if c.want == nil && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}
