// Package benchdata loads the signed sample events of events/ for the
// benchmarks beside each provider: the adapted request and the development
// secret, so a benchmark measures only the code under test. Test tooling only.
package benchdata

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/samples"
	"webhooks/shared/apigw"
)

// EventsDir is the repository's events/ directory, found from this file.
func EventsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "events")
}

// Event returns the payload-2.0 event of events/<provider>/<name>.json.
func Event(tb testing.TB, provider, name string) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	list, err := samples.Load(EventsDir(), provider)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range list {
		if s.Name == name {
			return s.Event
		}
	}
	tb.Fatalf("no sample %s/%s", provider, name)
	return events.APIGatewayV2HTTPRequest{}
}

// Request returns the sample adapted as the pipeline adapts it, received at
// the samples' signing time.
func Request(tb testing.TB, provider, name string) *apigw.Request {
	tb.Helper()
	r, err := apigw.Adapt(Event(tb, provider, name), 0, samples.SampleTime.Add(time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// Secret returns the provider's development secret value (events/dev-secrets.json).
func Secret(tb testing.TB, provider string) []byte {
	tb.Helper()
	dev, err := samples.LoadDevSecrets(EventsDir())
	if err != nil {
		tb.Fatal(err)
	}
	raw, ok := dev[provider]
	if !ok {
		tb.Fatalf("no development secret for %s", provider)
	}
	return raw
}
