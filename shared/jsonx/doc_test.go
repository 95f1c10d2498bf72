package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// checkParse checks Parse against CheckObject and encoding/json on b: the
// same error (the same sentinel and text) or none; and for an accepted body a
// document that holds exactly what encoding/json decodes, every value's Raw
// being what encoding/json hands a json.RawMessage, and Canonical what it
// writes back.
func checkParse(t *testing.T, b []byte) {
	t.Helper()
	if Valid(b) != json.Valid(b) {
		t.Fatalf("%q: Valid %v, json.Valid %v", b, Valid(b), json.Valid(b))
	}
	want := CheckObject(b)
	d, err := Parse(b)
	if (err == nil) != (want == nil) || (err != nil && (err.Error() != want.Error() || class(err) != class(want))) {
		t.Fatalf("%q: Parse %v, CheckObject %v", b, err, want)
	}
	if err != nil {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var ref any
	if err := dec.Decode(&ref); err != nil {
		t.Fatalf("%q: accepted, encoding/json: %v", b, err)
	}
	if got := toAny(t, d.Root()); !reflect.DeepEqual(got, ref) {
		t.Fatalf("%q: document %#v, encoding/json %#v", b, got, ref)
	}
	checkRaw(t, b, d.Root())
	if got, want := Canonical(b), canonicalDecoded(b); got != want {
		t.Fatalf("%q: Canonical %s, through encoding/json %s", b, got, want)
	}
}

// toAny builds what encoding/json decodes into an any (UseNumber) from v,
// through Get and Members for objects.
func toAny(t *testing.T, v Value) any {
	t.Helper()
	switch v.Kind() {
	case Object:
		m := map[string]any{}
		for k, val := range v.Members() {
			if k.Kind() != String {
				t.Fatalf("key of kind %v", k.Kind())
			}
			m[k.Text()] = toAny(t, val)
			if !k.Is(k.Text()) || !k.IsFold(strings.ToUpper(k.Text())) {
				t.Fatalf("key %q: Is or IsFold fails on itself", k.Text())
			}
			if got := v.Get(k.Text()); got != val {
				t.Fatalf("Get(%q) is not the member", k.Text())
			}
		}
		return m
	case Array:
		a := []any{}
		for e := range v.Elements() {
			a = append(a, toAny(t, e))
		}
		return a
	case String:
		return v.Text()
	case Number:
		return json.Number(v.Raw())
	case Bool:
		return string(v.Raw()) == "true"
	case Null:
		return nil
	}
	t.Fatalf("value of kind %v", v.Kind())
	return nil
}

// checkRaw compares each member's and element's Raw with encoding/json's json.RawMessage.
func checkRaw(t *testing.T, b []byte, v Value) {
	t.Helper()
	switch v.Kind() {
	case Object:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v.Raw(), &m); err != nil {
			t.Fatal(err)
		}
		for k, val := range v.Members() {
			if !bytes.Equal(m[k.Text()], val.Raw()) {
				t.Fatalf("%q: member %q is %q, encoding/json %q", b, k.Text(), val.Raw(), m[k.Text()])
			}
			checkRaw(t, b, val)
		}
	case Array:
		var a []json.RawMessage
		if err := json.Unmarshal(v.Raw(), &a); err != nil {
			t.Fatal(err)
		}
		i := 0
		for e := range v.Elements() {
			if !bytes.Equal(a[i], e.Raw()) {
				t.Fatalf("%q: element %d is %q, encoding/json %q", b, i, e.Raw(), a[i])
			}
			checkRaw(t, b, e)
			i++
		}
		if i != len(a) {
			t.Fatalf("%q: %d elements, encoding/json %d", b, i, len(a))
		}
	}
}

