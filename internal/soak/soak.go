// Package soak drives many webhooks of every provider through the real
// handlers while a fault proxy breaks a share of their AWS calls, retries each
// webhook the way its provider does, and then checks the queues: every webhook
// acknowledged with a 2xx must be enqueued exactly once.
package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
	"webhooks/internal/devkit"
	"webhooks/shared/providers"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"

	"webhooks/internal/awskit"
	"webhooks/internal/loadtest"
	"webhooks/shared/lambdamain"
	"webhooks/shared/pipeline"
)

// Providers in report order.
var Providers = providers.Names()

// Config of one run.
type Config struct {
	Endpoint     string // the real AWS API (moto_server)
	EventsDir    string
	PerProvider  int // distinct webhooks per provider
	Redeliver    float64
	Concurrency  int
	Rules        []loadtest.Rule
	Seed         uint64
	MaxAttempts  int           // per webhook (Alchemy Pay: ~30 over 25 hours)
	RetryDelay   time.Duration // compressed retry interval
	AttemptLimit time.Duration // per AWS HTTP attempt (the functions use 4s)
}

// ProviderResult is one provider's outcome.
type ProviderResult struct {
	Provider    string
	Webhooks    int            // distinct webhooks sent
	Deliveries  int            // HTTP deliveries, retries and redeliveries included
	Statuses    map[int]int    // answers by status
	Acked       int            // webhooks that got a 2xx
	Unacked     int            // webhooks still failing after MaxAttempts
	Events      int            // distinct event ids acknowledged
	Messages    int            // messages on the queue
	Lost        int            // acknowledged events with no message
	Extra       int            // messages beyond one per acknowledged event
	ItemsQueued int            // stored items marked queued
	Outcomes    map[string]int // answers by X-Webhook-Outcome
}

// Result of a run.
type Result struct {
	Providers []ProviderResult
	Calls     map[string]int // AWS calls by service/operation
	Faults    map[string]int // injected faults by service/operation/kind
	Duration  time.Duration
}

type webhook = devkit.Webhook

// Run executes one soak run against fresh resources.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 8
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 30
	}
	if cfg.AttemptLimit == 0 {
		cfg.AttemptLimit = 400 * time.Millisecond
	}
	aws, err := awskit.NewEnv(ctx, cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	proxy, err := loadtest.NewFaultProxy(cfg.Endpoint, cfg.Seed, cfg.Rules...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln)
	defer srv.Close()
	proxyURL := "http://" + ln.Addr().String()

	dev, err := devkit.LoadDevSecrets(cfg.EventsDir)
	if err != nil {
		return nil, err
	}
	keys, err := devkit.DevSigners(providers.All, cfg.EventsDir)
	if err != nil {
		return nil, err
	}
	table := awskit.Unique("soak")
	if err := aws.CreateTable(ctx, table); err != nil {
		return nil, err
	}
	handlers := map[string]lambda.Handler{}
	queues := map[string]string{}
	for _, p := range Providers {
		q, err := aws.CreateQueue(ctx, awskit.Unique("soak-"+p))
		if err != nil {
			return nil, err
		}
		secretID := awskit.Unique("soak/" + p)
		if _, err := aws.PutSecret(ctx, secretID, string(dev[p])); err != nil {
			return nil, err
		}
		env := lambdamain.Env{Table: table, QueueURL: q.URL, SecretID: secretID, EventTTL: pipeline.DefaultEventTTL}
		queues[p] = q.URL
		h, err := build(ctx, p, env, proxyURL, cfg.AttemptLimit)
		if err != nil {
			return nil, err
		}
		handlers[p] = h
	}

	hooks, err := devkit.Interleaved(providers.All, cfg.EventsDir, "s", cfg.PerProvider)
	if err != nil {
		return nil, err
	}
	res := map[string]*ProviderResult{}
	acked := map[string]map[string]bool{} // provider -> event ids
	for _, p := range Providers {
		res[p] = &ProviderResult{Provider: p, Statuses: map[int]int{}, Outcomes: map[string]int{}}
		acked[p] = map[string]bool{}
	}
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				hk := hooks[i]
				deliveries := 1
				if float64(i%100)/100 < cfg.Redeliver {
					deliveries = 2 // the provider sends it again after it was acknowledged
				}
				for d := 0; d < deliveries; d++ {
					for attempt := 1; ; attempt++ {
						status, outcome, id, err := deliver(ctx, handlers[hk.Provider], keys, hk)
						mu.Lock()
						r := res[hk.Provider]
						r.Deliveries++
						r.Statuses[status]++
						r.Outcomes[outcome]++
						if err == nil && status >= 200 && status < 300 {
							if d == 0 {
								r.Acked++
							}
							if outcome != "quarantined" {
								acked[hk.Provider][id] = true
							}
							mu.Unlock()
							break
						}
						if attempt >= cfg.MaxAttempts {
							if d == 0 {
								r.Unacked++
							}
							mu.Unlock()
							break
						}
						mu.Unlock()
						time.Sleep(cfg.RetryDelay)
					}
				}
			}
		}()
	}
	for i := range hooks {
		work <- i
	}
	close(work)
	wg.Wait()

	proxy.SetRules() // read back without faults
	items, err := aws.Items(ctx, table)
	if err != nil {
		return nil, err
	}
	out := &Result{}
	for _, p := range Providers {
		r := res[p]
		msgs, err := aws.Drain(ctx, queues[p])
		if err != nil {
			return nil, err
		}
		seen := map[string]int{}
		for _, m := range msgs {
			var ce struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(m.Body), &ce); err != nil {
				return nil, fmt.Errorf("%s: message is not a CloudEvent: %w", p, err)
			}
			seen[ce.ID]++
		}
		r.Messages = len(msgs)
		r.Events = len(acked[p])
		for id := range acked[p] {
			if seen[id] == 0 {
				r.Lost++
			}
		}
		for id, n := range seen {
			if !acked[p][id] {
				r.Extra += n
			} else if n > 1 {
				r.Extra += n - 1
			}
		}
		for _, it := range items {
			if awsStr(it, "provider") == p && awsStr(it, "status") == "queued" {
				r.ItemsQueued++
			}
		}
		r.Webhooks = countProvider(hooks, p)
		out.Providers = append(out.Providers, *r)
	}
	out.Calls, out.Faults = proxy.Stats()
	out.Duration = time.Since(start)
	return out, nil
}

