package pipeline_test

import (
	"context"
	"errors"
	"testing"

	"webhooks/internal/awskit/awstest"
	"webhooks/shared/secrets"
)

// A fresh handler's start-up check and first webhook read AWSCURRENT once,
// though a rotation's AWSPREVIOUS is within its grace period: AWSPREVIOUS is
// read by the first request that AWSCURRENT does not verify, and then cached.
func TestFirstWebhookReadsOneSecretVersion(t *testing.T) {
	stack := newStack(t, inMemory, `{"token":"old"}`)
	stack.putSecret(t, `{"token":"new"}`)
	h := newHandler(t, stack)
	if err := h.CheckSecret(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := awstest.Invoke(t, h, event(`{"id":"a"}`, map[string]string{"x-token": "new"}, "203.0.113.1")); res.StatusCode != 200 {
		t.Fatalf("first webhook: %d %s", res.StatusCode, res.Body)
	}
	if c := stack.secret.calls; c[secrets.StageCurrent] != 1 || c[secrets.StagePrevious] != 0 {
		t.Fatalf("start-up and first webhook read %v, want %s once and nothing else", c, secrets.StageCurrent)
	}
	for _, id := range []string{"b", "c"} {
		if res := awstest.Invoke(t, h, event(`{"id":"`+id+`"}`, map[string]string{"x-token": "old"}, "203.0.113.1")); res.StatusCode != 200 {
			t.Fatalf("webhook signed with the previous version: %d %s", res.StatusCode, res.Body)
		}
	}
	if c := stack.secret.calls; c[secrets.StageCurrent] != 1 || c[secrets.StagePrevious] != 1 {
		t.Fatalf("reads %v, want each stage once", c)
	}
}

// An AWSPREVIOUS that may be used but cannot be read never turns a request
// AWSCURRENT does not verify into a success, nor into a 401 the provider would
// not retry: it is a 503, and nothing is stored. A request AWSCURRENT verifies
// is accepted, except one with a single-use credential: its replay record must
// outlive every version that could verify it, so it waits (503) for
// AWSPREVIOUS too.
func TestPreviousVersionUnavailable(t *testing.T) {
	stack := newStack(t, inMemory, `{"token":"old"}`)
	stack.putSecret(t, `{"token":"new"}`)
	stack.secret.fail = map[string]error{secrets.StagePrevious: errors.New("throttled")}
	h := newHandler(t, stack)
	for name, hdr := range map[string]map[string]string{
		"previous":                       {"x-token": "old"},
		"forged":                         {"x-token": "forged"},
		"single-use credential, current": {"x-token": "new", "x-credential": "sig-1"},
	} {
		res := awstest.Invoke(t, h, event(`{"id":"a"}`, hdr, "203.0.113.1"))
		if res.StatusCode != 503 {
			t.Errorf("%s, %s unreadable: %d %s, want 503", name, secrets.StagePrevious, res.StatusCode, res.Body)
		}
	}
	if n := len(stack.Items(t)); n != 0 {
		t.Errorf("%d items stored while %s was unreadable", n, secrets.StagePrevious)
	}
	if res := awstest.Invoke(t, h, event(`{"id":"b"}`, map[string]string{"x-token": "new"}, "203.0.113.1")); res.StatusCode != 200 {
		t.Fatalf("current version: %d %s", res.StatusCode, res.Body)
	}
}
