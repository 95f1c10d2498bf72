// Package handlers builds any provider's handler in-process, exactly as its
// Lambda main does (shared/lambdamain), for local tooling that drives several
// providers at once: the soak, the cost run. Never imported by a function, so
// no Lambda binary links another provider's code.
package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"webhooks/shared/lambdamain"
	"webhooks/shared/providers/alchemypay"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
)

// Providers in report order.
var Providers = []string{tiki.Name, apigift.Name, alchemypay.Name, oslpay.Name}

// New returns provider's handler with env, logging to log and writing metrics
// to out; opts are standard SDK load options (endpoint, HTTP client, ...).
func New(ctx context.Context, provider string, env lambdamain.Env, log *slog.Logger, out io.Writer, opts ...func(*config.LoadOptions) error) (lambda.Handler, error) {
	switch provider {
	case tiki.Name:
		return lambdamain.NewHandler(ctx, tiki.New(), env, log, out, opts...)
	case apigift.Name:
		return lambdamain.NewHandler(ctx, apigift.New(), env, log, out, opts...)
	case alchemypay.Name:
		return lambdamain.NewHandler(ctx, alchemypay.New(), env, log, out, opts...)
	case oslpay.Name:
		return lambdamain.NewHandler(ctx, oslpay.New(), env, log, out, opts...)
	}
	return nil, fmt.Errorf("handlers: unknown provider %q", provider)
}
