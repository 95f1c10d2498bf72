package capacity

// Latency of the AWS calls: a distribution per operation, drawn from on the
// simulated clock. Which figures a run used is part of its result.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// The AWS operations the webhook path makes, as the simulation names them.
const (
	OpPutItem        = "DynamoDB.PutItem"
	OpUpdateItem     = "DynamoDB.UpdateItem"
	OpGetItem        = "DynamoDB.GetItem"
	OpQuery          = "DynamoDB.Query"
	OpDeleteItem     = "DynamoDB.DeleteItem"
	OpSendMessage    = "SQS.SendMessage"
	OpGetSecretValue = "SecretsManager.GetSecretValue"
)

// Ops lists the operations a profile must cover, in report order.
var Ops = []string{OpPutItem, OpUpdateItem, OpGetItem, OpQuery, OpDeleteItem, OpSendMessage, OpGetSecretValue}

// z99 is the standard normal's 99th percentile: a log-normal with median m
// and shape sigma has its 99th percentile at m·e^(z99·sigma).
const z99 = 2.3263478740

// Dist is a log-normal latency distribution given by its median and 99th
// percentile (the two figures latency is usually quoted by).
type Dist struct {
	P50, P99 time.Duration
}

// sigma is the log-normal's shape.
func (d Dist) sigma() float64 {
	if d.P99 <= d.P50 || d.P50 <= 0 {
		return 0
	}
	return math.Log(float64(d.P99)/float64(d.P50)) / z99
}

// Mean is the distribution's mean: m·e^(sigma²/2).
func (d Dist) Mean() time.Duration {
	s := d.sigma()
	return time.Duration(float64(d.P50) * math.Exp(s*s/2))
}

// Sample draws one latency.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	return time.Duration(float64(d.P50) * math.Exp(d.sigma()*r.NormFloat64()))
}

// DistFromMean is the log-normal whose mean is mean with the spread of
// p99/p50 = ratio: for a series known only by its mean.
func DistFromMean(mean time.Duration, ratio float64) Dist {
	s := math.Log(ratio) / z99
	p50 := time.Duration(float64(mean) / math.Exp(s*s/2))
	return Dist{P50: p50, P99: time.Duration(float64(p50) * ratio)}
}

// Profile is a latency distribution per AWS operation, and where its figures
// come from.
type Profile struct {
	Name   string
	Source string
	Ops    map[string]Dist
}

// Check reports an operation the profile does not cover.
func (p Profile) Check() error {
	for _, op := range Ops {
		if d, ok := p.Ops[op]; !ok || d.P50 <= 0 || d.P99 < d.P50 {
			return fmt.Errorf("capacity: latency profile %q has no usable distribution for %s", p.Name, op)
		}
	}
	return nil
}

// AWSDocumented is in-region AWS latency as AWS describes it. DynamoDB:
// "the same single-digit millisecond latency" for on-demand tables
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html);
// the median and the 99th percentile inside and just past that are assumed.
// SQS and Secrets Manager publish no latency figure: SendMessage to a FIFO
// queue (de-duplication, KMS-encrypted) and GetSecretValue (a KMS Decrypt
// behind it) are assumed slower than a DynamoDB write. Replace these with
// figures measured in the target account before relying on them.
var AWSDocumented = Profile{
	Name:   "aws-documented",
	Source: "DynamoDB single-digit ms (on-demand-capacity-mode.html); p50/p99 assumed; SQS SendMessage and Secrets Manager GetSecretValue assumed (AWS publishes no latency)",
	Ops: map[string]Dist{
		OpPutItem:        {P50: 4 * time.Millisecond, P99: 12 * time.Millisecond},
		OpUpdateItem:     {P50: 4 * time.Millisecond, P99: 12 * time.Millisecond},
		OpGetItem:        {P50: 3 * time.Millisecond, P99: 10 * time.Millisecond},
		OpQuery:          {P50: 3 * time.Millisecond, P99: 10 * time.Millisecond},
		OpDeleteItem:     {P50: 4 * time.Millisecond, P99: 12 * time.Millisecond},
		OpSendMessage:    {P50: 8 * time.Millisecond, P99: 30 * time.Millisecond},
		OpGetSecretValue: {P50: 15 * time.Millisecond, P99: 60 * time.Millisecond},
	},
}

// MotoSpread is the p99/p50 ratio given to a moto_server series known only by
// its mean (the load run reports means per operation): assumed.
const MotoSpread = 3.0

// MotoMeasured builds a profile from the mean time per call measured against
// moto_server (cmd/perfreport's bare calls: PutItem, SendMessage, UpdateItem),
// with MotoSpread; the operations the load run does not time borrow a
// measured one (reads and deletes PutItem's, GetSecretValue PutItem's).
func MotoMeasured(source string, put, send, update time.Duration) Profile {
	d := func(m time.Duration) Dist { return DistFromMean(m, MotoSpread) }
	return Profile{
		Name:   "moto-measured",
		Source: source,
		Ops: map[string]Dist{
			OpPutItem: d(put), OpUpdateItem: d(update), OpGetItem: d(put), OpQuery: d(put),
			OpDeleteItem: d(put), OpSendMessage: d(send), OpGetSecretValue: d(put),
		},
	}
}

// MotoLastReport is MotoMeasured with the means of the last committed report
// (docs/PERFORMANCE.md, load at concurrency 1, generated 2026-12-07): for a run
// of the simulation alone, which starts no moto_server. `make bench` passes the
// means it has just measured instead.
var MotoLastReport = MotoMeasured("moto_server means from docs/PERFORMANCE.md of 2026-12-07 (load, c=1), p99/p50 assumed",
	4900*time.Microsecond, 10900*time.Microsecond, 7800*time.Microsecond)

// Percentile of sorted durations, nearest rank (p in 0..100).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// sortedCopy returns v sorted, leaving v as it was.
func sortedCopy(v []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), v...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
