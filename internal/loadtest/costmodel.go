package loadtest

// Cost model: turns measured per-webhook usage (AWS calls, DynamoDB
// units, SQS requests, Lambda duration) into dollars per million webhooks at
// AWS list prices, line by line, with the arithmetic spelled out. Local
// tooling for the performance report: never deployed.

import (
	"fmt"
	"math"
)

// Prices are list prices of one region. Amounts in US dollars.
type Prices struct {
	Region string
	Date   string // when the prices were entered
	// API Gateway HTTP API, per million requests (first 300 million a month),
	// each started 512 KB of request is one request.
	HTTPAPIPerMillion float64
	HTTPAPIChunkBytes int
	// Lambda on arm64: per GB-second and per million requests.
	LambdaARMPerGBSecond    float64
	LambdaRequestPerMillion float64
	// DynamoDB on demand: per million write and read request units.
	DynamoWRUPerMillion float64
	DynamoRRUPerMillion float64
	// SQS FIFO: per million requests (each started 64 KB is one request).
	SQSFIFOPerMillion float64
	// Secrets Manager API calls and KMS requests, per 10,000.
	SecretsPer10k float64
	KMSPer10k     float64
	// CloudWatch Logs ingestion per GB (standard class).
	LogsPerGB float64
}

// USEast1 are the us-east-1 list prices the report uses (free tiers ignored).
var USEast1 = Prices{
	Region:                  "us-east-1",
	Date:                    "2026-11-22",
	HTTPAPIPerMillion:       1.00,
	HTTPAPIChunkBytes:       512 << 10,
	LambdaARMPerGBSecond:    0.0000133334,
	LambdaRequestPerMillion: 0.20,
	DynamoWRUPerMillion:     0.625,
	DynamoRRUPerMillion:     0.125,
	SQSFIFOPerMillion:       0.50,
	SecretsPer10k:           0.05,
	KMSPer10k:               0.03,
	LogsPerGB:               0.50,
}

// Usage is what one webhook costs in billable units, as measured.
type Usage struct {
	Provider     string
	RequestBytes int     // HTTP request size (body and headers) at the gateway
	MemoryMB     int     // configured Lambda memory
	DurationMs   float64 // measured handler duration; billed rounded up to 1 ms
	WriteUnits   float64 // DynamoDB write request units
	ReadUnits    float64 // DynamoDB read request units
	SQSRequests  float64 // SQS requests in 64 KB chunks
	LogBytes     float64 // bytes the function writes to CloudWatch Logs
}

// Amortised are the calls that happen per warm function instance, not per
// webhook, and what is needed to spread them over a million webhooks.
type Amortised struct {
	// RatePerSecond is the sustained webhook rate of one provider assumed.
	RatePerSecond float64
	// Instances is the number of warm function instances serving that rate.
	Instances int
	// CacheSeconds is how long a secret stays cached (300).
	CacheSeconds float64
	// SecretCallsPerRead is the GetSecretValue calls one (re)read of the
	// secret makes (AWSCURRENT, and AWSPREVIOUS when a request needs it), as
	// measured.
	SecretCallsPerRead float64
	// KMSPerSecretCall is KMS Decrypt requests per GetSecretValue (1 with a
	// customer-managed key).
	KMSPerSecretCall float64
	// KMSBackgroundPerHour are the KMS requests per instance and hour that
	// SQS and DynamoDB make for their cached data keys (each reuses a key for
	// 5 minutes: about 12 + 12 an hour).
	KMSBackgroundPerHour float64
}

// DefaultAmortised is the assumption the report states.
var DefaultAmortised = Amortised{
	RatePerSecond:        10,
	Instances:            1,
	CacheSeconds:         300,
	SecretCallsPerRead:   2,
	KMSPerSecretCall:     1,
	KMSBackgroundPerHour: 24,
}

// Line is one service's share of the cost per million webhooks.
type Line struct {
	Service  string
	Quantity float64 // billable units per million webhooks
	Unit     string
	Dollars  float64 // per million webhooks
	Formula  string  // the arithmetic, readable
}