func TestParse(t *testing.T) {
	d, err := Parse([]byte(` {"a":{"b":[1,"x",{"c":null}],"n":-1.50e+3,"t":true,"f":false}, "\u0041": "\ud83d\ude00\ud800", "e":{}, "z":[]} `))
	if err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	if got := string(root.Lookup("a", "n").Raw()); got != "-1.50e+3" {
		t.Errorf("number %q, want it as sent", got)
	}
	if got := root.Get("A").Text(); got != "😀\ufffd" {
		t.Errorf("escaped key and text: %q", got)
	}
	if root.Get("a").Get("b").Kind() != Array || root.Get("missing").Exists() || root.Get("a").Get("x").Get("y").Exists() {
		t.Error("lookups")
	}
	if k := root.Lookup("a", "t").Kind(); k != Bool {
		t.Errorf("true is %v", k)
	}
	if !root.Get("a").Lookup("b").Exists() || root.Lookup("a", "b", "c").Exists() {
		t.Error("a path through an array")
	}
	var elems []string
	for e := range root.Lookup("a", "b").Elements() {
		elems = append(elems, e.Kind().String())
	}
	if strings.Join(elems, ",") != "number,string,object" {
		t.Errorf("elements %v", elems)
	}
	if !(Value{}).IsNull() || root.Get("e").IsNull() || !root.Lookup("a", "b").Exists() {
		t.Error("absent and null")
	}
	// Reuse keeps no trace of the previous document.
	if err := d.Parse([]byte(`{"a":1,"a":2}`)); !errors.Is(err, ErrDuplicateKey) || d.Root().Exists() {
		t.Fatalf("reuse: %v", err)
	}
	if err := d.Parse([]byte(`{"b":2}`)); err != nil || d.Root().Get("a").Exists() || string(d.Root().Get("b").Raw()) != "2" {
		t.Fatalf("reuse: %v", err)
	}
	// Released Docs are reused by Parse with nothing of their last body,
	// the table of keys of large objects included.
	many := func(prefix string, extra string) []byte {
		var b strings.Builder
		b.WriteString("{")
		for i := range 40 {
			fmt.Fprintf(&b, `"%s%d":%d,`, prefix, i, i)
		}
		return []byte(b.String() + extra + "}")
	}
	for range 20 {
		d1, err := Parse(many("a", `"z":0`))
		if err != nil {
			t.Fatal(err)
		}
		d1.Release()
		d2, err := Parse(many("a", `"a39":0`))
		if !errors.Is(err, ErrDuplicateKey) {
			t.Fatalf("duplicate after reuse: %v", err)
		}
		d3, err := Parse(many("b", `"a1":0`))
		if err != nil || d3.Root().Get("a1").Kind() != Number || d3.Root().Get("z").Exists() {
			t.Fatalf("reuse: %v", err)
		}
		d2.Release()
		d3.Release()
	}
}

// Objects of many members find their duplicates through hashed keys, with
// escaped spellings decoded first.
func TestParseManyMembers(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 200 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`)
	}
	ok := b.String() + "}"
	agree(t, []byte(ok))
	// Keys of one signature (length, first and last byte), around the
	// pairwise limit.
	for _, n := range []int{9, 20, 31, 32, 33, 40} {
		var o strings.Builder
		o.WriteString("{")
		for i := range n {
			fmt.Fprintf(&o, `"k%02dz":%d,`, i, i)
		}
		for _, dup := range []string{`"k00z"`, `"k\u0030\u0030z"`, fmt.Sprintf(`"k%02dz"`, n-1), `"k99z"`} {
			agree(t, []byte(o.String()+dup+`:0}`))
		}
	}
	agree(t, []byte(ok[:len(ok)-1]+`,"k\u0061a":1}`))                                                           // "kaa" again, escaped
	agree(t, []byte(ok[:len(ok)-1]+`,"x":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"\u0069":0}}`)) // nested duplicate
}

// Parse and CheckObject give the same answers on the generated bodies of the
// differential test, and an accepted body is what encoding/json reads.
func TestParseAgreesWithCheckObject(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 4))
	gen := generator(rng)
	for n := 0; n < 3000; n++ {
		doc := gen(n)
		checkParse(t, []byte(doc))
		checkParse(t, []byte(doc[:rng.IntN(len(doc)+1)]))
	}
}

// Canonical keeps its answer for what the strict parse refuses.
func TestCanonicalOutsideTheStrictParse(t *testing.T) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"b":1} x`, "\"\xff\"", `[1e400]`, strings.Repeat("[", 40) + strings.Repeat("]", 40), `nul`, ` 1 `, `"<&\u2028>"`} {
		if got, want := Canonical([]byte(s)), canonicalDecoded([]byte(s)); got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
	if Canonical(nil) != "" {
		t.Error("empty")
	}
}

// Valid answers as json.Valid does, beyond the strict parse too.
func TestValid(t *testing.T) {
	for _, s := range []string{``, ` `, `1`, ` "x" `, `{"a":1,"a":2}`, `[1e400]`, "\"\xff\"", "\"\x01\"", `{"a":1}x`, `{"a":1} `, `nul`, `truex`,
		`"\ud800"`, `"\u12"`, `[1,]`, `{"a" 1}`, `-`, `01`, `1.`, `.5`, `1e`, `[` + strings.Repeat("[", 9998) + strings.Repeat("]", 9999),
		`[` + strings.Repeat("[", 9999) + strings.Repeat("]", 10000), strings.Repeat(`{"k":`, 10000) + "1" + strings.Repeat("}", 10000),
		strings.Repeat(`{"k":`, 10001) + "1" + strings.Repeat("}", 10001)} {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			n := min(len(s), 40)
			t.Errorf("%q...: Valid %v, json.Valid %v", s[:n], got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,-0,{"b":null}],"c":true}`, `"\ud800\udc00"`, `[1e400]`, "\"\xff\"", `{"a":1,"a":2}`, ` 0 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if Valid(b) != json.Valid(b) {
			t.Fatalf("%q: Valid %v, json.Valid %v", b, Valid(b), json.Valid(b))
		}
	})
}
