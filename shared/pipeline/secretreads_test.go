package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/apigw"
	"webhooks/shared/pipeline"
	"webhooks/shared/secrets"
)

// A fresh handler's start-up check and first webhook read AWSCURRENT once,
// though a rotation's AWSPREVIOUS is within its grace period, and though the
// webhook carries a single-use credential: AWSPREVIOUS is read by the first
// request that AWSCURRENT does not verify, and then cached.
func TestFirstWebhookReadsOneSecretVersion(t *testing.T) {
	stack := newStack(t, inMemory, `{"token":"old"}`)
	stack.putSecret(t, `{"token":"new"}`)
	h := newHandler(t, stack)
	if err := h.CheckSecret(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := awstest.Invoke(t, h, event(`{"id":"a"}`, map[string]string{"x-token": "new", "x-credential": "sig-first"}, "203.0.113.1")); res.StatusCode != 200 {
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
// is accepted, one with a single-use credential too: its record is kept until
// AWSPREVIOUS's grace period ends, after which AWSPREVIOUS verifies nothing
// whatever its tolerance, so AWSPREVIOUS is not read for it.
func TestPreviousVersionUnavailable(t *testing.T) {
	stack := newStack(t, inMemory, `{"token":"old"}`)
	stack.putSecret(t, `{"token":"new"}`)
	stack.secret.fail = map[string]error{secrets.StagePrevious: errors.New("throttled")}
	h := newHandler(t, stack)
	for name, hdr := range map[string]map[string]string{
		"previous": {"x-token": "old"},
		"forged":   {"x-token": "forged"},
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
	reads := stack.secret.calls[secrets.StagePrevious]
	if res := awstest.Invoke(t, h, event(`{"id":"c"}`, map[string]string{"x-token": "new", "x-credential": "sig-1"}, "203.0.113.1")); res.StatusCode != 200 {
		t.Fatalf("single-use credential, current version: %d %s", res.StatusCode, res.Body)
	}
	if got := stack.secret.calls[secrets.StagePrevious]; got != reads {
		t.Errorf("a single-use credential AWSCURRENT verified read %s %d more time(s)", secrets.StagePrevious, got-reads)
	}
	// Its record outlives the grace period, in which AWSPREVIOUS, whatever its
	// tolerance, could verify the captured credential with another body.
	graceEnd := stack.secret.versions[len(stack.secret.versions)-1].created.Add(secrets.DefaultGrace)
	exps := awskit.SingleUseExpiries(stack.Items(t))
	for _, exp := range exps {
		if exp < graceEnd.Unix() {
			t.Errorf("single-use record expires at %d, before the grace period ends (%d)", exp, graceEnd.Unix())
		}
	}
	if len(exps) != 1 {
		t.Errorf("%d single-use records, want 1", len(exps))
	}
}

// routedProvider is testProvider with a route parameter: the place "nowhere"
// names nothing.
type routedProvider struct{ testProvider }

func (routedProvider) Route(r *apigw.Request) (pipeline.Route, error) {
	if r.PathParams["place"] == "nowhere" {
		return pipeline.Route{}, pipeline.NotFound("nothing is delivered to /t/nowhere")
	}
	return pipeline.Route{}, nil
}

// A request on a route that names nothing is answered once AWSCURRENT is read
// (a 404, or the configuration error first), whatever became of AWSPREVIOUS:
// it needs no verification, so it never reads AWSPREVIOUS, and an unreadable
// one cannot turn it into a 503.
func TestRouteErrorNeedsNoPreviousVersion(t *testing.T) {
	stack := newStack(t, inMemory, `{"token":"old"}`)
	stack.putSecret(t, `{"token":"new"}`)
	stack.secret.fail = map[string]error{secrets.StagePrevious: errors.New("throttled")}
	h := stack.handlerWith(t, handlerConfig{provider: routedProvider{}})
	ev := event(`{"id":"a"}`, map[string]string{"x-token": "old"}, "203.0.113.1")
	ev.PathParameters = map[string]string{"place": "nowhere"}
	if res := awstest.Invoke(t, h, ev); res.StatusCode != 404 {
		t.Fatalf("route that names nothing, %s unreadable: %d %s, want 404", secrets.StagePrevious, res.StatusCode, res.Body)
	}
	if c := stack.secret.calls; c[secrets.StageCurrent] != 1 || c[secrets.StagePrevious] != 0 {
		t.Errorf("reads %v, want %s once and nothing else", c, secrets.StageCurrent)
	}
}

// An event AWSCURRENT cannot enrich (its key does not open the sealed field)
// is tried with AWSPREVIOUS within the grace period; when AWSPREVIOUS cannot
// be read, Secrets Manager failed, not the event: a 503 the provider retries,
// and nothing stored, as for a verification that needs AWSPREVIOUS.
func TestEnrichNeedingAnUnreadablePreviousVersionIsRetried(t *testing.T) {
	stack := newStack(t, inMemory, `{"token":"t1","key":"good"}`)
	stack.putSecret(t, `{"token":"t1","key":"wrong"}`)
	stack.secret.fail = map[string]error{secrets.StagePrevious: errors.New("throttled")}
	h := newHandler(t, stack)
	res := awstest.Invoke(t, h, event(`{"id":"e1","sealed":"abc"}`, map[string]string{"x-token": "t1"}, "203.0.113.1"))
	if res.StatusCode != 503 || !strings.Contains(res.Body, `"secret_unavailable"`) {
		t.Fatalf("%s unreadable while enriching: %d %s, want 503 secret_unavailable", secrets.StagePrevious, res.StatusCode, res.Body)
	}
	if n := len(stack.Items(t)); n != 0 {
		t.Errorf("%d items stored while %s was unreadable", n, secrets.StagePrevious)
	}
}