func awsStr(it map[string]ddb.AttributeValue, k string) string {
	if v, ok := it[k].(*ddb.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func countProvider(hooks []webhook, p string) int {
	n := 0
	for _, h := range hooks {
		if h.Provider == p {
			n++
		}
	}
	return n
}

func build(ctx context.Context, provider string, env lambdamain.Env, endpoint string, attempt time.Duration) (lambda.Handler, error) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	opts := []func(*config.LoadOptions) error{
		config.WithBaseEndpoint(endpoint),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(attempt)),
		// Injected error bodies carry no DynamoDB CRC32; the SDK would warn on each.
		config.WithLogger(logging.Nop{}),
	}
	k, err := providers.Get(provider)
	if err != nil {
		return nil, err
	}
	return k.Handler(ctx, env, log, io.Discard, opts...)
}

// deliver signs (OSL Pay re-signs every attempt, as a retry would be) and invokes.
func deliver(ctx context.Context, h lambda.Handler, keys devkit.Signers, hk webhook) (int, string, string, error) {
	raw, err := devkit.Event(keys, hk, time.Now())
	if err != nil {
		return 0, "", "", err
	}
	out, err := lambda.NewHandler(h).Invoke(ctx, raw)
	if err != nil {
		return 0, "", "", err
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, "", "", err
	}
	return res.StatusCode, res.Headers["X-Webhook-Outcome"], res.Headers["X-Webhook-Event-Id"], nil
}

// MixedFaults is the soak's fault mix: 20% of every AWS call the functions
// make fails in one of five ways.
func MixedFaults() []loadtest.Rule {
	return []loadtest.Rule{
		{Kind: loadtest.Error, Rate: 0.05},
		{Kind: loadtest.Throttle, Rate: 0.05},
		{Kind: loadtest.LostResponse, Rate: 0.05},
		{Kind: loadtest.Timeout, Rate: 0.02, Delay: 2 * time.Second},
		{Kind: loadtest.Latency, Rate: 0.03, Delay: 50 * time.Millisecond},
	}
}
