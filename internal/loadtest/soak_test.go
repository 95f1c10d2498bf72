package loadtest

import (
	"context"
	"testing"
	"time"

	"webhooks/internal/awskit"
	"webhooks/internal/localrun"
)

func TestMain(m *testing.M) { awskit.Main(m) }

// A reduced soak for every `make test`: 60 webhooks per provider under 20%
// faults, through the real bootstraps under the emulator. `make soak` runs
// 1,000+ and writes docs/RELIABILITY.md.
func TestSoakExactlyOnceUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	endpoint := awskit.Endpoint(t)
	emulator, skip, err := localrun.EmulatorForTests()
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	bin := t.TempDir()
	if _, err := localrun.BuildFunctions("../..", bin); err != nil {
		t.Fatal(err)
	}
	res, err := Soak(context.Background(), SoakConfig{
		Endpoint: endpoint, EventsDir: "../../events", PerProvider: 60, Redeliver: 0.1,
		Rules: MixedFaults(), Seed: 42, RetryDelay: 5 * time.Millisecond,
		BinDir: bin, Emulator: emulator, Concurrency: 16,
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
}
