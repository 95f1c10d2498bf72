// Package metrics writes CloudWatch Embedded Metric Format (EMF) records: one
// JSON line per webhook that CloudWatch turns into metrics, with no API call.
package metrics

import (
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"webhooks/shared/contract"
)

// DefaultNamespace is used when none is configured.
const DefaultNamespace = contract.MetricsNamespace

// Outcome of one webhook, a metric dimension.
type Outcome = contract.Outcome

// Outcomes.
const (
	Accepted    = contract.Accepted
	Duplicate   = contract.Duplicate
	Rejected    = contract.Rejected
	Quarantined = contract.Quarantined
	Failed      = contract.Failed
)

// Metric names.
const (
	MetricWebhooks        = contract.MetricWebhooks              // Count
	MetricLatency         = contract.MetricLatency               // Milliseconds
	MetricPreviousVersion = contract.MetricPreviousSecretVersion // Count: requests verified by AWSPREVIOUS
)

// Recorder emits EMF records to a writer (Lambda: stdout).
type Recorder struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// New returns a Recorder writing to w in namespace (DefaultNamespace when empty).
func New(w io.Writer, namespace string) *Recorder {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Recorder{w: w, namespace: namespace, now: time.Now}
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// WebhookEMF returns the EMF members of a webhook's one log record: the
// _aws directive (its Timestamp is the record's time) and the Webhooks and
// Latency metrics. The record they are written in carries the dimensions,
// provider and outcome, at its top level, and eventType as a property: one
// line per webhook is both its log line and its metrics. A nil Recorder
// returns none.
func (r *Recorder) WebhookEMF(latency time.Duration) []slog.Attr {
	if r == nil {
		return nil
	}
	return []slog.Attr{
		slog.Group("_aws", slog.Int64("Timestamp", r.now().UnixMilli()), slog.Any("CloudWatchMetrics", []emfDirective{{
			Namespace:  r.namespace,
			Dimensions: [][]string{{"provider", "outcome"}, {"provider"}},
			Metrics:    []emfMetric{{Name: MetricWebhooks, Unit: "Count"}, {Name: MetricLatency, Unit: "Milliseconds"}},
		}})),
		slog.Int(MetricWebhooks, 1),
		slog.Float64(MetricLatency, float64(latency.Microseconds())/1000),
	}
}

type record struct {
	AWS       emfMeta `json:"_aws"`
	Provider  string  `json:"provider"`
	Outcome   Outcome `json:"outcome"`
	EventType string  `json:"eventType,omitempty"`
	Webhooks  int     `json:"Webhooks"`
	Latency   float64 `json:"Latency"`
}

// Webhook records one webhook's outcome and latency, by provider and outcome and
// by provider alone. eventType is a property for searching logs, not a dimension.
func (r *Recorder) Webhook(provider string, outcome Outcome, eventType string, latency time.Duration) {
	if r == nil {
		return
	}
	rec := record{
		AWS: emfMeta{
			Timestamp: r.now().UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  r.namespace,
				Dimensions: [][]string{{"provider", "outcome"}, {"provider"}},
				Metrics:    []emfMetric{{Name: MetricWebhooks, Unit: "Count"}, {Name: MetricLatency, Unit: "Milliseconds"}},
			}},
		},
		Provider:  provider,
		Outcome:   outcome,
		EventType: eventType,
		Webhooks:  1,
		Latency:   float64(latency.Microseconds()) / 1000,
	}
	r.write(rec)
}

type previousRecord struct {
	AWS      emfMeta `json:"_aws"`
	Provider string  `json:"provider"`
	Count    int     `json:"PreviousSecretVersion"`
}

// PreviousSecretVersion counts one request verified by the AWSPREVIOUS version
// of the provider's secret (dimension [provider]): while it is above zero, the
// provider has not switched to the current version yet.
func (r *Recorder) PreviousSecretVersion(provider string) {
	if r == nil {
		return
	}
	rec := previousRecord{
		AWS: emfMeta{
			Timestamp: r.now().UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  r.namespace,
				Dimensions: [][]string{{"provider"}},
				Metrics:    []emfMetric{{Name: MetricPreviousVersion, Unit: "Count"}},
			}},
		},
		Provider: provider,
		Count:    1,
	}
	r.write(rec)
}

func (r *Recorder) write(rec any) {
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.w.Write(append(b, '\n'))
}

type redriveRecord struct {
	AWS      emfMeta `json:"_aws"`
	Provider string  `json:"provider"`
	Found    int     `json:"RedriveFound"`
	Sent     int     `json:"RedriveSent"`
	Failed   int     `json:"RedriveFailed"`
	Missing  int     `json:"RedriveMissing"`
}

// Redrive records one redrive run (dimension [provider]): events found stored
// but not queued, sent, still not sent (stranded: an alarm's metric), and
// marked unsent but gone from the table (missing: an alarm's metric).
func (r *Recorder) Redrive(provider string, found, sent, failed, missing int) {
	if r == nil {
		return
	}
	r.write(redriveRecord{
		AWS: emfMeta{
			Timestamp: r.now().UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  r.namespace,
				Dimensions: [][]string{{contract.DimensionProvider}},
				Metrics: []emfMetric{
					{Name: contract.MetricRedriveFound, Unit: "Count"},
					{Name: contract.MetricRedriveSent, Unit: "Count"},
					{Name: contract.MetricRedriveFailed, Unit: "Count"},
					{Name: contract.MetricRedriveMissing, Unit: "Count"},
				},
			}},
		},
		Provider: provider, Found: found, Sent: sent, Failed: failed, Missing: missing,
	})
}
