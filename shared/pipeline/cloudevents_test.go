package pipeline_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"webhooks/internal/devkit"
	"webhooks/shared/pipeline"
)

// Every message the receivers build from an accepted sample is a valid
// CloudEvents 1.0 event for the official SDK, with the contract's attributes.
func TestMessagesAreValidCloudEvents(t *testing.T) {
	now := devkit.SampleTime.Add(time.Second)
	checked := 0
	for _, c := range providerCases {
		run := c.run(t)
		list, err := devkit.Load(devkit.EventsDir(), c.provider)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if devkit.MustReject(s.Name) {
				continue
			}
			body, err := run(s.Event, now)
			var q *pipeline.QuarantineError
			if errors.As(err, &q) {
				continue // quarantined samples (undecryptable) have no message
			}
			if err != nil {
				t.Errorf("%s/%s: %v", c.provider, s.Name, err)
				continue
			}
			var ev cloudevents.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Errorf("%s/%s: the SDK cannot read the message: %v\n%s", c.provider, s.Name, err, body)
				continue
			}
			if err := ev.Validate(); err != nil {
				t.Errorf("%s/%s: invalid CloudEvent: %v", c.provider, s.Name, err)
			}
			if ev.SpecVersion() != "1.0" || ev.Source() != "webhooks/"+c.provider || ev.DataContentType() != "application/json" ||
				ev.Subject() == "" || ev.Time().IsZero() || !json.Valid(ev.Data()) {
				t.Errorf("%s/%s: attributes %s", c.provider, s.Name, ev.String())
			}
			checked++
		}
	}
	if checked < 30 {
		t.Errorf("only %d messages checked", checked)
	}
}
