package loadtest

// Soak: drives many webhooks of every provider through the real
// function bootstraps, run under the AWS Lambda Runtime Interface Emulator,
// while a fault proxy breaks a share of their AWS calls, retries each webhook
// the way its provider does, and then checks the queues: every webhook
// acknowledged with a 2xx must be enqueued exactly once.
//
// The harsh soak adds what the SDK's own retries cannot absorb: outage windows
// in which every call to SQS or DynamoDB fails, function runtimes killed
// (SIGKILL) in the middle of a request, writes that land after their caller
// gave up, and providers that give up after a few attempts; and it races:
// webhooks sent as several concurrent copies, OSL Pay bodies sent at once
// with one signed header set. Then, with the faults off, it runs each
// function's redrive, and the oracle (oracle.go) judges the table and
// everything the queues held, identifying each event by its content.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit"
	"webhooks/internal/localrun"
	"webhooks/shared/contract"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers"
	"webhooks/shared/providers/oslpay"
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
	// FunctionTimeout is the functions' timeout; default the stack's 60 s (a
	// webhook bounds itself to pipeline.RequestBudget, 8 s, whatever it is).
	FunctionTimeout time.Duration

	// Backoff multiplies the retry delay after each attempt (0 or 1: fixed):
	// the delay before attempt n+1 is RetryDelay × Backoff^(n-1).
	Backoff float64
	// Outages open outage windows during the load.
	Outages []OutageSpec
	// Kills kill a function's runtime (SIGKILL) at its AWS calls (Linux).
	Kills []KillRule
	// Output receives the functions' and emulators' output (nil: discarded).
	Output io.Writer
	// Redrive runs, once the load is over and the faults are off, each
	// function's redrive command (RedriveCommand) by direct invocation.
	Redrive bool

	// Copies is the share of the webhooks each of whose deliveries is sent
	// as MinCopies to MaxCopies identical requests at once, each retried on
	// its own (a provider whose retry fires while the first attempt still
	// runs, or two of its workers sending one webhook): exactly one event
	// must come of them.
	Copies               float64
	MinCopies, MaxCopies int
	// SingleUseRaces is how many times a group of 2 to RaceBodies distinct
	// OSL Pay bodies is sent at once with one signed header set (OSL Pay
	// signs its app id and a timestamp, not the body), each body retried
	// with the same headers on a 5xx: at most one body may be accepted, the
	// others are 401, and at most one event is stored.
	SingleUseRaces int
	RaceBodies     int
	// Serial puts a one-at-a-time proxy (awskit.Serial) between the fault
	// proxy and moto: moto does not make concurrent conditional writes
	// atomic (two of 40 identical PutItems may win), DynamoDB does, so a run
	// that races deliveries would otherwise fail on moto's account.
	Serial bool
}

// OutageSpec is one outage window of a soak: every call to Service fails
// with Kind (Unavailable, Error or Reset) for For, from the moment the share
// At (0 to 1) of the webhooks has been handed to the senders — and, when
// Until is set, no longer than until the share Until has been: a load that
// runs fast (every attempt failing fast) cannot make windows overlap.
type OutageSpec struct {
	Service string
	Kind    Kind
	At      float64
	Until   float64
	For     time.Duration
}

// RedriveCommand is what the soak sends each function after the load: every
// event stored but not confirmed queued, however recent, found by its marker
// or by a sweep of the table (see DESIGN.md, "Operator commands").
const RedriveCommand = `{"` + contract.CommandRedrive + `":{"olderThan":"0s","sweep":true}}`

// ErrRedrive: a function did not carry out the redrive command (for example a
// build whose pipeline does not know it yet), or some events failed to send.
var ErrRedrive = errors.New("loadtest: redrive failed")

// RedriveResult is a function's answer to the redrive command (summed over
// the runs it took).
type RedriveResult struct {
	Found, Sent, Failed int
	Runs                int   // invocations it took
	Err                 error // nil: carried out, nothing failed
}

