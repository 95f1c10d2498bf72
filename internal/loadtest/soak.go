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
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
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
	keys, err := devkit.DevSigners(kits.All, cfg.EventsDir)
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

	hooks, err := devkit.Interleaved(kits.All, cfg.EventsDir, "s", cfg.PerProvider)
	if err != nil {
		return nil, err
	}
	// The single-use races' bodies: OSL Pay webhooks of their own (tag "r").
	var raceHooks []webhook
	raceSize := make([]int, cfg.SingleUseRaces)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	if cfg.SingleUseRaces > 0 {
		kit, err := devkit.Find(kits.All, oslpay.Name)
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
	for _, ev := range storedEvents(items) {
		if ev.Status == eventstore.StatusStored {
			res[ev.Provider].Stranded++
			stranded = append(stranded, Ack{ev.Provider, ev.EventID})
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
	events := storedEvents(items)
	for _, ev := range events {
		in.Events = append(in.Events, StoredEvent{Provider: ev.Provider, EventID: ev.EventID, Status: string(ev.Status), Data: string(ev.Data)})
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
		for _, ev := range events {
			if ev.Provider == p && ev.Status == eventstore.StatusQueued {
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

// storedEvents reads the table's event items as the store reads them
// (eventstore.Decode: either layout), leaving out every other item.
func storedEvents(items []map[string]ddb.AttributeValue) []*eventstore.Item {
	var out []*eventstore.Item
	for _, av := range items {
		if ev, err := eventstore.Decode(av); err == nil {
			out = append(out, ev)
		}
	}
	return out
}
