package loadtest

// Fault injection. faultproxy is: an HTTP proxy placed between the functions
// and an AWS endpoint (moto_server) that injects faults per service and
// operation at a rate: server errors, throttling, timeouts, added latency,
// lost responses (the call succeeds at AWS but the caller sees an error), late
// writes (a write held until the caller gave up, then applied) and connection
// resets. It also opens outage windows, in which every call to one service
// fails (as during an AWS outage, which the SDK's retries cannot absorb), and
// kills the calling process (SIGKILL) before a call is forwarded or after AWS
// applied it. It proves the pipeline's exactly-once claims under failure; it
// is never deployed.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
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
	Unavailable  Kind = "unavailable"   // 503 ServiceUnavailable, nothing forwarded
	Reset        Kind = "reset"         // the connection is reset (TCP RST), nothing forwarded
	// LateWrite holds a write (IsWrite) until the caller's attempt gives up
	// (it closes the connection: the SDK's attempt timeout), and only then
	// forwards it: the write lands after the caller saw its timeout, while
	// the caller's retry may be on its way, as a request stuck in a network
	// can. A caller that does not give up within the hold (Delay, default
	// 30 s) gets a 504 and nothing is forwarded. Rules of this kind pass
	// over calls that are not writes.
	LateWrite Kind = "late-write"
	// FalseDuplicate is no AWS fault: it makes the function wrong, to show
	// that the soak's oracle catches a function that answers "duplicate" for
	// a new webhook. It answers the conditional PutItem of a new event with
	// a plain key (sort key "event", condition attribute_not_exists(pk)) as
	// if the key were taken, by the event of the last such write the proxy
	// let through for the same provider: the function takes the new webhook
	// for a redelivery of that other webhook, stores nothing, and answers 200
	// duplicate naming it (the item as that write sent it, its status made
	// queued: nothing is sent again). Rules of this kind pass over every
	// other call (and
	// over a provider's first event write, when there is no earlier event to
	// name).
	FalseDuplicate Kind = "false-duplicate"
)

// writes are the AWS operations that change something, by service.
var writes = map[string]map[string]bool{
	"dynamodb":       {"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true, "TransactWriteItems": true},
	"sqs":            {"SendMessage": true, "SendMessageBatch": true, "DeleteMessage": true, "DeleteMessageBatch": true, "ChangeMessageVisibility": true},
	"secretsmanager": {"PutSecretValue": true, "UpdateSecretVersionStage": true},
}

// IsWrite reports whether an operation of a service changes something at AWS.
func IsWrite(service, op string) bool { return writes[service][op] }

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

	mu      sync.Mutex
	rules   []Rule
	rng     *rand.Rand
	calls   map[string]int     // "service/Operation"
	hits    map[string]int     // "service/Operation/kind"
	outages map[string]*Window // service -> the window open now
	windows []*Window          // every window opened, in order
	killer  Killer
	kills   []KillRule
	killed  map[string]int // "service/Operation/before|after"
	missed  int            // kills chosen whose caller was not found
	landed  map[string]int // late writes forwarded: "service/Operation/<status>"
	held    int            // late writes held or being forwarded (under mu)
	settled *sync.Cond     // on mu: signalled when held drops to 0
	// lastEvent is the item (DynamoDB JSON) of the last new event written
	// with a plain key, by the partition key's provider (for FalseDuplicate).
	lastEvent map[string]string
}

// NewFaultProxy returns a proxy to target whose random choices follow seed.
func NewFaultProxy(target string, seed uint64, rules ...Rule) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u, rules: rules, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		calls: map[string]int{}, hits: map[string]int{}, outages: map[string]*Window{}, killed: map[string]int{}, landed: map[string]int{}, lastEvent: map[string]string{}}
	p.settled = sync.NewCond(&p.mu)
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

// pick chooses the fault for a call, if any; for FalseDuplicate, named is
// the item (DynamoDB JSON) the forged answer names.
func (p *Proxy) pick(service, op string, body []byte) (rule Rule, named string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[service+"/"+op]++
	owner, item, isEvent := eventWrite(service, op, body)
	if isEvent && p.lastEvent[owner] == "" {
		p.lastEvent[owner] = item
	}
	if w := p.outages[service]; w != nil {
		w.Failed++
		p.hits[service+"/"+op+"/outage-"+string(w.Kind)]++
		return Rule{Service: service, Kind: w.Kind, Rate: 1}, "", true
	}
	for _, r := range p.rules {
		if r.Kind == LateWrite && !IsWrite(service, op) || r.Kind == FalseDuplicate && (!isEvent || p.lastEvent[owner] == item) {
			continue
		}
		if (r.Service == "" || r.Service == service) && (r.Operation == "" || r.Operation == op) && p.rng.Float64() < r.Rate {
			p.hits[service+"/"+op+"/"+string(r.Kind)]++
			if r.Kind == FalseDuplicate {
				return r, strings.Replace(p.lastEvent[owner], `"st":{"S":"stored"}`, `"st":{"S":"queued"}`, 1), true
			}
			return r, "", true
		}
	}
	if isEvent {
		p.lastEvent[owner] = item
	}
	return Rule{}, "", false
}

