package loadtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	var applied atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		applied.Add(1)
		io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	call := func(p *Proxy, target string) (int, string) {
		srv := httptest.NewServer(p)
		defer srv.Close()
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(`{}`))
		req.Header.Set("X-Amz-Target", target)
		c := &http.Client{Timeout: 300 * time.Millisecond}
		res, err := c.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	cases := []struct {
		kind       Kind
		status     int
		applied    int32
		bodyPrefix string
	}{
		{Error, 500, 0, `{"__type":"InternalServerError"`},
		{Throttle, 400, 0, `{"__type":"ThrottlingException"`},
		{Timeout, 0, 0, ""},
		{Latency, 200, 1, `{"ok":true}`},
		{LostResponse, 500, 1, `{"__type":"InternalServerError"`},
	}
	for _, c := range cases {
		applied.Store(0)
		p, _ := NewFaultProxy(upstream.URL, 1, Rule{Service: "dynamodb", Operation: "PutItem", Kind: c.kind, Rate: 1, Delay: 50 * time.Millisecond})
		if c.kind == Timeout {
			p.SetRules(Rule{Service: "dynamodb", Kind: Timeout, Rate: 1, Delay: 5 * time.Second})
		}
		status, body := call(p, "DynamoDB_20120810.PutItem")
		if status != c.status || applied.Load() != c.applied || !strings.HasPrefix(body, c.bodyPrefix) {
			t.Errorf("%s: status %d body %q applied %d; want %d %q %d", c.kind, status, body, applied.Load(), c.status, c.bodyPrefix, c.applied)
		}
		// Other operations and services pass untouched.
		if status, _ := call(p, "AmazonSQS.SendMessage"); status != 200 && c.kind != Timeout {
			t.Errorf("%s leaked to SQS: %d", c.kind, status)
		}
		_, faults := p.Stats()
		if faults["dynamodb/PutItem/"+string(c.kind)] != 1 {
			t.Errorf("%s: stats %v", c.kind, faults)
		}
	}
}

func TestRateIsRoughlyHonoured(t *testing.T) {
	p, _ := NewFaultProxy("http://127.0.0.1:1", 7, Rule{Kind: Error, Rate: 0.2})
	hits := 0
	for i := 0; i < 10000; i++ {
		if _, _, ok := p.pick("sqs", "SendMessage", nil); ok {
			hits++
		}
	}
	if hits < 1800 || hits > 2200 {
		t.Errorf("%d faults in 10000 calls at rate 0.2", hits)
	}
}

func TestOperation(t *testing.T) {
	for target, want := range map[string]string{
		"DynamoDB_20120810.PutItem":     "dynamodb/PutItem",
		"AmazonSQS.SendMessage":         "sqs/SendMessage",
		"secretsmanager.GetSecretValue": "secretsmanager/GetSecretValue",
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("X-Amz-Target", target)
		if s, op := Operation(r, nil); s+"/"+op != want {
			t.Errorf("%s → %s/%s", target, s, op)
		}
	}
	r := httptest.NewRequest("POST", "/", nil)
	if s, op := Operation(r, []byte("Action=SendMessage&QueueUrl=x")); s != "sqs" || op != "SendMessage" {
		t.Errorf("query protocol → %s/%s", s, op)
	}
}

// call sends one AWS-shaped call through srv; status 0 means the connection failed.
func awsCall(t *testing.T, url, target string) (int, error) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", target)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

func TestOutageWindowFailsEveryCallOfOneService(t *testing.T) {
	var applied atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		applied.Add(1)
		io.WriteString(w, `{}`)
	}))
	defer upstream.Close()
	p, _ := NewFaultProxy(upstream.URL, 1)
	srv := httptest.NewServer(p)
	defer srv.Close()

	closeSQS := p.OpenOutage("sqs", Unavailable)
	for i := 0; i < 5; i++ {
		if st, err := awsCall(t, srv.URL, "AmazonSQS.SendMessage"); st != 503 {
			t.Fatalf("SQS call %d in an SQS outage: %d %v; want 503", i, st, err)
		}
	}
	if st, _ := awsCall(t, srv.URL, "DynamoDB_20120810.PutItem"); st != 200 {
		t.Errorf("DynamoDB call during an SQS outage: %d", st)
	}
	closeSQS()
	closeSQS() // closing twice is harmless
	if st, _ := awsCall(t, srv.URL, "AmazonSQS.SendMessage"); st != 200 {
		t.Errorf("SQS call after the outage: %d", st)
	}
	closeDDB := p.OpenOutage("dynamodb", Reset)
	st, err := awsCall(t, srv.URL, "DynamoDB_20120810.UpdateItem")
	if st != 0 || err == nil {
		t.Errorf("DynamoDB call in a reset outage: status %d, error %v; want a connection error", st, err)
	}
	p.CloseOutages()
	closeDDB()
	if st, _ := awsCall(t, srv.URL, "DynamoDB_20120810.UpdateItem"); st != 200 {
		t.Errorf("DynamoDB call after the outage: %d", st)
	}
	if applied.Load() != 3 {
		t.Errorf("%d calls reached AWS; want the 3 made outside the outages", applied.Load())
	}
	w := p.Windows()
	if len(w) != 2 || w[0].Service != "sqs" || w[0].Failed != 5 || w[0].Closed.IsZero() ||
		w[1].Service != "dynamodb" || w[1].Kind != Reset || w[1].Failed != 1 || w[1].Closed.IsZero() {
		t.Errorf("windows: %+v", w)
	}
	_, faults := p.Stats()
	if faults["sqs/SendMessage/outage-unavailable"] != 5 || faults["dynamodb/UpdateItem/outage-reset"] != 1 {
		t.Errorf("faults: %v", faults)
	}
}

