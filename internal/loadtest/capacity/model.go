package capacity

// The capacity model on paper: each limit a flash sale meets on the webhook
// path, with its documented value and source, what the sale asks of it at
// the peak assumed per provider (its kit's, peaks.go), and the multiple of that peak at
// which it breaks. Sentences here hold no figure: every number is a field,
// so the report shows the values the model computed with.

import (
	"math"
	"sort"
	"time"

	"webhooks/shared/secrets"
)

// Usage is what one webhook of a provider asks of AWS: measured by the
// simulation (Result), or assumed.
type Usage struct {
	Service    time.Duration // handler time per webhook (Lambda duration)
	WriteUnits float64       // DynamoDB write units per webhook
	Sends      float64       // SQS SendMessage calls per webhook
}

// UsageOf is the usage a run measured.
func UsageOf(r *Result) Usage {
	u := Usage{Service: r.MeanService(), Sends: r.CallsPer(OpSendMessage)}
	if r.Webhooks > 0 {
		u.WriteUnits = r.WriteUnits / float64(r.Webhooks)
	}
	return u
}

// Inputs are the model's constants besides the limits and the peaks.
type Inputs struct {
	// HotStateWRU and HotStateRRU are the write and read units one state
	// event of an entity costs on the entity's partition: the conditional
	// put of the state and the update that marks it queued, and the
	// Query (Limit 1, eventually consistent: half a unit) that reads the
	// latest state.
	HotStateWRU, HotStateRRU float64
	// SecretCallsPerRead: GetSecretValue calls per read of a secret
	// (AWSCURRENT; AWSPREVIOUS only for a request it must verify).
	SecretCallsPerRead float64
	// SecretTTL: how long an instance keeps its secret.
	SecretTTL time.Duration
	// KMSPerSecretCall: KMS Decrypt requests per GetSecretValue (a
	// customer-managed key).
	KMSPerSecretCall float64
	// ScalingWindow: the window of Lambda's scaling rate.
	ScalingWindow time.Duration
	// PartitionRRU: read units a partition serves per second beside
	// LimitPartition's write units (a linear combination of both).
	PartitionRRU float64
}

// DefaultInputs are the model's inputs for this stack.
var DefaultInputs = Inputs{
	HotStateWRU: 2, HotStateRRU: 0.5, SecretCallsPerRead: 1, SecretTTL: secrets.DefaultTTL,
	KMSPerSecretCall: 1, ScalingWindow: 10 * time.Second, PartitionRRU: 3000,
}

// Load is the sale the model is asked about: each provider's peak at a
// multiple, and what each webhook costs.
type Load struct {
	Peaks []Peak
	Usage map[string]Usage
	In    Inputs
}

// Rate is the whole API's webhooks per second.
func (l Load) Rate() float64 {
	s := 0.0
	for _, p := range l.Peaks {
		s += p.Rate
	}
	return s
}

// Concurrency is the Lambda concurrency provider p's peak needs (Little's law).
func (l Load) Concurrency(p Peak) float64 { return Concurrency(p.Rate, l.Usage[p.Provider].Service) }

// TotalConcurrency is the concurrency of every function together.
func (l Load) TotalConcurrency() float64 {
	s := 0.0
	for _, p := range l.Peaks {
		s += l.Concurrency(p)
	}
	return s
}

// WriteUnits is the table's write units per second.
func (l Load) WriteUnits() float64 {
	s := 0.0
	for _, p := range l.Peaks {
		s += p.Rate * l.Usage[p.Provider].WriteUnits
	}
	return s
}

// PartitionShare is the share of one partition's capacity a hot entity's
// state events take: writes against the write limit plus reads against the
// read limit (DynamoDB allows a linear combination of both).
func PartitionShare(statesPerSecond, wru, rru, wruLimit, rruLimit float64) float64 {
	return statesPerSecond * (wru/wruLimit + rru/rruLimit)
}