// Breakdown is the cost of a million webhooks.
type Breakdown struct {
	Provider string
	Lines    []Line
	Total    float64
}

// PerMillion computes the cost of a million webhooks with usage u.
func PerMillion(p Prices, u Usage, a Amortised) Breakdown {
	const M = 1e6
	b := Breakdown{Provider: u.Provider}
	add := func(l Line) { b.Lines = append(b.Lines, l); b.Total += l.Dollars }

	chunks := math.Max(1, math.Ceil(float64(u.RequestBytes)/float64(p.HTTPAPIChunkBytes)))
	add(Line{"API Gateway HTTP API", chunks * M, "requests", chunks * p.HTTPAPIPerMillion,
		fmt.Sprintf("%.0f request × $%.2f/M", chunks, p.HTTPAPIPerMillion)})

	billedMs := math.Ceil(u.DurationMs)
	gbs := float64(u.MemoryMB) / 1024 * billedMs / 1000
	add(Line{"Lambda compute (arm64)", gbs * M, "GB-s", gbs * M * p.LambdaARMPerGBSecond,
		fmt.Sprintf("%d MB/1024 × %.0f ms → %.6f GB-s × 1M × $%.10f", u.MemoryMB, billedMs, gbs, p.LambdaARMPerGBSecond)})
	add(Line{"Lambda requests", M, "requests", p.LambdaRequestPerMillion,
		fmt.Sprintf("1 × $%.2f/M", p.LambdaRequestPerMillion)})

	add(Line{"DynamoDB writes (on demand)", u.WriteUnits * M, "WRU", u.WriteUnits * p.DynamoWRUPerMillion,
		fmt.Sprintf("%.2f WRU × $%.3f/M", u.WriteUnits, p.DynamoWRUPerMillion)})
	if u.ReadUnits > 0 {
		add(Line{"DynamoDB reads (on demand)", u.ReadUnits * M, "RRU", u.ReadUnits * p.DynamoRRUPerMillion,
			fmt.Sprintf("%.2f RRU × $%.3f/M", u.ReadUnits, p.DynamoRRUPerMillion)})
	}
	add(Line{"SQS FIFO", u.SQSRequests * M, "requests", u.SQSRequests * p.SQSFIFOPerMillion,
		fmt.Sprintf("%.2f request × $%.2f/M", u.SQSRequests, p.SQSFIFOPerMillion)})

	secretCalls, kmsCalls := AmortisedCalls(a)
	add(Line{"Secrets Manager API", secretCalls, "calls", secretCalls / 1e4 * p.SecretsPer10k,
		fmt.Sprintf("%.0f calls (see amortisation) × $%.2f/10k", secretCalls, p.SecretsPer10k)})
	add(Line{"KMS requests", kmsCalls, "requests", kmsCalls / 1e4 * p.KMSPer10k,
		fmt.Sprintf("%.0f requests × $%.2f/10k", kmsCalls, p.KMSPer10k)})
	if u.LogBytes > 0 {
		gb := u.LogBytes * M / (1 << 30)
		add(Line{"CloudWatch Logs ingestion", gb, "GB", gb * p.LogsPerGB,
			fmt.Sprintf("%.0f B × 1M = %.3f GB × $%.2f/GB", u.LogBytes, gb, p.LogsPerGB)})
	}
	return b
}

// AmortisedCalls returns the Secrets Manager calls and KMS requests made
// while a million webhooks arrive at a.RatePerSecond on a.Instances warm
// instances: each instance re-reads the secret once per cache period, and
// SQS and DynamoDB refresh their data keys in the background.
func AmortisedCalls(a Amortised) (secretCalls, kmsCalls float64) {
	if a.RatePerSecond <= 0 || a.CacheSeconds <= 0 {
		return 0, 0
	}
	seconds := 1e6 / a.RatePerSecond
	reads := float64(max(a.Instances, 1)) * math.Ceil(seconds/a.CacheSeconds)
	secretCalls = reads * a.SecretCallsPerRead
	kmsCalls = secretCalls*a.KMSPerSecretCall + float64(max(a.Instances, 1))*seconds/3600*a.KMSBackgroundPerHour
	return secretCalls, kmsCalls
}
