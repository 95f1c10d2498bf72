package console

// Webhooks per minute by outcome, per provider: from CloudWatch (the
// functions' EMF records, namespace Webhooks/<stage>) on AWS, from the same
// records in the function logs of `make run` locally.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"webhooks/shared/contract"
)

// Outcomes are the outcome dimension's values, in the chart's order.
var Outcomes = []string{
	string(contract.Accepted), string(contract.Duplicate), string(contract.Quarantined),
	string(contract.Rejected), string(contract.Failed),
}

// Rates is GET /api/metrics.
type Rates struct {
	Source      string          `json:"source"`
	From        time.Time       `json:"from"`
	To          time.Time       `json:"to"`
	StepSeconds int             `json:"stepSeconds"`
	Outcomes    []string        `json:"outcomes"`
	Providers   []ProviderRates `json:"providers"`
}

// ProviderRates is one provider's webhooks per minute, by outcome: Series[o][i]
// counts the minute From + i.
type ProviderRates struct {
	Provider string           `json:"provider"`
	Series   map[string][]int `json:"series"`
	Total    map[string]int   `json:"total"`
}

// NewRates returns empty series over [from, to) by minute.
func NewRates(source string, providers []string, from, to time.Time) *Rates {
	n := max(0, int(to.Sub(from)/time.Minute))
	r := &Rates{Source: source, From: from.UTC(), To: to.UTC(), StepSeconds: 60, Outcomes: Outcomes}
	for _, p := range providers {
		pr := ProviderRates{Provider: p, Series: map[string][]int{}, Total: map[string]int{}}
		for _, o := range Outcomes {
			pr.Series[o] = make([]int, n)
			pr.Total[o] = 0
		}
		r.Providers = append(r.Providers, pr)
	}
	return r
}

// Add counts n webhooks of the provider with this outcome at t (outside the
// window, or an unknown provider or outcome: ignored).
func (r *Rates) Add(provider, outcome string, t time.Time, n int) {
	if t.Before(r.From) || !t.Before(r.To) {
		return
	}
	i := int(t.Sub(r.From) / time.Minute)
	for k := range r.Providers {
		pr := &r.Providers[k]
		if pr.Provider != provider {
			continue
		}
		if s, ok := pr.Series[outcome]; ok && i < len(s) {
			s[i] += n
			pr.Total[outcome] += n
		}
	}
}

// logTail is how much of the end of each function log LogRates reads.
const logTail = 32 << 20

// LogRates counts the EMF records of webhooks (metric Webhooks, dimensions
// provider and outcome) in <dir>/<provider>.log, the function logs of
// `make run`, reading at most the last 32 MiB of each. A missing log is an
// empty series.
func LogRates(dir string, providers []string, from, to time.Time) (*Rates, error) {
	r := NewRates("the function logs of make run ("+dir+")", providers, from, to)
	for _, p := range providers {
		if err := readLogRates(r, filepath.Join(dir, p+".log")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return r, nil
}

func readLogRates(r *Rates, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > logTail {
		if _, err := f.Seek(st.Size()-logTail, io.SeekStart); err != nil {
			return err
		}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	marker := []byte(`"` + contract.MetricWebhooks + `":`)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, marker) || !bytes.Contains(line, []byte(`"_aws"`)) {
			continue
		}
		start := bytes.IndexByte(line, '{')
		if start < 0 {
			continue
		}
		var rec struct {
			AWS struct {
				Timestamp int64 `json:"Timestamp"`
			} `json:"_aws"`
			Provider string `json:"provider"`
			Outcome  string `json:"outcome"`
			Webhooks int    `json:"Webhooks"`
		}
		if json.Unmarshal(line[start:], &rec) != nil || rec.Outcome == "" || rec.Webhooks <= 0 {
			continue
		}
		r.Add(rec.Provider, rec.Outcome, time.UnixMilli(rec.AWS.Timestamp), rec.Webhooks)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// MetricDataAPI is the part of the CloudWatch client CloudWatchRates uses.
type MetricDataAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ MetricDataAPI = (*cloudwatch.Client)(nil)

// CloudWatchRates reads metric Webhooks (Sum, by minute) for each provider
// and outcome from the namespace: one GetMetricData request (and its pages).
func CloudWatchRates(ctx context.Context, api MetricDataAPI, namespace string, providers []string, from, to time.Time) (*Rates, error) {
	r := NewRates("CloudWatch, namespace "+namespace, providers, from, to)
	type series struct{ provider, outcome string }
	ids := map[string]series{}
	var queries []cwtypes.MetricDataQuery
	for i, p := range providers {
		for j, o := range Outcomes {
			id := fmt.Sprintf("m%d_%d", i, j)
			ids[id] = series{p, o}
			queries = append(queries, cwtypes.MetricDataQuery{
				Id: aws.String(id),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{
						Namespace:  aws.String(namespace),
						MetricName: aws.String(contract.MetricWebhooks),
						Dimensions: []cwtypes.Dimension{
							{Name: aws.String(contract.DimensionProvider), Value: aws.String(p)},
							{Name: aws.String(contract.DimensionOutcome), Value: aws.String(o)},
						},
					},
					Period: aws.Int32(60),
					Stat:   aws.String("Sum"),
				},
			})
		}
	}
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(from), EndTime: aws.Time(to), MetricDataQueries: queries}
	for {
		out, err := api.GetMetricData(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("CloudWatch GetMetricData: %w", err)
		}
		for _, res := range out.MetricDataResults {
			s, ok := ids[aws.ToString(res.Id)]
			if !ok {
				continue
			}
			for k, t := range res.Timestamps {
				if k < len(res.Values) {
					r.Add(s.provider, s.outcome, t, int(res.Values[k]+0.5))
				}
			}
		}
		if out.NextToken == nil {
			return r, nil
		}
		in.NextToken = out.NextToken
	}
}