// ProviderResult is one provider's outcome.
type ProviderResult struct {
	Provider    string
	Webhooks    int            // distinct webhooks sent
	Deliveries  int            // deliveries by the provider: each webhook, plus redeliveries
	Attempts    int            // HTTP requests: deliveries with their retries
	NonOK       int            // attempts answered other than 2xx
	Statuses    map[int]int    // answers by status (a failed invocation: API Gateway's 500)
	Failed      int            // invocations that failed (Lambda timeout, crash), answered 500
	Acked       int            // webhooks that got a 2xx
	Unacked     int            // webhooks still failing after MaxAttempts: the provider gave up
	Events      int            // events stored (the oracle maps each to its webhook by content)
	Messages    int            // messages on the queue
	Lost        int            // the oracle's lost: acknowledged webhooks, or stored events, not delivered
	Extra       int            // messages beyond one per stored event (or that no stored event explains)
	ItemsQueued int            // stored items marked queued
	Outcomes    map[string]int // answers by X-Webhook-Outcome
	// Copied are the webhooks sent as concurrent copies, CopiesSent the
	// requests of their bursts (before retries).
	Copied, CopiesSent int
	// Races are the single-use races run against this provider.
	Races []Race
	// Stranded is how many events were stored but not queued once the load
	// was over (before any redrive).
	Stranded int
	Kills    int           // runtimes killed mid-request
	Redrive  RedriveResult // zero unless SoakConfig.Redrive
	Oracle   OracleReport  // the oracle over this provider's events and queue
}

// Race is one single-use race: distinct bodies sent at once with one signed
// header set.
type Race struct {
	Bodies   int // distinct bodies sent with the headers
	Accepted int // bodies answered 2xx
	Refused  int // bodies answered 401 (their last answer)
	Other    int // bodies whose last answer was another (a 5xx the provider gave up on)
}

// SoakResult is what a soak came to.
type SoakResult struct {
	Config    SoakConfig // the run's configuration, defaults filled in
	Providers []ProviderResult
	Calls     map[string]int // AWS calls by service/operation
	Faults    map[string]int // injected faults by service/operation/kind (outage-<kind> in a window)
	Kills     map[string]int // runtimes killed by service/operation/before|after
	// KillsMissed counts kills chosen whose caller was not found among the
	// runtimes (the call went on unharmed, or lost its answer after it).
	KillsMissed int
	Windows     []Window // outage windows, in order
	// Input is what the oracle judged: the webhooks sent with their 2xx
	// answers, the event items, the messages.
	Input OracleInput
	// LateWrites are the writes the proxy forwarded after their caller gave
	// up, by "service/Operation/<AWS's status>".
	LateWrites map[string]int
	RedriveAt  time.Time
	Oracle     OracleReport
	Duration   time.Duration
}

// Check is nil when the run upheld everything: the oracle, and a redrive
// that ran everywhere (when asked for) without a failure.
func (r *SoakResult) Check() error {
	errs := []error{r.Oracle.Err()}
	for _, p := range r.Providers {
		if p.Redrive.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Provider, p.Redrive.Err))
		}
	}
	return errors.Join(errs...)
}

// ErrProvesNothing: a harsh run whose faults did not bite.
var ErrProvesNothing = errors.New("loadtest: the harsh soak proves nothing")

