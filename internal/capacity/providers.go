package capacity

// Each provider's handler, built as a function's main builds it
// (shared/lambdamain) but over the in-memory store and queue and an in-memory
// Secrets Manager, with the instance's AWS clients timed.

import (
	"context"
	"io"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/shared/lambdamain"
	"webhooks/shared/metrics"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/alchemypay"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
	"webhooks/shared/secrets"
)

// serveFunc is one instance's handler of API Gateway events.
type serveFunc func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse

// deps are what one instance's handler is built over.
type deps struct {
	secrets secrets.API
	store   pipeline.Store
	queue   pipeline.Queue
	logs    io.Writer // the function's stdout: JSON logs and EMF records
}

type builder func(d deps) (serveFunc, error)

// build is the builder of a provider: the secret cache, the pipeline and its
// options as lambdamain.NewHandler sets them.
func build[C any](p pipeline.Provider[C]) builder {
	return func(d deps) (serveFunc, error) {
		sc := secrets.New(d.secrets, "capacity/"+p.Name(), p.ParseSecret)
		h, err := pipeline.New(p, sc, d.store, d.queue, pipeline.Options{
			EventTTL: pipeline.DefaultEventTTL,
			Logger:   lambdamain.NewLogger(d.logs),
			Metrics:  metrics.New(d.logs, "capacity"),
		})
		if err != nil {
			return nil, err
		}
		return h.HandleHTTP, nil
	}
}

// builders has every provider's builder, by name. A test checks it covers the
// kits' table (internal/devkit/kits).
var builders = map[string]builder{
	tiki.Name:       build(tiki.New()),
	apigift.Name:    build(apigift.New()),
	alchemypay.Name: build(alchemypay.New()),
	oslpay.Name:     build(oslpay.New()),
}

// Providers lists the providers the simulation can run.
func Providers() []string {
	out := make([]string, 0, len(builders))
	for name := range builders {
		out = append(out, name)
	}
	return out
}
