// Package devkit is what the local tooling knows of every provider, and the
// generic code around it: the sample events, signing requests the way each
// provider does, deriving many distinct webhooks from the samples, building a
// provider's handler in-process, and the data of the benchmarks. Each
// provider supplies one Kit from its own folder (internal/devkit/<p>dev);
// internal/devkit/kits lists them. Local tooling only: never deployed.
package devkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"webhooks/internal/devkit/cardref"
	"webhooks/shared/contract"
	"webhooks/shared/lambdamain"
	"webhooks/shared/pipeline"
	"webhooks/shared/secrets"
)

// Kit is one provider's tooling support.
type Kit struct {
	contract.Provider

	// Variant names the path parameter that selects what is sent when the
	// provider has several URLs for one secret ("kind"), with its values;
	// VariantRequired when a request needs one.
	Variant         string
	Variants        []string
	VariantRequired bool

	// KeyFile is a private key the sender signs with, relative to the events
	// directory ("" when the provider signs with the secret itself).
	KeyFile string

	// NewSigner returns a signer for one secret value (its Secrets Manager
	// shape) and, when KeyFile is set, the sender's private key (PEM).
	NewSigner func(secret json.RawMessage, keyPEM []byte, opt SignOptions) (Signer, error)

	// Samples builds the sample events of events/<Name>/.
	Samples func(eventsDir string, dev DevSecrets) ([]Sample, error)

	// Handler builds the provider's handler in-process, exactly as its Lambda
	// main does (shared/lambdamain).
	Handler HandlerFunc

	// InProcess builds the provider's handler over in-process parts, exactly
	// as its Lambda main assembles it (lambdamain.Assemble): the capacity
	// simulation's instances.
	InProcess InProcessFunc

	// Peak is the provider's assumed flash-sale peak (docs/PERFORMANCE.md,
	// "Capacity").
	Peak Peak

	// Adversarial wraps a JSON value in an otherwise valid body of the
	// provider, for the linear-time tests and benchmarks; it returns the
	// variant. The value is the last member of the object the provider
	// reads its fields from (TopLevelKeys is spliced there).
	Adversarial func(value string) (variant string, body []byte)

	// Kept is what the contract keeps as sent in data, the data of one of
	// the provider's events of type eventType, as stored (queued false) or
	// as queued: written from docs/CONTRACT.md §5, for the tests that look
	// for card numbers (a full one may survive only there).
	Kept func(eventType string, data []byte, queued bool) cardref.KeptAsSent
}

// Peak is the peak a provider is assumed to reach in a flash sale, and why.
// Assumptions, stated plainly: no provider publishes its volumes. They follow
// docs/DEPLOY.md ("Throttling"), which sizes the stage throttle for them.
type Peak struct {
	Rate float64 // webhooks per second at the peak
	Why  string
	// HotRate is the webhooks per second of the provider's busiest single
	// entity (one message group) and HotEntity names it; HotState says they
	// are states of that entity, recorded in its one partition.
	HotRate   float64
	HotEntity string
	HotState  bool
}

// Parts are what a handler is built over in process: the secret's API, the
// store, the queue, and the function's stdout (JSON logs and EMF records).
type Parts struct {
	Secrets secrets.API
	Store   pipeline.Store
	Queue   pipeline.Queue
	Stdout  io.Writer
}

