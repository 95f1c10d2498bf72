package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"webhooks/internal/awskit/awstest"
	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
	"webhooks/shared/secrets"
)

// Each kind of failure has its own stable type, however deeply it is wrapped.
func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("reprocess x: %w", fmt.Errorf("eventstore: get: %w", eventstore.ErrNotFound)), contract.ErrorEventNotFound},
		{fmt.Errorf("reprocess x: %w", pipeline.ErrNoReprocess), contract.ErrorAlreadyQueued},
		{fmt.Errorf("reprocess x: %w", pipeline.ErrDataNotKept), contract.ErrorDataNotKept},
		{fmt.Errorf("reprocess x: %w", secrets.ErrNotConfigured), contract.ErrorConfiguration},
		{fmt.Errorf("reprocess x: %w", secrets.ErrUnavailable), contract.ErrorCommandFailed},
		{fmt.Errorf("redrive: %w", context.DeadlineExceeded), contract.ErrorCommandFailed},
		{errors.New("anything else"), contract.ErrorCommandFailed},
	} {
		if got := pipeline.ErrorType(c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}

// Through the handler lambda.Start serves, every refused or failed operator
// command is a function error whose errorType is one of the contract's,
// never the Go type name aws-lambda-go would derive ("InvalidCommandError",
// "wrapError", "errorString"), with the readable message as errorMessage.
func TestFunctionErrorTypes(t *testing.T) { functionErrorTypes(t, inMemory) }

var functionErrorTypes = register("FunctionErrorTypes", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1","key":"good"}`)
	h := newHandler(t, stack)
	res := awstest.Invoke(t, h, event(`{"id":"e1","sealed":"abc"}`, map[string]string{"x-token": "t1"}, "203.0.113.1"))
	queued := res.Headers["X-Webhook-Event-Id"]
	if res.StatusCode != 200 || queued == "" {
		t.Fatalf("delivery: %d %v", res.StatusCode, res.Headers)
	}
	lh := pipeline.LambdaHandler(h)
	for payload, want := range map[string]string{
		`{"reprocess":{"eventId":"` + queued + `"}}`:                             contract.ErrorAlreadyQueued,
		`{"reprocess":{"eventId":"does-not-exist"}}`:                             contract.ErrorEventNotFound,
		`{"reprocess":{}}`:                                                       contract.ErrorInvalidCommand,
		`{"reprocess":{"eventID":"x"}}`:                                          contract.ErrorInvalidCommand,
		`{"redrive":{"olderThan":"soon"}}`:                                       contract.ErrorInvalidCommand,
		`{"replay":{"from":"2026-01-02T00:00:00Z","to":"2026-01-01T00:00:00Z"}}`: contract.ErrorInvalidCommand,
		`{"purge":{}}`: contract.ErrorInvalidCommand,
		`[]`:           contract.ErrorInvalidCommand,
	} {
		out, err := lh.Invoke(t.Context(), []byte(payload))
		var fe messages.InvokeResponse_Error
		if !errors.As(err, &fe) {
			t.Errorf("%s: %s, %v (%T); want a messages.InvokeResponse_Error", payload, out, err, err)
			continue
		}
		if fe.Type != want || !slices.Contains(contract.FunctionErrorTypes, fe.Type) || fe.Message == "" {
			t.Errorf("%s: errorType %q, errorMessage %q; want errorType %s", payload, fe.Type, fe.Message, want)
		}
		// The message is the handler's own, word for word.
		if _, herr := h.Invoke(t.Context(), []byte(payload)); herr == nil || herr.Error() != fe.Message {
			t.Errorf("%s: errorMessage %q, the handler's error %v", payload, fe.Message, herr)
		}
	}
	// A command that succeeds is answered as before.
	if out, err := lh.Invoke(t.Context(), []byte(`{"redrive":{"olderThan":"0s"}}`)); err != nil || len(out) == 0 {
		t.Errorf("redrive: %s %v", out, err)
	}
})
