package pipeline_test

import (
	"errors"
	"testing"

	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
)

func TestFields(t *testing.T) {
	doc, err := jsonx.Parse([]byte(`{"s":"a\u0062","blank":" ","n":-0.50,"big":12345678901234567890,"nul":null,"t":true,
		"o":{"id":"x","n":"1","arr":["a",null]},"arr":["a",1],"num":1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := func(read func(f *pipeline.Fields), code, msg string) {
		t.Helper()
		f := pipeline.FieldsOf(doc.Root(), "data.")
		read(&f)
		err := f.Err()
		var pe *pipeline.Error
		switch {
		case code == "" && err != nil:
			t.Fatalf("error %v", err)
		case code == "":
		case !errors.As(err, &pe) || pe.Status != 400 || pe.Code != code || pe.Message != msg:
			t.Fatalf("error %v, want 400 %s %q", err, code, msg)
		}
	}
	want(func(f *pipeline.Fields) {
		if f.ReqString("s") != "ab" || f.ReqID("s") != "ab" || f.OptString("missing") != "" || f.OptString("nul") != "" || f.ReqString("blank") != " " {
			t.Error("strings")
		}
		if f.ReqNumber("n") != "-0.50" || f.OptNumber("big") != "12345678901234567890" || f.OptNumber("nul") != "" {
			t.Error("numbers are their text as sent")
		}
		f.OptBool("t")
		f.OptBool("nul")
		f.OptStringArray("missing")
		if o, ok := f.OptObject("o"); !ok || o.ReqID("id") != "x" {
			t.Error("object")
		}
		if _, ok := f.OptObject("nul"); ok {
			t.Error("a null object is absent")
		}
	}, "", "")
	want(func(f *pipeline.Fields) { f.ReqString("missing") }, pipeline.CodeMissingField, "field data.missing is required")
	want(func(f *pipeline.Fields) { f.ReqID("nul") }, pipeline.CodeMissingField, "field data.nul is required")
	want(func(f *pipeline.Fields) { f.ReqID("blank") }, pipeline.CodeMissingField, "field data.blank must not be empty")
	want(func(f *pipeline.Fields) { f.OptString("num") }, pipeline.CodeInvalidField, "field data.num must be a string")
	want(func(f *pipeline.Fields) { f.ReqNumber("s") }, pipeline.CodeInvalidField, "field data.s must be a number")
	want(func(f *pipeline.Fields) { f.OptNumber("t") }, pipeline.CodeInvalidField, "field data.t must be a number")
	want(func(f *pipeline.Fields) { f.OptBool("s") }, pipeline.CodeInvalidField, "field data.s must be true or false")
	want(func(f *pipeline.Fields) { f.OptStringArray("arr") }, pipeline.CodeInvalidField, "field data.arr must be an array of strings")
	want(func(f *pipeline.Fields) { f.OptStringArray("s") }, pipeline.CodeInvalidField, "field data.s must be an array of strings")
	want(func(f *pipeline.Fields) { f.OptObject("arr") }, pipeline.CodeInvalidField, "field data.arr must be an object or null")
	want(func(f *pipeline.Fields) { f.ReqObject("nul") }, pipeline.CodeMissingField, "field data.nul is required")
	want(func(f *pipeline.Fields) { f.ReqObject("s") }, pipeline.CodeInvalidField, "field data.s must be a JSON object")
	// Nested objects name their members with the path, and share the error.
	want(func(f *pipeline.Fields) {
		o, _ := f.OptObject("o")
		o.OptStringArray("arr")
		o.ReqString("n")
		o.ReqNumber("n")
	}, pipeline.CodeInvalidField, "field data.o.n must be a number")
	// The first error wins, whichever reader records it.
	want(func(f *pipeline.Fields) {
		f.ReqID("blank")
		o, _ := f.OptObject("o")
		o.ReqNumber("id")
		f.ReqString("missing")
	}, pipeline.CodeMissingField, "field data.blank must not be empty")
	want(func(f *pipeline.Fields) {
		o, _ := f.ReqObject("o")
		o.ReqNumber("id")
		f.Fail(pipeline.CodeUnknownEvent, "later")
	}, pipeline.CodeInvalidField, "field data.o.id must be a number")
	// Reading a value that is not an object reads absent members.
	f := pipeline.FieldsOf(doc.Root().Get("s"), "")
	if f.OptString("x") != "" || f.Err() != nil {
		t.Error("members of a string")
	}
}

func TestKey(t *testing.T) {
	for _, c := range []struct {
		parts []string
		want  string
	}{
		{nil, ""},
		{[]string{""}, "0:|"},
		{[]string{"order", "a|b", "é"}, "5:order|3:a|b|2:é|"},
		{[]string{string(make([]byte, 123))}, "123:" + string(make([]byte, 123)) + "|"},
	} {
		if got := pipeline.Key(c.parts...); got != c.want {
			t.Errorf("Key(%q) = %q, want %q", c.parts, got, c.want)
		}
	}
	if pipeline.Key("a|1:b") == pipeline.Key("a", "b") {
		t.Error("two lists of parts give one key")
	}
}