// Bit is nil when a harsh run's faults bit: some runtime was killed, every
// outage window failed calls, and some event was left stranded (stored, not
// confirmed queued) for the redrive; and, as configured, some write landed
// late, some webhook was sent as concurrent copies, and every single-use race
// ran.
func (r *SoakResult) Bit() error {
	var errs []error
	t := r.Total()
	if t.Kills == 0 {
		errs = append(errs, fmt.Errorf("%w: no runtime was killed", ErrProvesNothing))
	}
	late := 0
	for _, n := range r.LateWrites {
		late += n
	}
	for _, rule := range r.Config.Rules {
		if rule.Kind == LateWrite && late == 0 {
			errs = append(errs, fmt.Errorf("%w: no write landed late", ErrProvesNothing))
			break
		}
	}
	if r.Config.Copies > 0 && t.Copied == 0 {
		errs = append(errs, fmt.Errorf("%w: no webhook was sent as concurrent copies", ErrProvesNothing))
	}
	// A race was contested when one body got past the single-use record and the
	// others were refused because of it: the winner may still have failed later
	// (a 5xx during an outage, then the sender gave up), which leaves it
	// unaccepted but proves the record decided the race. At most one body may
	// be accepted (the oracle's SingleUse check fails the run otherwise).
	decided := 0
	for _, race := range t.Races {
		if race.Accepted <= 1 && race.Refused > 0 && race.Refused < race.Bodies {
			decided++
		}
	}
	if len(t.Races) != r.Config.SingleUseRaces || (len(t.Races) > 0 && decided == 0) {
		errs = append(errs, fmt.Errorf("%w: %d single-use races ran of %d, %d decided (one body past the single-use record, the others refused)", ErrProvesNothing, len(t.Races), r.Config.SingleUseRaces, decided))
	}
	for _, w := range r.Windows {
		if w.Failed == 0 {
			errs = append(errs, fmt.Errorf("%w: the %s outage window failed no call", ErrProvesNothing, w.Service))
		}
	}
	if t.Stranded == 0 {
		errs = append(errs, fmt.Errorf("%w: no event was left stranded for the redrive", ErrProvesNothing))
	}
	return errors.Join(errs...)
}

// Total sums the providers' results.
func (r *SoakResult) Total() ProviderResult {
	t := ProviderResult{Provider: "all", Statuses: map[int]int{}, Outcomes: map[string]int{}}
	for _, p := range r.Providers {
		t.Webhooks += p.Webhooks
		t.Deliveries += p.Deliveries
		t.Attempts += p.Attempts
		t.NonOK += p.NonOK
		t.Failed += p.Failed
		t.Acked += p.Acked
		t.Unacked += p.Unacked
		t.Events += p.Events
		t.Messages += p.Messages
		t.Lost += p.Lost
		t.Extra += p.Extra
		t.ItemsQueued += p.ItemsQueued
		t.Stranded += p.Stranded
		t.Kills += p.Kills
		t.Redrive.Found += p.Redrive.Found
		t.Redrive.Sent += p.Redrive.Sent
		t.Redrive.Failed += p.Redrive.Failed
		t.Copied += p.Copied
		t.CopiesSent += p.CopiesSent
		t.Races = append(t.Races, p.Races...)
		for k, v := range p.Statuses {
			t.Statuses[k] += v
		}
		for k, v := range p.Outcomes {
			t.Outcomes[k] += v
		}
	}
	return t
}

type webhook = devkit.Webhook

// job is what a sender does next: deliver a webhook (hook ≥ 0) or run a
// single-use race (race ≥ 0).
type job struct{ hook, race int }