// eventWrite tells whether a call writes a new event with a plain key (a
// DynamoDB PutItem of sort key "event" on the condition that the key is
// free), to be sent (status stored, not quarantined), and, if so, whose (the partition key up to its first '#': the
// provider) and the item it writes, as DynamoDB JSON.
func eventWrite(service, op string, body []byte) (owner, item string, ok bool) {
	if service != "dynamodb" || op != "PutItem" {
		return "", "", false
	}
	var in struct {
		Item                json.RawMessage
		ConditionExpression string
	}
	var keys struct {
		PK struct{ S string } `json:"pk"`
		SK struct{ S string } `json:"sk"`
		ST struct{ S string } `json:"st"`
	}
	if json.Unmarshal(body, &in) != nil || in.ConditionExpression != "attribute_not_exists(pk)" || json.Unmarshal(in.Item, &keys) != nil ||
		keys.SK.S != "event" || keys.ST.S != "stored" {
		return "", "", false
	}
	owner, _, _ = strings.Cut(keys.PK.S, "#")
	return owner, string(in.Item), owner != ""
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
	if kill, ok := p.pickKill(service, op); ok && p.kill(w, r, service, op, kill) {
		return
	}
	rule, named, fault := p.pick(service, op, body)
	if !fault {
		p.rp.ServeHTTP(w, r)
		return
	}
	switch rule.Kind {
	case Error:
		writeAWSError(w, http.StatusInternalServerError, "InternalServerError", "injected server error")
	case Unavailable:
		writeAWSError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "injected: service unavailable")
	case Reset:
		resetConn(w)
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
	case LateWrite:
		p.lateWrite(w, r, body, service, op, rule.Delay)
	case FalseDuplicate:
		b := fmt.Appendf(nil, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":%s}`, named)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-ErrorType", "ConditionalCheckFailedException")
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10)) // DynamoDB's, which the SDK checks
		w.WriteHeader(http.StatusBadRequest)
		w.Write(b)
	}
}

// lateWrite holds a write until its caller gives up, then forwards it.
func (p *Proxy) lateWrite(w http.ResponseWriter, r *http.Request, body []byte, service, op string, hold time.Duration) {
	p.mu.Lock()
	p.held++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		if p.held--; p.held == 0 {
			p.settled.Broadcast()
		}
		p.mu.Unlock()
	}()
	if hold == 0 {
		hold = 30 * time.Second
	}
	select {
	case <-time.After(hold):
		writeAWSError(w, http.StatusGatewayTimeout, "RequestTimeout", "injected timeout")
		return
	case <-r.Context().Done():
	}
	// The caller's attempt is over: now the write reaches AWS, and nobody
	// hears the answer.
	late := r.Clone(context.Background())
	late.Body = io.NopCloser(bytes.NewReader(body))
	rec := &discard{header: http.Header{}, keep: 4096}
	p.rp.ServeHTTP(rec, late)
	answer := "applied"
	if rec.status() >= 300 {
		answer = fmt.Sprintf("%d", rec.status())
		var e struct {
			Type string `json:"__type"`
		}
		if json.Unmarshal(rec.body, &e) == nil && e.Type != "" {
			answer += " " + e.Type[strings.LastIndexByte(e.Type, '#')+1:]
		}
	}
	p.mu.Lock()
	p.landed[service+"/"+op+"/"+answer]++
	p.mu.Unlock()
}

// LateWrites returns the late writes forwarded after their caller gave up, by
// "service/Operation/<AWS's answer>": "applied", or the status and error code
// ("400 ConditionalCheckFailedException": the write's condition no longer
// held), once every late write held now has been forwarded or answered.
//
// (A write the proxy has not begun to handle yet is not waited for: call it
// once the callers are done, or poll it.)
func (p *Proxy) LateWrites() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.held > 0 {
		p.settled.Wait()
	}
	out := map[string]int{}
	for k, v := range p.landed {
		out[k] = v
	}
	return out
}