// InProcessFunc builds a provider's handler of API Gateway events over parts,
// configured by env.
type InProcessFunc func(env lambdamain.Env, parts Parts) (func(context.Context, events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse, error)

// InProcessOf returns the InProcessFunc of a provider.
func InProcessOf[C any](p pipeline.Provider[C]) InProcessFunc {
	return func(env lambdamain.Env, parts Parts) (func(context.Context, events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse, error) {
		h, err := lambdamain.Assemble(p, env, parts.Secrets, parts.Store, parts.Queue, lambdamain.NewLogger(parts.Stdout), parts.Stdout)
		if err != nil {
			return nil, err
		}
		return h.HandleHTTP, nil
	}
}

// SignOptions are sender choices a provider may offer.
type SignOptions struct {
	// SecretHeader also sends the account's shared secret in a header, for a
	// provider that lets the sender do so.
	SecretHeader bool
}

// Signer builds an authentic request carrying body, sent to the variant's
// URL, signed at now.
type Signer func(variant string, body []byte, now time.Time) (Request, error)

// HandlerFunc builds a provider's handler with env, logging to log and writing
// metrics to out; opts are standard SDK load options (endpoint, HTTP client).
type HandlerFunc func(ctx context.Context, env lambdamain.Env, log *slog.Logger, out io.Writer, opts ...func(*config.LoadOptions) error) (lambda.Handler, error)

// HandlerOf returns the HandlerFunc of a provider.
func HandlerOf[C any](p pipeline.Provider[C]) HandlerFunc {
	return func(ctx context.Context, env lambdamain.Env, log *slog.Logger, out io.Writer, opts ...func(*config.LoadOptions) error) (lambda.Handler, error) {
		return lambdamain.NewHandler(ctx, p, env, log, out, opts...)
	}
}

// RouteRequest returns the request of a route (one of a kit's routes) with
// its path parameters filled in, as API Gateway would route it.
func RouteRequest(route string, params map[string]string) Request {
	return Request{RouteKey: contract.RouteMethod + " " + route, Path: contract.Path(route, params), PathParams: params}
}

// CheckVariant explains a missing or unknown variant in the sender's terms.
func (k Kit) CheckVariant(variant string) error {
	switch {
	case k.Variant == "" && variant != "":
		return fmt.Errorf("%s takes no variant (got %q)", k.Name, variant)
	case k.Variant == "", variant == "" && !k.VariantRequired:
		return nil
	case variant == "":
		return fmt.Errorf("%s needs -%s: one of %s", k.Name, k.Variant, strings.Join(k.Variants, ", "))
	case !slices.Contains(k.Variants, variant):
		return fmt.Errorf("%s has no %s %q: one of %s", k.Name, k.Variant, variant, strings.Join(k.Variants, ", "))
	}
	return nil
}

// Signers holds a signer per provider.
type Signers map[string]kitSigner

type kitSigner struct {
	kit  Kit
	sign Signer
}

// NewSigners builds the signers of the kits whose secret is in secrets (each
// in its Secrets Manager shape); a kit with a KeyFile reads it from eventsDir.
func NewSigners(kits []Kit, secrets DevSecrets, eventsDir string, opt SignOptions) (Signers, error) {
	out := Signers{}
	for _, k := range kits {
		raw, ok := secrets[k.Name]
		if !ok {
			continue
		}
		var keyPEM []byte
		if k.KeyFile != "" {
			b, err := os.ReadFile(filepath.Join(eventsDir, k.KeyFile))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.Name, err)
			}
			keyPEM = b
		}
		s, err := k.NewSigner(raw, keyPEM, opt)
		if err != nil {
			return nil, fmt.Errorf("%s secret: %w", k.Name, err)
		}
		out[k.Name] = kitSigner{k, s}
	}
	return out, nil
}

// DevSigners builds every kit's signer from the development secrets
// (events/dev-secrets.json) and keys under eventsDir.
func DevSigners(kits []Kit, eventsDir string) (Signers, error) {
	dev, err := LoadDevSecrets(eventsDir)
	if err != nil {
		return nil, err
	}
	return NewSigners(kits, dev, eventsDir, SignOptions{})
}

// Request signs body for provider's variant at now.
func (s Signers) Request(provider, variant string, body []byte, now time.Time) (Request, error) {
	ks, ok := s[provider]
	if !ok {
		return Request{}, fmt.Errorf("no secret for provider %q", provider)
	}
	if variant == "" && ks.kit.VariantRequired {
		return Request{}, ks.kit.CheckVariant(variant)
	}
	// An unknown variant is signed as asked: tests send them on purpose.
	r, err := ks.sign(variant, body, now)
	if r.Name == "" {
		r.Name = provider
	}
	return r, err
}

// Names lists the kits' provider names, in order.
func Names(kits []Kit) []string {
	out := make([]string, len(kits))
	for i, k := range kits {
		out[i] = k.Name
	}
	return out
}

// Find returns the kit of a provider.
func Find(kits []Kit, name string) (Kit, error) {
	for _, k := range kits {
		if k.Name == name {
			return k, nil
		}
	}
	return Kit{}, fmt.Errorf("unknown provider %q (one of %s)", name, strings.Join(Names(kits), ", "))
}