// sent is what the senders saw of one webhook.
type sent struct {
	answers []Answer // every 2xx answer
	last    int      // status of its last answer
}

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
	if cfg.FunctionTimeout == 0 {
		cfg.FunctionTimeout = 60 * time.Second
	}
	if cfg.Copies > 0 && (cfg.MinCopies < 2 || cfg.MaxCopies < cfg.MinCopies) {
		return nil, fmt.Errorf("loadtest: copies %d to %d: want 2 ≤ min ≤ max", cfg.MinCopies, cfg.MaxCopies)
	}
	if cfg.SingleUseRaces > 0 && cfg.RaceBodies < 2 {
		return nil, fmt.Errorf("loadtest: a single-use race needs 2 bodies or more, not %d", cfg.RaceBodies)
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
	target := cfg.Endpoint
	if cfg.Serial {
		serial, err := awskit.NewSerial(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		defer serial.Close()
		target = serial.Endpoint
	}
	proxy, err := NewFaultProxy(target, cfg.Seed, cfg.Rules...)
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
			Timeout:   cfg.FunctionTimeout,
			Output:    cfg.Output,
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
	// The single-use races' bodies: OSL Pay webhooks of their own (tag "r").
	var raceHooks []webhook
	raceSize := make([]int, cfg.SingleUseRaces)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	if cfg.SingleUseRaces > 0 {
		kit, err := devkit.Find(providers.All, oslpay.Name)
		if err != nil {
			return nil, err
		}
		if raceHooks, err = devkit.Generate(cfg.EventsDir, kit, "r", cfg.SingleUseRaces*cfg.RaceBodies); err != nil {
			return nil, err
		}
		for g := range raceSize {
			raceSize[g] = 2 + rng.IntN(cfg.RaceBodies-1)
		}
	}
	// How many concurrent copies each webhook's deliveries are sent as (1: one).
	copies := make([]int, len(hooks))
	for i := range hooks {
		copies[i] = 1
		if rng.Float64() < cfg.Copies {
			copies[i] = cfg.MinCopies + rng.IntN(cfg.MaxCopies-cfg.MinCopies+1)
		}
	}
	res := map[string]*ProviderResult{}
	var mu sync.Mutex
	if len(cfg.Kills) > 0 {
		proxy.SetKills(RuntimeKiller(func() map[int]string {
			pids := map[int]string{}
			for p, f := range functions {
				for _, pid := range f.EmulatorPids() {
					pids[pid] = p
				}
			}
			return pids
		}, func(provider string, _ int) {
			mu.Lock()
			res[provider].Kills++
			mu.Unlock()
		}), cfg.Kills...)
	}
	for _, p := range localrun.Providers {
		res[p] = &ProviderResult{Provider: p, Statuses: map[int]int{}, Outcomes: map[string]int{}}
	}
	hookSeen := make([]sent, len(hooks))
	raceSeen := make([]sent, len(raceHooks))
	// record counts one attempt's answer, to the webhook it is about.
	record := func(provider string, seen *sent) func(status int, outcome, id string) {
		return func(status int, outcome, id string) {
			mu.Lock()
			defer mu.Unlock()
			r := res[provider]
			r.Attempts++
			if outcome == outcomeFunctionFailed {
				r.Failed++
			}
			if status < 200 || status >= 300 {
				r.NonOK++
			} else {
				seen.answers = append(seen.answers, Answer{EventID: id, Outcome: outcome})
			}
			seen.last = status
			r.Statuses[status]++
			r.Outcomes[outcome]++
		}
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				if j.race >= 0 {
					group := raceHooks[j.race*cfg.RaceBodies : j.race*cfg.RaceBodies+raceSize[j.race]]
					race, err := singleUseRace(ctx, cfg, functions[oslpay.Name], keys, group, func(b int) func(int, string, string) {
						return record(oslpay.Name, &raceSeen[j.race*cfg.RaceBodies+b])
					})
					mu.Lock()
					r := res[oslpay.Name]
					if err != nil {
						r.Outcomes["harness-error: "+err.Error()]++
					} else {
						r.Races = append(r.Races, race)
					}
					mu.Unlock()
					continue
				}
				i := j.hook
				hk := hooks[i]
				deliveries := 1
				if float64(i%100)/100 < cfg.Redeliver {
					deliveries = 2 // the provider sends it again after it was acknowledged
				}
				for d := 0; d < deliveries; d++ {
					ok := sendCopies(ctx, cfg, functions[hk.Provider], keys, hk, copies[i], record(hk.Provider, &hookSeen[i]))
					mu.Lock()
					r := res[hk.Provider]
					r.Deliveries += copies[i]
					if copies[i] > 1 {
						r.CopiesSent += copies[i]
						if d == 0 {
							r.Copied++
						}
					}
					if d == 0 && ok {
						r.Acked++
					} else if d == 0 {
						r.Unacked++
					}
					mu.Unlock()
					if !ok {
						break // the provider gave up: it sends this webhook no more
					}
				}
			}
		}()
	}
	var timers []*time.Timer
	closers := map[int]func(){}
	nextRace := 0
	for i := range hooks {
		for k, o := range cfg.Outages {
			if c := closers[k]; c != nil && o.Until > 0 && int(o.Until*float64(len(hooks))) <= i {
				c()
				delete(closers, k)
			}
			if int(o.At*float64(len(hooks))) == i {
				c := proxy.OpenOutage(o.Service, o.Kind)
				closers[k] = c
				timers = append(timers, time.AfterFunc(o.For, c))
			}
		}
		// The races are spread over the load, the first in its first tenth.
		for nextRace < cfg.SingleUseRaces && i >= len(hooks)*(1+10*nextRace)/(10*cfg.SingleUseRaces) {
			work <- job{hook: -1, race: nextRace}
			nextRace++
		}
		work <- job{hook: i, race: -1}
	}
	for ; nextRace < cfg.SingleUseRaces; nextRace++ {
		work <- job{hook: -1, race: nextRace}
	}
	close(work)
	wg.Wait()
	for _, t := range timers {
		t.Stop()
	}

	// Read back without faults, once every write held late has landed.
	proxy.SetRules()
	proxy.SetKills(nil)
	proxy.CloseOutages()
	out := &SoakResult{Config: cfg}
	out.LateWrites = proxy.LateWrites()
	items, err := aws.Items(ctx, table)
	if err != nil {
		return nil, err
	}
	var stranded []Ack
	for _, it := range items {
		if awsStr(it, "sk") == "event" && awsStr(it, "status") == "stored" {
			res[awsStr(it, "provider")].Stranded++
			stranded = append(stranded, Ack{awsStr(it, "provider"), awsStr(it, "event_id")})
		}
	}
	if cfg.Redrive {
		out.RedriveAt = time.Now()
		for _, p := range localrun.Providers {
			res[p].Redrive = redrive(ctx, functions[p])
		}
		if items, err = aws.Items(ctx, table); err != nil {
			return nil, err
		}
	}
	var in OracleInput
	in.RedriveAt, in.Stranded = out.RedriveAt, stranded
	for i, hk := range hooks {
		in.Webhooks = append(in.Webhooks, SentWebhook{Provider: hk.Provider, Marker: hk.Marker, Answers: hookSeen[i].answers})
	}
	for g := 0; g < cfg.SingleUseRaces; g++ {
		for b := 0; b < raceSize[g]; b++ {
			hk := raceHooks[g*cfg.RaceBodies+b]
			in.Webhooks = append(in.Webhooks, SentWebhook{Provider: hk.Provider, Marker: hk.Marker,
				Answers: raceSeen[g*cfg.RaceBodies+b].answers, Group: fmt.Sprintf("single-use race %d", g)})
		}
	}
	for _, it := range items {
		if awsStr(it, "sk") == "event" {
			in.Events = append(in.Events, StoredEvent{Provider: awsStr(it, "provider"), EventID: awsStr(it, "event_id"),
				Status: awsStr(it, "status"), Data: awsStr(it, "data")})
		}
	}
	for _, p := range localrun.Providers {
		msgs, err := awskit.ReadQueue(ctx, aws.SQS, queues[p], awskit.ReadOptions{Consume: true, Settle: true})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			var ce struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(m.Body), &ce); err != nil {
				return nil, fmt.Errorf("%s: message is not a CloudEvent: %w", p, err)
			}
			if m.SentAt.IsZero() {
				return nil, fmt.Errorf("%s: message %s has no SentTimestamp", p, m.MessageID)
			}
			in.Deliveries = append(in.Deliveries, Delivery{Provider: p, EventID: ce.ID, MessageID: m.MessageID, SentAt: m.SentAt, Body: m.Body})
		}
		res[p].Messages = len(msgs)
		for _, it := range items {
			if awsStr(it, "provider") == p && awsStr(it, "sk") == "event" && awsStr(it, "status") == "queued" {
				res[p].ItemsQueued++
			}
		}
		res[p].Webhooks = countProvider(hooks, p)
	}
	out.Input = in
	out.Oracle = CheckDeliveries(in)
	for _, p := range localrun.Providers {
		o := CheckDeliveries(in.only(p))
		r := res[p]
		r.Oracle = o
		r.Events = o.Stored + o.Quarantined
		r.Lost = len(o.Lost)
		r.Extra = o.Extra
		out.Providers = append(out.Providers, *r)
	}
	out.Calls, out.Faults = proxy.Stats()
	out.Kills, out.KillsMissed = proxy.Kills()
	out.Windows = proxy.Windows()
	out.Duration = time.Since(start)
	return out, nil
}

