package pipeline

// Function errors. Lambda answers an invocation whose handler returned an
// error with {"errorMessage", "errorType"}. aws-lambda-go (v1.55.1,
// lambda/errors.go) takes errorType from the Go type of the error by
// reflection — "InvalidCommandError", "wrapError" for anything wrapped with
// fmt.Errorf, "errorString" for errors.New — unless the error is a
// messages.InvokeResponse_Error value, which it sends as it is. LambdaHandler
// returns every error that way, with a stable type from the contract.

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/secrets"
)

// ErrorType is the stable errorType Lambda reports for err, one of
// contract.FunctionErrorTypes.
func ErrorType(err error) string {
	var invalid *InvalidCommandError
	switch {
	case errors.As(err, &invalid):
		return contract.ErrorInvalidCommand
	case errors.Is(err, eventstore.ErrNotFound):
		return contract.ErrorEventNotFound
	case errors.Is(err, ErrNoReprocess):
		return contract.ErrorAlreadyQueued
	case errors.Is(err, ErrDataNotKept):
		return contract.ErrorDataNotKept
	case errors.Is(err, secrets.ErrNotConfigured):
		return contract.ErrorConfiguration
	}
	return contract.ErrorCommandFailed
}

// LambdaHandler is h as lambda.Start should serve it: the same replies, and
// each error as Lambda's function error with its message and ErrorType.
func LambdaHandler(h lambda.Handler) lambda.Handler { return functionErrors{h} }

type functionErrors struct{ h lambda.Handler }

func (f functionErrors) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := f.h.Invoke(ctx, payload)
	if err != nil {
		return nil, messages.InvokeResponse_Error{Message: err.Error(), Type: ErrorType(err)}
	}
	return out, nil
}
