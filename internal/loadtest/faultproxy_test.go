package loadtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
		if _, ok := p.pick("sqs", "SendMessage"); ok {
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