// sendCopies delivers one webhook as n identical requests sent at once, each
// retried on its own (sendWithRetries), and returns whether one was answered
// 2xx.
func sendCopies(ctx context.Context, cfg SoakConfig, f *localrun.Function, keys devkit.Signers, hk webhook, n int, seen func(status int, outcome, id string)) bool {
	if n <= 1 {
		return sendWithRetries(ctx, cfg, f, func() ([]byte, error) { return devkit.Event(keys, hk, devkit.SigningClock.Next()) }, seen, false)
	}
	var wg sync.WaitGroup
	var acked atomic.Bool
	begin := make(chan struct{})
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			if sendWithRetries(ctx, cfg, f, func() ([]byte, error) { return devkit.Event(keys, hk, devkit.SigningClock.Next()) }, seen, false) {
				acked.Store(true)
			}
		}()
	}
	close(begin)
	wg.Wait()
	return acked.Load()
}

// singleUseRace sends distinct bodies at once with one signed header set,
// each retried with the same headers on a 5xx (a 4xx is final: the same
// request gets the same answer), and tells how each fared. seen(b) records
// the answers to body b.
func singleUseRace(ctx context.Context, cfg SoakConfig, f *localrun.Function, keys devkit.Signers, bodies []webhook, seen func(b int) func(int, string, string)) (Race, error) {
	at := devkit.SigningClock.Next()
	payloads := make([][]byte, len(bodies))
	var headers map[string]string
	for b, hk := range bodies {
		req, err := keys.Request(hk.Provider, hk.Variant, hk.Body, at)
		if err != nil {
			return Race{}, err
		}
		if b == 0 {
			headers = req.Headers
		} else if !maps.Equal(headers, req.Headers) {
			return Race{}, fmt.Errorf("loadtest: %s signs the body: two bodies signed at one time got different headers, so there is no single-use race to run", hk.Provider)
		}
		if payloads[b], err = json.Marshal(devkit.HTTPEvent(req).Event); err != nil {
			return Race{}, err
		}
	}
	race := Race{Bodies: len(bodies)}
	last := make([]int, len(bodies))
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			record := seen(b)
			sendWithRetries(ctx, cfg, f, func() ([]byte, error) { return payloads[b], nil }, func(status int, outcome, id string) {
				last[b] = status
				record(status, outcome, id)
			}, true)
		}()
	}
	close(begin)
	wg.Wait()
	for _, st := range last {
		switch {
		case st >= 200 && st < 300:
			race.Accepted++
		case st == http.StatusUnauthorized:
			race.Refused++
		default:
			race.Other++
		}
	}
	return race, nil
}