// discard is a ResponseWriter that drops the response, keeping its status
// and the first keep bytes of its body.
type discard struct {
	header http.Header
	code   int
	keep   int
	body   []byte
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) Write(b []byte) (int, error) {
	if n := min(len(b), d.keep-len(d.body)); n > 0 {
		d.body = append(d.body, b[:n]...)
	}
	return len(b), nil
}
func (d *discard) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}

func (d *discard) status() int {
	if d.code == 0 {
		return http.StatusOK
	}
	return d.code
}

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

// Window is one outage window: while it is open every call to Service fails
// with Kind (Unavailable, Error or Reset), whatever the rules say.
type Window struct {
	Service string
	Kind    Kind
	Opened  time.Time
	Closed  time.Time // zero while open
	Failed  int       // calls failed by this window
}

// OpenOutage opens an outage window for service (one at a time per service)
// and returns the function that closes it. The window is recorded in Windows.
func (p *Proxy) OpenOutage(service string, kind Kind) (close func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.outages[service]; w != nil {
		w.Closed = time.Now()
	}
	w := &Window{Service: service, Kind: kind, Opened: time.Now()}
	p.outages[service] = w
	p.windows = append(p.windows, w)
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.outages[service] == w {
				delete(p.outages, service)
				w.Closed = time.Now()
			}
		})
	}
}

// CloseOutages closes every open outage window.
func (p *Proxy) CloseOutages() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s, w := range p.outages {
		w.Closed = time.Now()
		delete(p.outages, s)
	}
}

// Windows returns a copy of every outage window opened so far, in order.
func (p *Proxy) Windows() []Window {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Window, len(p.windows))
	for i, w := range p.windows {
		out[i] = *w
	}
	return out
}

// KillRule kills the process that makes a call of Service (""= any) and
// Operation ("" = any), with probability Rate: before the call is forwarded
// (AWS never sees it) or, with After, once AWS has applied it (the caller
// never sees the answer). The proxy then resets the connection.
type KillRule struct {
	Service   string
	Operation string
	After     bool
	Rate      float64
}

func (k KillRule) point() string {
	if k.After {
		return "after"
	}
	return "before"
}

// Killer kills the process at the client end of the connection from remote
// to local (both host:port) and returns its pid once the process is gone. An
// error means no process was killed (for example, the caller is not one the
// killer may kill).
type Killer func(remote, local string) (pid int, err error)

// SetKills makes the proxy kill callers with k according to rules (none: stop killing).
func (p *Proxy) SetKills(k Killer, rules ...KillRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killer, p.kills = k, rules
}

func (p *Proxy) pickKill(service, op string) (KillRule, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killer == nil || p.outages[service] != nil {
		return KillRule{}, false
	}
	for _, k := range p.kills {
		if (k.Service == "" || k.Service == service) && (k.Operation == "" || k.Operation == op) && p.rng.Float64() < k.Rate {
			return k, true
		}
	}
	return KillRule{}, false
}

// kill carries out a kill rule on the caller of r. It reports false when the
// caller could not be killed before the call: then the call goes on as any
// other.
func (p *Proxy) kill(w http.ResponseWriter, r *http.Request, service, op string, k KillRule) bool {
	p.mu.Lock()
	killer := p.killer
	p.mu.Unlock()
	local := ""
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = a.String()
	}
	if k.After {
		// Apply the call at AWS first; its answer never reaches the caller.
		p.rp.ServeHTTP(&discard{header: http.Header{}}, r)
	}
	_, err := killer(r.RemoteAddr, local)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.missed++
		if !k.After {
			return false
		}
		// Applied already: the caller learns nothing of it.
		p.calls[service+"/"+op]++
		p.hits[service+"/"+op+"/"+string(LostResponse)]++
		writeAWSError(w, http.StatusInternalServerError, "InternalServerError", "injected: response lost after the call was applied")
		return true
	}
	p.calls[service+"/"+op]++
	p.killed[service+"/"+op+"/"+k.point()]++
	resetConn(w)
	return true
}

// Kills returns the processes killed by "service/Operation/before|after", and
// how many chosen kills found no caller to kill.
func (p *Proxy) Kills() (killed map[string]int, missed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	killed = map[string]int{}
	for k, v := range p.killed {
		killed[k] = v
	}
	return killed, p.missed
}

// resetConn drops the connection with a TCP reset, as a failing AWS front end
// or a dead peer does.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeAWSError(w, http.StatusInternalServerError, "InternalServerError", "injected: connection reset")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}
