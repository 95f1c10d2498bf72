package loadtest

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"webhooks/internal/awskit/awstest"
	"webhooks/internal/localrun"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(helperEnv); url != "" {
		os.Exit(killHelper(url))
	}
	awstest.Main(m)
}

// A reduced soak for every `make test`: 60 webhooks per provider under 20%
// faults, through the real bootstraps under the emulator. `make soak` runs
// 1,000+ and writes docs/RELIABILITY.md.
func TestSoakExactlyOnceUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	endpoint, emulator, bin := soakParts(t)
	res, err := Soak(context.Background(), SoakConfig{
		Endpoint: endpoint, EventsDir: "../../events", PerProvider: 60, Redeliver: 0.1,
		Rules: MixedFaults(), Seed: 42, RetryDelay: 5 * time.Millisecond, Redrive: true,
		BinDir: bin, Emulator: emulator, Concurrency: 16, Output: soakLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	faults := 0
	for _, n := range res.Faults {
		faults += n
	}
	if faults == 0 {
		t.Fatal("no fault was injected: the soak proves nothing")
	}
	for _, p := range res.Providers {
		t.Logf("%+v", p)
		if p.Unacked != 0 || p.Lost != 0 || p.Extra != 0 {
			t.Errorf("%s: %d never acknowledged, %d lost, %d extra messages", p.Provider, p.Unacked, p.Lost, p.Extra)
		}
		if p.Acked != p.Webhooks || p.Messages != p.Events || p.Events == 0 {
			t.Errorf("%s: %d webhooks, %d acknowledged, %d events, %d messages", p.Provider, p.Webhooks, p.Acked, p.Events, p.Messages)
		}
	}
	t.Logf("faults injected: %v; took %s", res.Faults, res.Duration.Round(time.Millisecond))
	if err := res.Check(); err != nil {
		t.Error(err)
	}
	// Judged by content: each webhook stored once, received once, under the
	// id every 2xx answer named.
	if tot := res.Total(); res.Oracle.Delivered != tot.Webhooks || res.Oracle.AckedWebhooks != tot.Webhooks {
		t.Errorf("%d webhooks, %d acknowledged, %d delivered as the oracle requires", tot.Webhooks, res.Oracle.AckedWebhooks, res.Oracle.Delivered)
	}
}

// A function that answers "duplicate" for a new webhook (here: the fault
// proxy answers its store-once write as if its key were taken, by the
// previous such webhook's event), storing nothing, passes every check
// that trusts the ids it answers, and fails the soak's oracle.
func TestSoakCatchesADuplicateAnsweredForANewWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	endpoint, emulator, bin := soakParts(t)
	res, err := Soak(context.Background(), SoakConfig{
		Endpoint: endpoint, EventsDir: "../../events", PerProvider: 10,
		Rules: []Rule{{Kind: FalseDuplicate, Rate: 0.1}}, Seed: 7, RetryDelay: 5 * time.Millisecond,
		BinDir: bin, Emulator: emulator, Concurrency: 4, Output: soakLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	forged := 0
	for k, n := range res.Faults {
		if strings.HasSuffix(k, "/"+string(FalseDuplicate)) {
			forged += n
		}
	}
	if forged == 0 {
		t.Fatal("no duplicate was forged: the test proves nothing")
	}
	// What the soak checked before, trusting the answered ids: every webhook
	// acknowledged, every answered id stored, queued and received, as many
	// messages as distinct acknowledged ids.
	stored, received := map[string]bool{}, map[string]bool{}
	for _, e := range res.Input.Events {
		stored[e.Provider+"/"+e.EventID] = e.Status == "queued"
	}
	for _, d := range res.Input.Deliveries {
		received[d.Provider+"/"+d.EventID] = true
	}
	ackedIDs := map[string]bool{}
	for _, w := range res.Input.Webhooks {
		if len(w.Answers) == 0 {
			t.Fatalf("%s %s never acknowledged", w.Provider, w.Marker)
		}
		for _, a := range w.Answers {
			k := w.Provider + "/" + a.EventID
			if !stored[k] || !received[k] {
				t.Fatalf("%s %s: the answered id %s is not a queued, received event: the old checks would catch this", w.Provider, w.Marker, a.EventID)
			}
			ackedIDs[k] = true
		}
	}
	if t1 := res.Total(); t1.Messages != len(ackedIDs) || t1.Acked != t1.Webhooks {
		t.Fatalf("%d messages for %d acknowledged ids; %d of %d webhooks acknowledged", t1.Messages, len(ackedIDs), t1.Acked, t1.Webhooks)
	}
	// The oracle finds each webhook that was answered "duplicate" and never stored.
	err = res.Check()
	if !errors.Is(err, ErrLost) || len(res.Oracle.Lost) != forged || !strings.Contains(err.Error(), "(duplicate), but no stored event carries its marker") {
		t.Fatalf("%d duplicates forged; the oracle: %v", forged, err)
	}
	t.Logf("%d duplicates forged, all caught: %v", forged, err)
}

// buildFunctions builds the function bootstraps for a test (a second build
// in one run comes from Go's build cache).
func buildFunctions(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := localrun.BuildFunctions("../..", dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A reduced harsh soak for every `make test`: 20 webhooks per provider,
// providers that give up after 3 attempts, an SQS and a DynamoDB outage,
// runtimes killed at their AWS calls, late writes, a tenth of the webhooks
// sent as 2 to 20 concurrent copies and one OSL Pay single-use race, then the
// redrive and the oracle. `make soak` runs the full one and writes
// docs/RELIABILITY.md.
func TestHarshSoakStrandsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("killing runtimes needs Linux's /proc")
	}
	endpoint, emulator, bin := soakParts(t)
	cfg := SoakConfig{
		Endpoint: endpoint, EventsDir: "../../events", PerProvider: 20, Redeliver: 0.1,
		Rules: HarshRules(), Kills: HarshKills(), Outages: HarshOutages(1, 5*time.Second),
		MaxAttempts: 3, RetryDelay: 50 * time.Millisecond, Backoff: 4, Redrive: true,
		Seed: 12, BinDir: bin, Emulator: emulator, Concurrency: 16, Output: soakLog(t),
	}
	HarshRaces(&cfg, 1)
	res, err := Soak(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Providers {
		t.Logf("%+v", p)
	}
	t.Logf("oracle: %+v", res.Oracle)
	t.Logf("kills: %v (missed %d); windows: %+v; late writes: %v; faults: %v; took %s", res.Kills, res.KillsMissed, res.Windows, res.LateWrites, res.Faults, res.Duration.Round(time.Millisecond))
	if err := res.Bit(); err != nil {
		t.Error(err)
	}
	if len(res.Windows) != 2 {
		t.Errorf("%d outage windows; want 2", len(res.Windows))
	}
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
}

// soakLog is where a soak test writes the functions' output: appended to the
// file named by SOAK_LOG, else nowhere.
func soakLog(t *testing.T) io.Writer {
	p := os.Getenv("SOAK_LOG")
	if p == "" {
		return nil
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// soakParts are what a soak test needs: moto's endpoint, the emulator and the
// functions built for this machine (the test is skipped, or fails on CI,
// when one is missing).
func soakParts(t *testing.T) (endpoint, emulator, bin string) {
	t.Helper()
	endpoint = awstest.Endpoint(t)
	emulator, skip, err := localrun.EmulatorForTests()
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	return endpoint, emulator, buildFunctions(t)
}

// Bit refuses a harsh run whose faults or races did not happen.
func TestBitRefusesARunWhoseFaultsDidNotBite(t *testing.T) {
	cfg := SoakConfig{Rules: HarshRules()}
	HarshRaces(&cfg, 1)
	bit := func() *SoakResult {
		return &SoakResult{Config: cfg, LateWrites: map[string]int{"dynamodb/PutItem/applied": 1},
			Windows: []Window{{Service: "sqs", Failed: 1}},
			Providers: []ProviderResult{{Provider: "oslpay", Kills: 1, Stranded: 1, Copied: 1, CopiesSent: 2,
				Races: []Race{{Bodies: 3, Accepted: 1, Refused: 2}}}}}
	}
	if err := bit().Bit(); err != nil {
		t.Fatal(err)
	}
	// The winner failed after it got past the record (a 5xx the sender gave up
	// on): the race was still decided by the record.
	failedWinner := bit()
	failedWinner.Providers[0].Races[0] = Race{Bodies: 3, Refused: 2, Other: 1}
	if err := failedWinner.Bit(); err != nil {
		t.Errorf("a race whose winner failed later: %v", err)
	}
	for name, c := range map[string]struct {
		spoil func(*SoakResult)
		want  string
	}{
		"no kill":           {func(r *SoakResult) { r.Providers[0].Kills = 0 }, "no runtime was killed"},
		"a window idle":     {func(r *SoakResult) { r.Windows[0].Failed = 0 }, "the sqs outage window failed no call"},
		"nothing stranded":  {func(r *SoakResult) { r.Providers[0].Stranded = 0 }, "no event was left stranded"},
		"no late write":     {func(r *SoakResult) { r.LateWrites = nil }, "no write landed late"},
		"no copies":         {func(r *SoakResult) { r.Providers[0].Copied = 0 }, "no webhook was sent as concurrent copies"},
		"a race missing":    {func(r *SoakResult) { r.Providers[0].Races = nil }, "0 single-use races ran of 1"},
		"no race decided":   {func(r *SoakResult) { r.Providers[0].Races[0].Refused = 0 }, "0 decided"},
		"two bodies passed": {func(r *SoakResult) { r.Providers[0].Races[0].Accepted = 2 }, "0 decided"},
		"every body refused": {func(r *SoakResult) {
			r.Providers[0].Races[0] = Race{Bodies: 3, Refused: 3}
		}, "0 decided"},
	} {
		r := bit()
		c.spoil(r)
		if err := r.Bit(); !errors.Is(err, ErrProvesNothing) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
