package loadtest

// Soak: drives many webhooks of every provider through the real
// function bootstraps, run under the AWS Lambda Runtime Interface Emulator,
// while a fault proxy breaks a share of their AWS calls, retries each webhook
// the way its provider does, and then checks the queues: every webhook
// acknowledged with a 2xx must be enqueued exactly once.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit"
	"webhooks/internal/localrun"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers"
)

// localrun.Providers in report order.

// SoakConfig of one run.
type SoakConfig struct {
	Endpoint    string // the real AWS API (moto_server)
	EventsDir   string
	PerProvider int // distinct webhooks per provider
	Redeliver   float64
	Concurrency int
	Rules       []Rule
	Seed        uint64
	MaxAttempts int           // per webhook (a provider may retry ~30 times over 25 hours)
	RetryDelay  time.Duration // compressed retry interval
	// BinDir holds <provider>/bootstrap built for this machine (make run-bin).
	BinDir string
	// Emulator is the Lambda Runtime Interface Emulator; default localrun.FindEmulator().
	Emulator string
	// Instances is how many sandboxes serve each provider's function; default 4.
	Instances int
}

// ProviderResult is one provider's outcome.
type ProviderResult struct {
	Provider    string
	Webhooks    int            // distinct webhooks sent
	Deliveries  int            // HTTP deliveries, retries and redeliveries included
	Statuses    map[int]int    // answers by status (a failed invocation: API Gateway's 500)
	Failed      int            // invocations that failed (Lambda timeout, crash), answered 500
	Acked       int            // webhooks that got a 2xx
	Unacked     int            // webhooks still failing after MaxAttempts
	Events      int            // distinct event ids acknowledged
	Messages    int            // messages on the queue
	Lost        int            // acknowledged events with no message
	Extra       int            // messages beyond one per acknowledged event
	ItemsQueued int            // stored items marked queued
	Outcomes    map[string]int // answers by X-Webhook-Outcome
}

// SoakResult is what a soak came to.
type SoakResult struct {
	Providers []ProviderResult
	Calls     map[string]int // AWS calls by service/operation
	Faults    map[string]int // injected faults by service/operation/kind
	Duration  time.Duration
}

type webhook = devkit.Webhook

// Soak executes one soak run against fresh resources.
func Soak(ctx context.Context, cfg SoakConfig) (*SoakResult, error) {
	start := time.Now()
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 8
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 30
	}
	if cfg.Instances == 0 {
		cfg.Instances = 4
	}
	if cfg.Emulator == "" {
		var err error
		if cfg.Emulator, err = localrun.FindEmulator(); err != nil {
			return nil, err
		}
	}
	aws, err := awskit.NewEnv(ctx, cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	proxy, err := NewFaultProxy(cfg.Endpoint, cfg.Seed, cfg.Rules...)
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
	functions := map[string]*localrun.Function{}
	defer func() {
		for _, f := range functions {
			f.Stop()
		}
	}()
	queues := map[string]string{}
	for _, p := range localrun.Providers {
		q, err := aws.CreateQueue(ctx, awskit.Unique("soak-"+p))
		if err != nil {
			return nil, err
		}
		secretID := awskit.Unique("soak/" + p)
		if _, err := aws.PutSecret(ctx, secretID, string(dev[p])); err != nil {
			return nil, err
		}
		queues[p] = q.URL
		// The real bootstrap with the contract's environment, its SDK pointed at the proxy.
		f, err := localrun.StartFunction(ctx, localrun.FunctionConfig{
			Name:   "soak-" + p,
			Binary: filepath.Join(cfg.BinDir, p, "bootstrap"),
			Env: map[string]string{
				"WEBHOOKS_TABLE": table, "WEBHOOKS_QUEUE_URL": q.URL, "WEBHOOKS_SECRET_ID": secretID,
				"WEBHOOKS_EVENT_TTL": pipeline.DefaultEventTTL.String(),
				"AWS_ENDPOINT_URL":   proxyURL, "AWS_REGION": "us-east-1",
				"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
			},
			Memory:    256,
			Instances: cfg.Instances,
			Emulator:  cfg.Emulator,
		})
		if err != nil {
			return nil, err
		}
		functions[p] = f
	}

	hooks, err := devkit.Interleaved(providers.All, cfg.EventsDir, "s", cfg.PerProvider)
	if err != nil {
		return nil, err
	}
	res := map[string]*ProviderResult{}
	acked := map[string]map[string]bool{} // provider -> event ids
	for _, p := range localrun.Providers {
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
						status, outcome, id, err := deliver(ctx, functions[hk.Provider], keys, hk)
						mu.Lock()
						r := res[hk.Provider]
						r.Deliveries++
						if outcome == outcomeFunctionFailed {
							r.Failed++
						}
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
	out := &SoakResult{}
	for _, p := range localrun.Providers {
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

// outcomeFunctionFailed marks a delivery whose invocation failed (a Lambda
// timeout or a crash): API Gateway answers it 500 Internal Server Error.
const outcomeFunctionFailed = "function-failed"

// deliver signs (afresh for every attempt, as a retry would be) and
// invokes the function as API Gateway would.
func deliver(ctx context.Context, f *localrun.Function, keys devkit.Signers, hk webhook) (int, string, string, error) {
	raw, err := devkit.Event(keys, hk, time.Now())
	if err != nil {
		return 0, "", "", err
	}
	out, err := f.Invoke(ctx, raw)
	var fe *localrun.FunctionError
	if errors.Is(err, localrun.ErrTimeout) || errors.Is(err, localrun.ErrCrashed) || errors.Is(err, localrun.ErrInitFailed) || errors.As(err, &fe) {
		return http.StatusInternalServerError, outcomeFunctionFailed, "", nil
	}
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
func MixedFaults() []Rule {
	return []Rule{
		{Kind: Error, Rate: 0.05},
		{Kind: Throttle, Rate: 0.05},
		{Kind: LostResponse, Rate: 0.05},
		{Kind: Timeout, Rate: 0.02}, // held until the function's 4 s attempt limit gives up
		{Kind: Latency, Rate: 0.03, Delay: 50 * time.Millisecond},
	}
}
