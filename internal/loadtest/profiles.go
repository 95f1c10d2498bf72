package loadtest

// The soak's fault profiles: the mixed faults of the classic soak, and the harsh soak's rules, kills, races and outages.

import (
	"time"
)

// MixedFaults is the soak's fault mix: 20% of every AWS call the functions
// make fails in one of five ways.
func MixedFaults() []Rule {
	return []Rule{
		{Kind: Error, Rate: 0.05},
		{Kind: Throttle, Rate: 0.05},
		{Kind: LostResponse, Rate: 0.05},
		{Kind: Timeout, Rate: 0.02}, // held until the function's 4 s attempt limit gives up
		{Kind: Latency, Rate: 0.03, Delay: 50 * time.Millisecond},
	}
}

// HarshRules is the harsh soak's background of single faults, on top of its
// outages and kills: 3% server errors, 3% throttling, 3% lost responses, and
// 2% of the writes held until the caller's attempt gives up, then applied.
func HarshRules() []Rule {
	return []Rule{
		{Kind: Error, Rate: 0.03},
		{Kind: Throttle, Rate: 0.03},
		{Kind: LostResponse, Rate: 0.03},
		{Kind: LateWrite, Rate: 0.02},
	}
}

// HarshRaces sets the harsh soak's races on cfg: a tenth of the webhooks sent
// as 2 to 20 concurrent copies, races single-use races of 2 to 5 OSL Pay
// bodies, and the one-at-a-time proxy in front of moto that makes its
// conditional writes atomic, as DynamoDB's are.
func HarshRaces(cfg *SoakConfig, races int) {
	cfg.Copies, cfg.MinCopies, cfg.MaxCopies = 0.1, 2, 20
	cfg.SingleUseRaces, cfg.RaceBodies = races, 5
	cfg.Serial = true
}

// HarshKills kills the calling runtime at 2% of its DynamoDB and SQS calls
// before the call reaches AWS, and at 2% after AWS applied it (so, among
// others, after PutItem before SendMessage, and after SendMessage before the
// UpdateItem that marks the event queued).
func HarshKills() []KillRule {
	return []KillRule{
		{Service: "dynamodb", Rate: 0.02},
		{Service: "dynamodb", After: true, Rate: 0.02},
		{Service: "sqs", Rate: 0.02},
		{Service: "sqs", After: true, Rate: 0.02},
	}
}

// HarshOutages are n pairs of outage windows, each lasting length (at most
// half the load's share between two windows, so that they never overlap and
// the load runs healthy between them), spread over the load: SQS
// (connections reset, then 503s) and DynamoDB (503s, then connections reset)
// in turn.
func HarshOutages(n int, length time.Duration) []OutageSpec {
	var out []OutageSpec
	for i := 0; i < n; i++ {
		kinds := [2]Kind{Reset, Unavailable}
		if i%2 == 1 {
			kinds = [2]Kind{Unavailable, Reset}
		}
		step := 1 / float64(2*n+1)
		out = append(out,
			OutageSpec{Service: "sqs", Kind: kinds[0], At: step * float64(2*i+1), Until: step * (float64(2*i+1) + 0.5), For: length},
			OutageSpec{Service: "dynamodb", Kind: kinds[1], At: step * float64(2*i+2), Until: step * (float64(2*i+2) + 0.5), For: length})
	}
	return out
}
