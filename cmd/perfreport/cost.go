package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/loadtest"
	"webhooks/internal/localrun"
	"webhooks/shared/lambdamain"
)

// MemoryMB is the functions' configured memory (infra/stack FunctionMemoryMB).
const MemoryMB = 256

// providerCost is one provider's measured usage and its price.
type providerCost struct {
	Provider        string
	Webhooks        int
	Calls           map[string]float64 // per webhook, by Service.Operation (warm)
	FirstCalls      map[string]int     // the first webhook of a fresh handler
	DuplicateCalls  map[string]int     // a redelivery of an accepted webhook
	SecretsPerRead  int
	ItemBytes       int
	MsgBytes        float64
	Snapshot        loadtest.Snapshot
	Usage, Floor    loadtest.Usage
	Amortised       loadtest.Amortised
	Cost, FloorCost loadtest.Breakdown
	EstimatedUpdate int
}

type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

func newHandler(ctx context.Context, kit devkit.Kit, env lambdamain.Env, out io.Writer, opts ...func(*config.LoadOptions) error) (lambda.Handler, error) {
	return kit.Handler(ctx, env, lambdamain.NewLogger(out), out, opts...)
}

// measureCost runs each provider's real handler in this process, with its AWS
// clients counted by awscount, against the stack's endpoint: one cold
// webhook, then o.costHooks warm ones, then one redelivery.
func measureCost(ctx context.Context, stack *localrun.Stack, keys devkit.Signers, o options) ([]providerCost, error) {
	var out []providerCost
	tag := fmt.Sprintf("cost%d-", time.Now().UnixNano())
	for _, kit := range kits.All {
		name := kit.Name
		p := stack.Providers[name]
		// Start from an empty queue, as each load level does (moto's
		// SendMessage slows as a queue grows).
		if err := purge(ctx, stack.SQS, p.QueueURL); err != nil {
			return nil, err
		}
		counter := loadtest.NewCounter()
		logs := &countingWriter{}
		// The environment the stack gives the function (its EMF namespace
		// is in every log record the bytes count).
		fnEnv := stack.FunctionEnv(p)
		env, err := lambdamain.LoadEnv(func(k string) string { return fnEnv[k] })
		if err != nil {
			return nil, err
		}
		h, err := newHandler(ctx, kit, env, logs,
			config.WithRegion(stack.AWS.Region),
			config.WithBaseEndpoint(stack.AWS.Endpoint),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(stack.AWS.AccessKeyID, stack.AWS.SecretAccessKey, "")),
			counter.LoadOption())
		if err != nil {
			return nil, err
		}
		hooks, err := devkit.Generate(o.events, kit, tag, o.costHooks+1)
		if err != nil {
			return nil, err
		}
		invoke := func(w devkit.Webhook) (time.Duration, error) {
			ev, err := devkit.Event(keys, w, time.Now())
			if err != nil {
				return 0, err
			}
			// As Lambda invokes it: with a request id, which every log
			// line of the invocation carries (and the log bytes count).
			lctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: localrun.NewUUID()})
			t0 := time.Now()
			raw, err := h.Invoke(lctx, ev)
			d := time.Since(t0)
			if err != nil {
				return d, err
			}
			return d, expectAccepted(raw)
		}
		pc := providerCost{Provider: name, Webhooks: o.costHooks}
		if _, err := invoke(hooks[0]); err != nil {
			return nil, fmt.Errorf("cost run, %s: %w", name, err)
		}
		first := counter.Snapshot()
		pc.FirstCalls = first.Calls
		pc.SecretsPerRead = first.Calls["Secrets Manager.GetSecretValue"]

		counter.Reset()
		logs.n.Store(0)
		var total time.Duration
		reqBytes := 0
		for _, w := range hooks[1:] {
			d, err := invoke(w)
			if err != nil {
				return nil, fmt.Errorf("cost run, %s: %w", name, err)
			}
			total += d
			req, err := devkit.HTTPRequest(keys, "https://example.execute-api.us-east-1.amazonaws.com", w, time.Now())
			if err != nil {
				return nil, err
			}
			reqBytes += requestSize(req, len(w.Body))
		}
		s := counter.Snapshot()
		pc.Snapshot = s
		n := float64(o.costHooks)
		pc.Calls = map[string]float64{}
		for op, c := range s.Calls {
			pc.Calls[op] = float64(c) / n
		}
		pc.ItemBytes = s.ItemBytes
		pc.MsgBytes = float64(s.SQSBytes) / n
		pc.EstimatedUpdate = s.EstimatedUpdates
		durMs := float64(total.Microseconds()) / 1000 / n
		pc.Usage = loadtest.Usage{
			Provider: name, RequestBytes: reqBytes / o.costHooks, MemoryMB: MemoryMB, DurationMs: durMs,
			WriteUnits: s.WriteUnits / n, ReadUnits: s.ReadUnits / n, SQSRequests: float64(s.SQSRequests) / n,
			LogBytes: float64(logs.n.Load()) / n,
		}

		// A redelivery of the last webhook: the duplicate path.
		counter.Reset()
		if _, err := invoke(hooks[len(hooks)-1]); err != nil && !isDuplicateOK(err) {
			return nil, fmt.Errorf("cost run, %s redelivery: %w", name, err)
		}
		pc.DuplicateCalls = counter.Snapshot().Calls

		a := loadtest.DefaultAmortised
		a.SecretCallsPerRead = float64(pc.SecretsPerRead)
		a.Instances = max(1, int(math.Ceil(a.RatePerSecond*durMs/1000)))
		pc.Amortised = a
		pc.Cost = loadtest.PerMillion(loadtest.USEast1, pc.Usage, a)

		pc.Floor, pc.FloorCost = floor(name, pc.Usage.RequestBytes)
		out = append(out, pc)
	}
	return out, nil
}

// Floor is what the design must do per webhook and nothing more, as issue 23
// defines it: one API request, one invocation billed 1 ms, one PutItem and
// one UpdateItem of an item of at most 1 KB (a write unit each), one
// SendMessage; no read, no secret call, no log.
var Floor = loadtest.Usage{MemoryMB: MemoryMB, DurationMs: 1, WriteUnits: 2, SQSRequests: 1}

func floor(provider string, requestBytes int) (loadtest.Usage, loadtest.Breakdown) {
	u := Floor
	u.Provider, u.RequestBytes = provider, requestBytes
	return u, loadtest.PerMillion(loadtest.USEast1, u, loadtest.Amortised{})
}

// isDuplicateOK: a redelivery is answered 200 with outcome duplicate.
func isDuplicateOK(err error) bool {
	return err != nil && strings.Contains(err.Error(), "answered 200") && strings.Contains(err.Error(), `"duplicate"`)
}

// requestSize approximates the bytes API Gateway meters: request line,
// headers and body.
func requestSize(r *http.Request, body int) int {
	n := len(r.Method) + 1 + len(r.URL.RequestURI()) + len(" HTTP/1.1\r\n") + len("Host: \r\n") + len(r.URL.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n + 2 + body
}