func TestKillRules(t *testing.T) {
	var applied atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		applied.Add(1)
		io.WriteString(w, `{}`)
	}))
	defer upstream.Close()
	for _, c := range []struct {
		name      string
		after     bool
		killErr   error
		status    int // 0: connection reset
		applied   int32
		killed    int
		missed    int
		killCalls int
	}{
		{"before", false, nil, 0, 0, 1, 0, 1},
		{"after", true, nil, 0, 1, 1, 0, 1},
		{"before, caller not a runtime", false, ErrNotARuntime, 200, 1, 0, 1, 1},
		{"after, caller not a runtime", true, ErrNotARuntime, 500, 1, 0, 1, 1},
	} {
		applied.Store(0)
		calls := 0
		p, _ := NewFaultProxy(upstream.URL, 1)
		p.SetKills(func(remote, local string) (int, error) {
			calls++
			if !strings.HasPrefix(remote, "127.0.0.1:") || !strings.HasPrefix(local, "127.0.0.1:") || remote == local {
				t.Errorf("%s: killer given %q → %q", c.name, remote, local)
			}
			return 4242, c.killErr
		}, KillRule{Service: "sqs", Operation: "SendMessage", After: c.after, Rate: 1})
		srv := httptest.NewServer(p)
		st, _ := awsCall(t, srv.URL, "AmazonSQS.SendMessage")
		if st2, _ := awsCall(t, srv.URL, "DynamoDB_20120810.PutItem"); st2 != 200 {
			t.Errorf("%s: a call the rule does not name: %d", c.name, st2)
		}
		srv.Close()
		killed, missed := p.Kills()
		if st != c.status || applied.Load() != c.applied+1 || killed["sqs/SendMessage/"+KillRule{After: c.after}.point()] != c.killed || missed != c.missed || calls != c.killCalls {
			t.Errorf("%s: status %d applied %d killed %v missed %d killer calls %d; want %d %d %d %d %d",
				c.name, st, applied.Load()-1, killed, missed, calls, c.status, c.applied, c.killed, c.missed, c.killCalls)
		}
		// An outage takes precedence: no kill (and no call applied) while the service is down.
		p.OpenOutage("sqs", Unavailable)
		srv = httptest.NewServer(p)
		if st, _ := awsCall(t, srv.URL, "AmazonSQS.SendMessage"); st != 503 || calls != c.killCalls {
			t.Errorf("%s: in an outage: %d, killer called %d times", c.name, st, calls)
		}
		srv.Close()
	}
}

