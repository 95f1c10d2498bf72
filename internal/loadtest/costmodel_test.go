package loadtest_test

import (
	"math"
	"testing"

	"webhooks/internal/loadtest"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestPerMillionArithmetic(t *testing.T) {
	p := loadtest.USEast1
	u := loadtest.Usage{Provider: "tiki", RequestBytes: 900, MemoryMB: 256, DurationMs: 40.2,
		WriteUnits: 2, ReadUnits: 0, SQSRequests: 1, LogBytes: 1024}
	a := loadtest.Amortised{RatePerSecond: 10, Instances: 1, CacheSeconds: 300, SecretCallsPerRead: 2, KMSPerSecretCall: 1, KMSBackgroundPerHour: 24}
	b := loadtest.PerMillion(p, u, a)

	secrets := 2 * math.Ceil(1e5/300) // 100,000 s at 10/s, one read per 5 minutes
	kms := secrets + 1e5/3600*24
	want := map[string]float64{
		"API Gateway HTTP API":        1.00,
		"Lambda compute (arm64)":      0.25 * 0.041 * 1e6 * 0.0000133334, // 41 ms billed
		"Lambda requests":             0.20,
		"DynamoDB writes (on demand)": 2 * 0.625,
		"SQS FIFO":                    0.50,
		"Secrets Manager API":         secrets / 1e4 * 0.05,
		"KMS requests":                kms / 1e4 * 0.03,
		"CloudWatch Logs ingestion":   1024 * 1e6 / (1 << 30) * 0.50,
	}
	total := 0.0
	seen := map[string]bool{}
	for _, l := range b.Lines {
		w, ok := want[l.Service]
		if !ok {
			t.Errorf("unexpected line %q", l.Service)
			continue
		}
		seen[l.Service] = true
		if !near(l.Dollars, w) {
			t.Errorf("%s = $%.6f, want $%.6f (%s)", l.Service, l.Dollars, w, l.Formula)
		}
		if l.Formula == "" {
			t.Errorf("%s has no formula", l.Service)
		}
		total += w
	}
	for s := range want {
		if !seen[s] {
			t.Errorf("missing line %q", s)
		}
	}
	if !near(b.Total, total) {
		t.Errorf("Total = %v, want %v", b.Total, total)
	}
}

func TestRequestsOver512KBAreSeveralGatewayRequests(t *testing.T) {
	b := loadtest.PerMillion(loadtest.USEast1, loadtest.Usage{RequestBytes: 600 << 10, MemoryMB: 256, DurationMs: 1}, loadtest.Amortised{})
	if b.Lines[0].Service != "API Gateway HTTP API" || !near(b.Lines[0].Dollars, 2.00) {
		t.Errorf("first line = %+v, want API Gateway at $2.00", b.Lines[0])
	}
}

func TestAmortisedCalls(t *testing.T) {
	s, k := loadtest.AmortisedCalls(loadtest.Amortised{RatePerSecond: 100, Instances: 3, CacheSeconds: 300, SecretCallsPerRead: 2, KMSPerSecretCall: 1, KMSBackgroundPerHour: 24})
	// 1e6/100 = 10,000 s → ceil(33.3) = 34 reads per instance × 3 × 2 calls.
	if !near(s, 204) || !near(k, 204+3*1e4/3600*24) {
		t.Errorf("AmortisedCalls = %v, %v", s, k)
	}
	if s, k := loadtest.AmortisedCalls(loadtest.Amortised{}); s != 0 || k != 0 {
		t.Errorf("no rate: %v, %v", s, k)
	}
}
