package main

import (
	"testing"

	"webhooks/internal/localrun"
)

func TestWhyReadsEveryErrorShape(t *testing.T) {
	cases := map[string]string{
		`{"success":false,"error":{"code":"unauthorized","message":"request is not authentic"}}`:               "unauthorized: request is not authentic",
		`{"code":"00003","msg":"request is not authentic","data":null,"requestTime":1,"error":"unauthorized"}`: "unauthorized: request is not authentic",
		`{"code":"00002","msg":"field type is required"}`:                                                      "00002: field type is required",
		`{"message":"Not Found"}`: "Not Found",
		`not json`:                "not json",
	}
	for body, want := range cases {
		if got := why(localrun.SampleResult{Status: 400, Body: body}); got != want {
			t.Errorf("why(%s) = %q, want %q", body, got, want)
		}
	}
	if got := why(localrun.SampleResult{Status: 200, Body: `{"success":true}`}); got != "" {
		t.Errorf("accepted: %q", got)
	}
}