// A late write reaches AWS only after its caller's attempt gave up: the
// caller sees a timeout, and the write lands after it (while a read under the
// same rule passes untouched, and a caller that outwaits the hold gets a 504
// with nothing applied).
func TestLateWriteLandsAfterTheCallerGaveUp(t *testing.T) {
	var mu sync.Mutex
	var landed []time.Time
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		landed = append(landed, time.Now())
		mu.Unlock()
		if r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.UpdateItem" {
			writeAWSError(w, http.StatusBadRequest, "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "The conditional request failed")
			return
		}
		io.WriteString(w, `{}`)
	}))
	defer upstream.Close()
	arrivals := func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		out := landed
		landed = nil
		return out
	}
	p, _ := NewFaultProxy(upstream.URL, 1, Rule{Kind: LateWrite, Rate: 1, Delay: 5 * time.Second})
	srv := httptest.NewServer(p)
	defer srv.Close()
	call := func(target string, timeout time.Duration) (int, error) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(`{"TableName":"t"}`))
		req.Header.Set("X-Amz-Target", target)
		c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		return res.StatusCode, nil
	}

	const attempt = 300 * time.Millisecond
	start := time.Now()
	st, err := call("DynamoDB_20120810.PutItem", attempt)
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("the caller got status %d, error %v; want its own timeout", st, err)
	}
	// The caller gave up; the proxy may not have begun to hold the write yet
	// on a loaded machine: wait (generously) until it was forwarded.
	late := waitLate(t, p, "dynamodb/PutItem/applied")
	if got := arrivals(); len(got) != 1 || !got[0].After(start.Add(attempt)) {
		t.Fatalf("arrivals %v (call began %v, gave up after %s); want one write, after the caller gave up", got, start, attempt)
	}
	if late["dynamodb/PutItem/applied"] != 1 {
		t.Errorf("late writes %v", late)
	}

	// A late write AWS refuses is recorded with its error code.
	if _, err := call("DynamoDB_20120810.UpdateItem", attempt); err == nil {
		t.Error("UpdateItem: the caller got an answer")
	}
	if late := waitLate(t, p, "dynamodb/UpdateItem/400 ConditionalCheckFailedException"); late["dynamodb/UpdateItem/400 ConditionalCheckFailedException"] != 1 || len(arrivals()) != 1 {
		t.Errorf("late writes %v", late)
	}

	// A read under the rule is not held.
	if st, err := call("DynamoDB_20120810.GetItem", attempt); st != 200 || err != nil || len(arrivals()) != 1 {
		t.Errorf("a read: %d %v", st, err)
	}

	// A caller that outwaits the hold: 504, nothing applied.
	p.SetRules(Rule{Kind: LateWrite, Rate: 1, Delay: 100 * time.Millisecond})
	st, err = call("AmazonSQS.SendMessage", 5*time.Second)
	p.LateWrites()
	if n := len(arrivals()); st != http.StatusGatewayTimeout || err != nil || n != 0 {
		t.Errorf("a patient caller: %d %v, %d reached AWS", st, err, n)
	}
	_, faults := p.Stats()
	if faults["dynamodb/PutItem/late-write"] != 1 || faults["dynamodb/UpdateItem/late-write"] != 1 || faults["sqs/SendMessage/late-write"] != 1 || faults["dynamodb/GetItem/late-write"] != 0 {
		t.Errorf("faults %v", faults)
	}
}

func TestIsWrite(t *testing.T) {
	for _, c := range []struct {
		service, op string
		want        bool
	}{{"dynamodb", "PutItem", true}, {"dynamodb", "UpdateItem", true}, {"dynamodb", "DeleteItem", true}, {"sqs", "SendMessage", true},
		{"dynamodb", "GetItem", false}, {"dynamodb", "Query", false}, {"sqs", "ReceiveMessage", false}, {"secretsmanager", "GetSecretValue", false}} {
		if IsWrite(c.service, c.op) != c.want {
			t.Errorf("%s/%s: %v", c.service, c.op, !c.want)
		}
	}
}

// FalseDuplicate answers a new event's write as if its key were taken, by
// the event of the provider's last such write let through; other calls (and
// a provider's first event write) pass.
func TestFalseDuplicate(t *testing.T) {
	var applied atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		applied.Add(1)
		io.WriteString(w, `{}`)
	}))
	defer upstream.Close()
	p, _ := NewFaultProxy(upstream.URL, 1, Rule{Kind: FalseDuplicate, Rate: 1})
	srv := httptest.NewServer(p)
	defer srv.Close()
	item := func(provider, id string) string {
		return `{"pk":{"S":"` + provider + `#` + id + `"},"sk":{"S":"event"},"st":{"S":"stored"}}`
	}
	put := func(provider, id string) string {
		return `{"Item":` + item(provider, id) + `,"ConditionExpression":"attribute_not_exists(pk)"}`
	}
	call := func(target, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, _ := call("DynamoDB_20120810.PutItem", put("tiki", "first")); st != 200 {
		t.Errorf("tiki's first event: %d", st)
	}
	if st, _ := call("DynamoDB_20120810.PutItem", put("oslpay", "other")); st != 200 {
		t.Errorf("OSL Pay's first event: %d", st)
	}
	if st, _ := call("DynamoDB_20120810.UpdateItem", `{"ConditionExpression":"#st = :s"}`); st != 200 {
		t.Errorf("an update: %d", st)
	}
	if st, _ := call("DynamoDB_20120810.PutItem", `{"Item":{"pk":{"S":"tiki#0123"},"sk":{"S":"0000001"}},"ConditionExpression":"attribute_not_exists(pk)"}`); st != 200 {
		t.Errorf("a state's write: %d", st)
	}
	st, body := call("DynamoDB_20120810.PutItem", put("tiki", "second"))
	if st != 400 || !strings.Contains(body, "ConditionalCheckFailedException") || !strings.Contains(body, `"Item":`+strings.Replace(item("tiki", "first"), "stored", "queued", 1)) {
		t.Errorf("tiki's second event: %d %s", st, body)
	}
	if applied.Load() != 4 {
		t.Errorf("%d calls reached AWS; want 4", applied.Load())
	}
}

// waitLate polls the proxy's late writes until key is counted, failing after
// a generous deadline (never asserting how long it took).
func waitLate(t *testing.T, p *Proxy, key string) map[string]int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		late := p.LateWrites()
		if late[key] > 0 {
			return late
		}
		if time.Now().After(deadline) {
			t.Fatalf("no late write %s after 60s: %v", key, late)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
