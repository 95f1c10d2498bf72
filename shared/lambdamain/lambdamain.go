// Package lambdamain wires a provider into a running Lambda function: typed
// configuration from the contract's environment, AWS clients built once from the
// SDK's standard configuration, JSON logs and EMF metrics on stdout.
package lambdamain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/metrics"
	"webhooks/shared/pipeline"
	"webhooks/shared/queue"
	"webhooks/shared/secrets"
)

// Env is the function configuration of the contract.
type Env struct {
	Table            string        // WEBHOOKS_TABLE
	QueueURL         string        // WEBHOOKS_QUEUE_URL
	SecretID         string        // WEBHOOKS_SECRET_ID
	EventTTL         time.Duration // WEBHOOKS_EVENT_TTL (default 720h, at least 48h)
	MetricsNamespace string        // WEBHOOKS_METRICS_NAMESPACE (optional, default "Webhooks")
}

// LoadEnv reads and validates the configuration; every problem is reported at once.
func LoadEnv(getenv func(string) string) (Env, error) {
	e := Env{
		Table:            strings.TrimSpace(getenv(contract.EnvTable)),
		QueueURL:         strings.TrimSpace(getenv(contract.EnvQueueURL)),
		SecretID:         strings.TrimSpace(getenv(contract.EnvSecretID)),
		EventTTL:         pipeline.DefaultEventTTL,
		MetricsNamespace: strings.TrimSpace(getenv(contract.EnvMetricsNamespace)),
	}
	var errs []error
	for name, v := range map[string]string{contract.EnvTable: e.Table, contract.EnvQueueURL: e.QueueURL, contract.EnvSecretID: e.SecretID} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if e.QueueURL != "" && !strings.HasSuffix(e.QueueURL, ".fifo") {
		errs = append(errs, errors.New(contract.EnvQueueURL+" must be a FIFO queue URL (ending in .fifo)"))
	}
	if raw := strings.TrimSpace(getenv(contract.EnvEventTTL)); raw != "" {
		d, err := time.ParseDuration(raw)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %q is not a Go duration (e.g. 720h)", contract.EnvEventTTL, raw))
		case d < pipeline.MinEventTTL:
			errs = append(errs, fmt.Errorf("%s %s is shorter than the minimum %s", contract.EnvEventTTL, d, contract.MinEventTTL))
		default:
			e.EventTTL = d
		}
	}
	if len(errs) > 0 {
		return e, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return e, nil
}

// NewLogger returns a JSON slog logger that adds the Lambda request id of the
// context to every record.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr})})
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(a)}
}

func (h requestIDHandler) WithGroup(n string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(n)}
}

// AttemptTimeout bounds one HTTP attempt to an AWS API.
const AttemptTimeout = 4 * time.Second

// NewHandler builds the pipeline for p from env, with AWS clients from the SDK's
// standard configuration (AWS_REGION, AWS_ENDPOINT_URL, credentials chain).
// Tests may append standard SDK load options (config.With...); a function
// passes none.
func NewHandler[C any](ctx context.Context, p pipeline.Provider[C], env Env, log *slog.Logger, stdout io.Writer, opts ...func(*config.LoadOptions) error) (*pipeline.Handler[C], error) {
	// A per-attempt timeout turns a hung connection into a retryable error: the
	// SDK retries (3 attempts) well within API Gateway's 30-second limit instead
	// of waiting out the whole invocation.
	opts = append([]func(*config.LoadOptions) error{config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(AttemptTimeout))}, opts...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return Assemble(p, env, secretsmanager.NewFromConfig(cfg), eventstore.New(dynamodb.NewFromConfig(cfg), env.Table),
		queue.New(sqs.NewFromConfig(cfg), env.QueueURL), log, stdout)
}

// Assemble builds the pipeline for p over its secret's API, its store and its
// queue, with the options a function's main sets: NewHandler over AWS clients,
// the capacity simulation over in-process ones.
func Assemble[C any](p pipeline.Provider[C], env Env, sm secrets.API, store pipeline.Store, q pipeline.Queue, log *slog.Logger, stdout io.Writer) (*pipeline.Handler[C], error) {
	return pipeline.New(p, secrets.New(sm, env.SecretID, p.ParseSecret), store, q, pipeline.Options{
		EventTTL: env.EventTTL,
		Logger:   log,
		Metrics:  metrics.New(stdout, env.MetricsNamespace),
	})
}

// Main is a function's whole main: configure, build once, serve. A configuration
// error ends the process before it serves anything (a Lambda init error).
func Main[C any](p pipeline.Provider[C]) {
	log := NewLogger(os.Stdout)
	env, err := LoadEnv(os.Getenv)
	if err != nil {
		log.Error("startup failed", slog.String("provider", p.Name()), slog.String("error", err.Error()))
		os.Exit(1)
	}
	h, err := NewHandler(context.Background(), p, env, log, os.Stdout)
	if err != nil {
		log.Error("startup failed", slog.String("provider", p.Name()), slog.String("error", err.Error()))
		os.Exit(1)
	}
	CheckSecret(context.Background(), h, log)
	lambda.Start(pipeline.LambdaHandler(h)) // function errors with a stable errorType
}

// SecretCheckTimeout bounds the secret read at start-up.
const SecretCheckTimeout = 3 * time.Second

// CheckSecret reads the secret once at start-up, so that a secret that is
// missing or invalid (a placeholder, a urlToken under 24 characters) is logged
// as a configuration error when the function starts, not only on the first
// webhook. The function still starts: it answers 500 configuration_error
// until the operator fixes the secret, and picks the fix up without a deploy.
// The read fills the cache the first request would fill anyway.
func CheckSecret[C any](ctx context.Context, h *pipeline.Handler[C], log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, SecretCheckTimeout)
	defer cancel()
	err := h.CheckSecret(ctx)
	switch {
	case err == nil:
	case errors.Is(err, secrets.ErrNotConfigured):
		log.Error("configuration error: the secret is missing or invalid; webhooks are answered 500 configuration_error until it is fixed",
			slog.String("error", err.Error()))
	default:
		log.Warn("secret could not be read at start-up; it is read again on the first webhook", slog.String("error", err.Error()))
	}
}