// sendWithRetries delivers one webhook as its provider would: up to
// MaxAttempts attempts, each with a payload made afresh (signed anew, as a
// retry would be), with RetryDelay × Backoff^(n-1) between attempts n and
// n+1. With final4xx a 4xx ends it too (a sender that resends the very same
// request, which gets the same answer). It reports each attempt to seen and
// returns whether one was answered 2xx.
func sendWithRetries(ctx context.Context, cfg SoakConfig, f *localrun.Function, payload func() ([]byte, error), seen func(status int, outcome, id string), final4xx bool) bool {
	delay := cfg.RetryDelay
	for attempt := 1; ; attempt++ {
		status, outcome, id, err := deliver(ctx, f, payload)
		if err != nil { // the harness failed, not the function: count it as no answer
			status, outcome = 0, "harness-error: "+err.Error()
		}
		seen(status, outcome, id)
		if status >= 200 && status < 300 {
			return true
		}
		if attempt >= cfg.MaxAttempts || (final4xx && status >= 400 && status < 500) {
			return false
		}
		time.Sleep(delay)
		if cfg.Backoff > 1 {
			delay = time.Duration(float64(delay) * cfg.Backoff)
		}
	}
}

// redrive invokes f with RedriveCommand as Lambda would (a direct
// invocation, through the same Invoker the local gateway uses), again while
// a run fails or times out, up to three runs.
func redrive(ctx context.Context, f localrun.Invoker) RedriveResult {
	var total RedriveResult
	for run := 1; run <= 3; run++ {
		total.Runs = run
		out, err := f.Invoke(ctx, []byte(RedriveCommand))
		var fe *localrun.FunctionError
		switch {
		case errors.As(err, &fe):
			total.Err = fmt.Errorf("%w: the function answered %s with a function error (%s: %s): is the pipeline's redrive command in this build?", ErrRedrive, RedriveCommand, fe.Type, fe.Message)
			return total
		case errors.Is(err, localrun.ErrTimeout) || errors.Is(err, localrun.ErrCrashed):
			total.Err = fmt.Errorf("%w: run %d: %v", ErrRedrive, run, err)
			continue
		case err != nil:
			total.Err = fmt.Errorf("%w: %v", ErrRedrive, err)
			return total
		}
		var r struct{ Found, Sent, Failed *int }
		if err := json.Unmarshal(out, &r); err != nil || r.Found == nil || r.Sent == nil || r.Failed == nil {
			total.Err = fmt.Errorf("%w: the reply %s is not {\"found\": n, \"sent\": n, \"failed\": n} (%v)", ErrRedrive, truncate(out, 300), err)
			return total
		}
		total.Found += *r.Found
		total.Sent += *r.Sent
		total.Failed += *r.Failed
		total.Err = nil
		if *r.Failed == 0 {
			return total
		}
		total.Err = fmt.Errorf("%w: %d events failed to send with the faults off", ErrRedrive, total.Failed)
	}
	return total
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
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

// deliver invokes the function with one payload (an API Gateway event) as
// API Gateway would.
func deliver(ctx context.Context, f *localrun.Function, payload func() ([]byte, error)) (int, string, string, error) {
	raw, err := payload()
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

// HarshRules is the harsh soak's background of single faults, on top of its
// outages and kills: 3% server errors, 3% throttling, 3% lost responses, and
// 2% of the writes held until the caller's attempt gives up, then applied.
func HarshRules() []Rule {
	return []Rule{
		{Kind: Error, Rate: 0.03},
		{Kind: Throttle, Rate: 0.03},
		{Kind: LostResponse, Rate: 0.03},
		{Kind: LateWrite, Rate: 0.02},
	}
}

// HarshRaces sets the harsh soak's races on cfg: a tenth of the webhooks sent
// as 2 to 20 concurrent copies, races single-use races of 2 to 5 OSL Pay
// bodies, and the one-at-a-time proxy in front of moto that makes its
// conditional writes atomic, as DynamoDB's are.
func HarshRaces(cfg *SoakConfig, races int) {
	cfg.Copies, cfg.MinCopies, cfg.MaxCopies = 0.1, 2, 20
	cfg.SingleUseRaces, cfg.RaceBodies = races, 5
	cfg.Serial = true
}

// HarshKills kills the calling runtime at 2% of its DynamoDB and SQS calls
// before the call reaches AWS, and at 2% after AWS applied it (so, among
// others, after PutItem before SendMessage, and after SendMessage before the
// UpdateItem that marks the event queued).
func HarshKills() []KillRule {
	return []KillRule{
		{Service: "dynamodb", Rate: 0.02},
		{Service: "dynamodb", After: true, Rate: 0.02},
		{Service: "sqs", Rate: 0.02},
		{Service: "sqs", After: true, Rate: 0.02},
	}
}

// HarshOutages are n pairs of outage windows, each lasting length (at most
// half the load's share between two windows, so that they never overlap and
// the load runs healthy between them), spread over the load: SQS
// (connections reset, then 503s) and DynamoDB (503s, then connections reset)
// in turn.
func HarshOutages(n int, length time.Duration) []OutageSpec {
	var out []OutageSpec
	for i := 0; i < n; i++ {
		kinds := [2]Kind{Reset, Unavailable}
		if i%2 == 1 {
			kinds = [2]Kind{Unavailable, Reset}
		}
		step := 1 / float64(2*n+1)
		out = append(out,
			OutageSpec{Service: "sqs", Kind: kinds[0], At: step * float64(2*i+1), Until: step * (float64(2*i+1) + 0.5), For: length},
			OutageSpec{Service: "dynamodb", Kind: kinds[1], At: step * float64(2*i+2), Until: step * (float64(2*i+2) + 0.5), For: length})
	}
	return out
}