// PartitionCap is the state events per second one entity's partition takes.
func PartitionCap(wru, rru, wruLimit, rruLimit float64) float64 {
	return 1 / (wru/wruLimit + rru/rruLimit)
}

// SecretCallsPerSecond is GetSecretValue calls per second: every instance
// the sale starts reads the secret once as it starts (Lambda starts at most
// scaling-rate new instances per window and function), and every warm
// instance again each SecretTTL.
func (l Load) SecretCallsPerSecond(scalingPerWindow float64) float64 {
	s := 0.0
	for _, p := range l.Peaks {
		c := math.Ceil(l.Concurrency(p))
		starts := math.Min(c, scalingPerWindow) / l.In.ScalingWindow.Seconds()
		s += l.In.SecretCallsPerRead * (starts + c/l.In.SecretTTL.Seconds())
	}
	return s
}

// Times is the load with every provider's peak multiplied by k.
func (l Load) Times(k float64) Load {
	out := l
	out.Peaks = make([]Peak, len(l.Peaks))
	for i, p := range l.Peaks {
		p.Rate *= k
		p.HotRate *= k
		out.Peaks[i] = p
	}
	return out
}

// Use is what a load asks of one limit, in the limit's unit, and which
// provider asks most where the limit is per function, queue or entity.
type Use struct {
	Demand float64
	Who    string // the provider (or entity) the demand is for; "" for a shared limit
}

// Demand is what load asks of limit l.
func (l Limit) Demand(load Load) Use {
	worst := func(f func(p Peak) float64) Use {
		var u Use
		for _, p := range load.Peaks {
			if d := f(p); d > u.Demand {
				u = Use{Demand: d, Who: p.Provider}
			}
		}
		return u
	}
	switch l.Kind {
	case KindRequests:
		return Use{Demand: load.Rate()}
	case KindConcurrency:
		return Use{Demand: load.TotalConcurrency()}
	case KindScaling:
		return worst(func(p Peak) float64 { return math.Ceil(load.Concurrency(p)) })
	case KindTableWrites:
		return Use{Demand: load.WriteUnits()}
	case KindPartition:
		return worst(func(p Peak) float64 {
			if !p.HotState {
				return 0
			}
			return l.Value * PartitionShare(p.HotRate, load.In.HotStateWRU, load.In.HotStateRRU, l.Value, load.In.PartitionRRU)
		})
	case KindQueueSends:
		return worst(func(p Peak) float64 { return p.Rate * load.Usage[p.Provider].Sends })
	case KindGroupSends:
		return worst(func(p Peak) float64 { return p.HotRate })
	case KindSecretCalls:
		return Use{Demand: load.SecretCallsPerSecond(l.ScalingPerWindow)}
	case KindKMS:
		return Use{Demand: load.SecretCallsPerSecond(l.ScalingPerWindow) * load.In.KMSPerSecretCall}
	}
	return Use{}
}

// BreaksAt is the multiple of load at which it asks more than the limit
// (+Inf when it asks nothing of it).
func (l Limit) BreaksAt(load Load) float64 {
	d := l.Demand(load).Demand
	if d <= 0 {
		return math.Inf(1)
	}
	return l.Value / d
}

// Row is one limit under one load.
type Row struct {
	Limit    Limit
	Use      Use
	BreaksAt float64 // multiple of the load
}

// Analyse returns every limit under load, the first to break first.
func Analyse(limits []Limit, load Load) []Row {
	rows := make([]Row, len(limits))
	for i, l := range limits {
		rows[i] = Row{Limit: l, Use: l.Demand(load), BreaksAt: l.BreaksAt(load)}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].BreaksAt < rows[j].BreaksAt })
	return rows
}

// FirstBroken is the first limit (lowest BreaksAt) that the load at multiple k
// exceeds, and whether there is one.
func FirstBroken(rows []Row, k float64) (Row, bool) {
	for _, r := range rows {
		if r.BreaksAt < k {
			return r, true
		}
	}
	return Row{}, false
}
