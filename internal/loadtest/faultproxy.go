package loadtest

// Fault injection. faultproxy is: an HTTP proxy placed between the functions and an AWS
// endpoint (moto_server) that injects faults per service and operation at a
// rate: server errors, throttling, timeouts, added latency, and lost responses
// (the call succeeds at AWS but the caller sees an error). It proves the
// pipeline's exactly-once claims under failure; it is never deployed.

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind is a kind of fault.
type Kind string

// Fault kinds.
const (
	Error        Kind = "error"         // 500 InternalServerError, nothing forwarded
	Throttle     Kind = "throttle"      // 400 ThrottlingException, nothing forwarded
	Timeout      Kind = "timeout"       // held until the caller gives up, nothing forwarded
	Latency      Kind = "latency"       // forwarded after a delay
	LostResponse Kind = "lost-response" // forwarded and applied, but the caller gets a 500
)

// Rule injects Kind into calls of Service (dynamodb, sqs, secretsmanager; "" =
// any) and Operation ("" = any) with probability Rate.
type Rule struct {
	Service   string
	Operation string
	Kind      Kind
	Rate      float64
	Delay     time.Duration // Latency: added delay; Timeout: how long to hold (default 30s)
}

// Proxy forwards to one AWS endpoint, injecting faults.
type Proxy struct {
	target *url.URL
	rp     *httputil.ReverseProxy

	mu    sync.Mutex
	rules []Rule
	rng   *rand.Rand
	calls map[string]int // "service/Operation"
	hits  map[string]int // "service/Operation/kind"
}

// NewFaultProxy returns a proxy to target whose random choices follow seed.
func NewFaultProxy(target string, seed uint64, rules ...Rule) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u, rules: rules, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		calls: map[string]int{}, hits: map[string]int{}}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	return p, nil
}

// SetRules replaces the rules (for example none, to let retries through).
func (p *Proxy) SetRules(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = rules
}

// Operation identifies the AWS service and operation of a request.
func Operation(r *http.Request, body []byte) (service, op string) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, op, _ := strings.Cut(t, ".")
		switch {
		case strings.HasPrefix(prefix, "DynamoDB"):
			return "dynamodb", op
		case strings.HasPrefix(prefix, "AmazonSQS"):
			return "sqs", op
		case strings.HasPrefix(strings.ToLower(prefix), "secretsmanager"):
			return "secretsmanager", op
		}
		return strings.ToLower(prefix), op
	}
	if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
		return "sqs", v.Get("Action")
	}
	return "unknown", r.Method
}

func (p *Proxy) pick(service, op string) (Rule, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[service+"/"+op]++
	for _, r := range p.rules {
		if (r.Service == "" || r.Service == service) && (r.Operation == "" || r.Operation == op) && p.rng.Float64() < r.Rate {
			p.hits[service+"/"+op+"/"+string(r.Kind)]++
			return r, true
		}
	}
	return Rule{}, false
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	service, op := Operation(r, body)
	rule, fault := p.pick(service, op)
	if !fault {
		p.rp.ServeHTTP(w, r)
		return
	}
	switch rule.Kind {
	case Error:
		writeAWSError(w, http.StatusInternalServerError, "InternalServerError", "injected server error")
	case Throttle:
		writeAWSError(w, http.StatusBadRequest, "ThrottlingException", "injected throttling")
	case Timeout:
		hold := rule.Delay
		if hold == 0 {
			hold = 30 * time.Second
		}
		select {
		case <-r.Context().Done():
		case <-time.After(hold):
			writeAWSError(w, http.StatusGatewayTimeout, "RequestTimeout", "injected timeout")
		}
	case Latency:
		select {
		case <-r.Context().Done():
			return
		case <-time.After(rule.Delay):
		}
		p.rp.ServeHTTP(w, r)
	case LostResponse:
		rec := &discard{header: http.Header{}}
		p.rp.ServeHTTP(rec, r)
		writeAWSError(w, http.StatusInternalServerError, "InternalServerError", "injected: response lost after the call was applied")
	}
}

// discard is a ResponseWriter that drops the response.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func writeAWSError(w http.ResponseWriter, status int, code, msg string) {
	// JSON-protocol error shape (DynamoDB, SQS JSON, Secrets Manager); the SDK reads
	// the code from __type and the x-amzn-ErrorType header.
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg)
}

// Stats returns call counts by "service/Operation" and injected faults by
// "service/Operation/kind".
func (p *Proxy) Stats() (calls, faults map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	calls, faults = map[string]int{}, map[string]int{}
	for k, v := range p.calls {
		calls[k] = v
	}
	for k, v := range p.hits {
		faults[k] = v
	}
	return calls, faults
}

// Keys returns a map's keys sorted (for reports).
func Keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
