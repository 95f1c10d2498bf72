package devkit

// Test data: the signed sample events of events/ for the tests and benchmarks
// beside each provider (the adapted request and the development secret), so a
// benchmark measures only the code under test.

import (
	"path/filepath"
	"runtime"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/shared/apigw"
)

// TB is the part of testing.TB the helpers of this package use: a
// *testing.T or *testing.B is one. devkit does not import the testing
// package, because the tools that run (the local run, webhookctl, the soak)
// link devkit for its samples and signers.
type TB interface {
	Helper()
	Log(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// EventsDir is the repository's events/ directory, found from this file.
func EventsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "events")
}

// SampleEvent returns the payload-2.0 event of events/<provider>/<name>.json.
func SampleEvent(tb TB, provider, name string) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	list, err := Load(EventsDir(), provider)
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

// SampleRequest returns the sample adapted as the pipeline adapts it, received at
// the samples' signing time.
func SampleRequest(tb TB, provider, name string) *apigw.Request {
	tb.Helper()
	r, err := apigw.Adapt(SampleEvent(tb, provider, name), 0, SampleTime.Add(time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// DevSecret returns the provider's development secret value (events/dev-secrets.json).
func DevSecret(tb TB, provider string) []byte {
	tb.Helper()
	dev, err := LoadDevSecrets(EventsDir())
	if err != nil {
		tb.Fatal(err)
	}
	raw, ok := dev[provider]
	if !ok {
		tb.Fatalf("no development secret for %s", provider)
	}
	return raw
}
