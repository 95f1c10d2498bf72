package localrun

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"sort"

	"webhooks/internal/devkit"
)

// Sample is one sample file of events/ (devkit.Sample).
type Sample = devkit.Sample

// LoadSampleFile reads one sample file (devkit.LoadSampleFile).
func LoadSampleFile(path string) (Sample, error) { return devkit.LoadSampleFile(path) }

// LoadSamples reads every events/<provider>/*.json under dir, sorted by
// provider (in Providers order, then others) and name.
func LoadSamples(dir string) ([]Sample, error) {
	out, err := devkit.Load(dir, "*")
	if err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, p := range Providers {
		order[p] = i + 1
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := order[out[i].Provider], order[out[j].Provider]
		if oi == 0 {
			oi = len(Providers) + 1
		}
		if oj == 0 {
			oj = len(Providers) + 1
		}
		if oi != oj {
			return oi < oj
		}
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// SampleResult is what the gateway answered to a sample.
type SampleResult struct {
	Sample    Sample
	Status    int
	Outcome   string // X-Webhook-Outcome, or derived from Status
	EventType string // X-Webhook-Event-Type, or "-"
	Body      string
	Skipped   string // why the sample was not sent
	Err       error
}

// OK says whether the result meets the sample's expectation: 2xx for a sample
// to accept, 4xx for one to reject. A skipped sample is not a failure.
func (r SampleResult) OK() bool {
	if r.Skipped != "" {
		return true
	}
	if r.Err != nil {
		return false
	}
	if r.Sample.ExpectAccepted() {
		return r.Status >= 200 && r.Status < 300
	}
	return r.Status >= 400 && r.Status < 500
}

// Expected names the expectation for a summary.
func (r SampleResult) Expected() string {
	if r.Sample.ExpectAccepted() {
		return "accept (2xx)"
	}
	return "reject (4xx)"
}

// Send sends one request and reads the answer.
func Send(client *http.Client, req *http.Request) (status int, header http.Header, body string, err error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, string(b), err
}

// RunSamples sends the samples to the gateway at baseURL: every sample to
// accept first, then every sample to reject (so a forged copy can never spend
// a single-use credential before the genuine delivery). Samples of providers
// not in running are skipped.
func RunSamples(ctx context.Context, client *http.Client, baseURL string, samples []Sample, running []string) []SampleResult {
	isRunning := map[string]bool{}
	for _, p := range running {
		isRunning[p] = true
	}
	ordered := make([]Sample, 0, len(samples))
	for _, pass := range []bool{true, false} {
		for _, s := range samples {
			if s.ExpectAccepted() == pass {
				ordered = append(ordered, s)
			}
		}
	}
	results := make([]SampleResult, 0, len(ordered))
	for _, s := range ordered {
		r := SampleResult{Sample: s, EventType: "-"}
		if !isRunning[s.Provider] {
			r.Skipped = "function " + s.Provider + " is not running"
			results = append(results, r)
			continue
		}
		req, err := s.Request(ctx, baseURL)
		if err == nil {
			var h http.Header
			r.Status, h, r.Body, err = Send(client, req)
			if h != nil {
				r.Outcome = h.Get("X-Webhook-Outcome")
				r.EventType = cmp.Or(h.Get("X-Webhook-Event-Type"), "-")
			}
		}
		r.Err = err
		if r.Outcome == "" && err == nil {
			r.Outcome = outcomeFor(r.Status)
		}
		results = append(results, r)
	}
	return results
}

func outcomeFor(status int) string { return OutcomeFor(status) }
