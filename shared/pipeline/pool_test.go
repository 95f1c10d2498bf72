package pipeline_test

import (
	"bytes"
	"testing"
	"time"

	"webhooks/internal/devkit"
)

// Parsed documents and redactors are pooled and reused by the next request.
// Whatever a request produced must not change when later requests run: for
// every pair of a provider's accepted samples, the first message is the same
// after the second (and an adversarial body, the largest reuse) ran.
func TestPooledStorageIsNotShared(t *testing.T) {
	now := devkit.SampleTime.Add(time.Second)
	for _, c := range providerCases {
		run := c.run(t)
		list, err := devkit.Load(devkit.EventsDir(), c.provider)
		if err != nil {
			t.Fatal(err)
		}
		big := devkit.AdversarialEvent(t, kitOf(t, c.provider), devkit.Shapes[len(devkit.Shapes)-1], 64<<10)
		for _, a := range list {
			if devkit.MustReject(a.Name) {
				continue
			}
			first, err := run(a.Event, now)
			if err != nil {
				continue // quarantined samples have no message
			}
			kept := bytes.Clone(first)
			for _, b := range list {
				_, _ = run(b.Event, now) // rejected ones too: they parse and release
			}
			_, _ = run(big, now)
			if !bytes.Equal(first, kept) {
				t.Fatalf("%s/%s: its message changed when later requests ran:\nbefore %s\nafter  %s", c.provider, a.Name, kept, first)
			}
		}
	}
}
