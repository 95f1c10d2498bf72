package localrun

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"webhooks/internal/awskit"

	"github.com/aws/aws-lambda-go/events"
)

// fakeFunction records the events it is invoked with and answers with a fixed reply.
type fakeFunction struct {
	mu     sync.Mutex
	events []events.APIGatewayV2HTTPRequest
	reply  string
	err    error
}

func (f *fakeFunction) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return []byte(f.reply), nil
}

func (f *fakeFunction) last(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		t.Fatal("function was not invoked")
	}
	return f.events[len(f.events)-1]
}

const okReply = `{"statusCode":200,"headers":{"Content-Type":"application/json","X-Webhook-Event-Type":"tiki.order.status_changed","X-Webhook-Outcome":"stored"},"body":"{\"success\":true}"}`

func newServer(t *testing.T, fns map[string]Invoker, unavailable map[string]string) (*httptest.Server, *awskit.SyncBuffer) {
	t.Helper()
	log := &awskit.SyncBuffer{}
	srv := httptest.NewServer(NewGateway(GatewayOptions{Functions: fns, Unavailable: unavailable, Log: log}))
	t.Cleanup(srv.Close)
	return srv, log
}

func do(t *testing.T, method, url string, body []byte, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestEventIsPayloadV2(t *testing.T) {
	tiki := &fakeFunction{reply: okReply}
	srv, log := newServer(t, map[string]Invoker{"tiki": tiki}, nil)
	body := `{"data":{"order_code":"347171821"}}`
	resp, got := do(t, "POST", srv.URL+"/webhooks/tiki/order?a=1&a=2&b=x%20y", []byte(body), http.Header{
		"X-Signature": {"sha1=abc"},
		"X-Multi":     {"one", "two"},
		"Cookie":      {"c1=v1; c2=v2"},
		"User-Agent":  {"tiki-webhook/1.0"},
	})
	if resp.StatusCode != 200 || got != `{"success":true}` {
		t.Fatalf("response %d %q", resp.StatusCode, got)
	}
	if resp.Header.Get("X-Webhook-Outcome") != "stored" || resp.Header.Get("Apigw-Requestid") == "" {
		t.Errorf("response headers %v", resp.Header)
	}
	ev := tiki.last(t)
	checks := map[string][2]string{
		"version":        {ev.Version, "2.0"},
		"routeKey":       {ev.RouteKey, "POST /webhooks/tiki/{kind}"},
		"rawPath":        {ev.RawPath, "/webhooks/tiki/order"},
		"rawQueryString": {ev.RawQueryString, "a=1&a=2&b=x%20y"},
		"query a":        {ev.QueryStringParameters["a"], "1,2"},
		"query b":        {ev.QueryStringParameters["b"], "x y"},
		"kind":           {ev.PathParameters["kind"], "order"},
		"x-signature":    {ev.Headers["x-signature"], "sha1=abc"},
		"x-multi":        {ev.Headers["x-multi"], "one,two"},
		"user-agent":     {ev.Headers["user-agent"], "tiki-webhook/1.0"},
		"content-length": {ev.Headers["content-length"], "35"},
		"x-fwd-for":      {ev.Headers["x-forwarded-for"], "127.0.0.1"},
		"body":           {ev.Body, body},
		"ctx routeKey":   {ev.RequestContext.RouteKey, "POST /webhooks/tiki/{kind}"},
		"stage":          {ev.RequestContext.Stage, "$default"},
		"method":         {ev.RequestContext.HTTP.Method, "POST"},
		"path":           {ev.RequestContext.HTTP.Path, "/webhooks/tiki/order"},
		"protocol":       {ev.RequestContext.HTTP.Protocol, "HTTP/1.1"},
		"sourceIp":       {ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		"userAgent":      {ev.RequestContext.HTTP.UserAgent, "tiki-webhook/1.0"},
		"domainName":     {ev.RequestContext.DomainName, "127.0.0.1"},
		"requestId":      {ev.RequestContext.RequestID, resp.Header.Get("Apigw-Requestid")},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if ev.IsBase64Encoded {
		t.Error("text body sent base64-encoded")
	}
	if _, ok := ev.Headers["cookie"]; ok || strings.Join(ev.Cookies, "|") != "c1=v1|c2=v2" {
		t.Errorf("cookies = %v, headers[cookie] present: %v", ev.Cookies, ok)
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q not lowercased", k)
		}
	}
	if d := time.Since(time.UnixMilli(ev.RequestContext.TimeEpoch)); d < 0 || d > time.Minute {
		t.Errorf("timeEpoch %d is not now", ev.RequestContext.TimeEpoch)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", ev.RequestContext.Time); err != nil {
		t.Errorf("time %q: %v", ev.RequestContext.Time, err)
	}
	line := log.String()
	for _, want := range []string{"tiki", "tiki.order.status_changed", "stored", "200", "ms"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
}

func TestBinaryBodyIsBase64(t *testing.T) {
	fn := &fakeFunction{reply: `{"statusCode":204}`}
	srv, _ := newServer(t, map[string]Invoker{"oslpay": fn}, nil)
	body := []byte{0xff, 0x00, 0x10, 'a'}
	resp, _ := do(t, "POST", srv.URL+"/webhooks/oslpay", body, nil)
	if resp.StatusCode != 204 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ev := fn.last(t)
	if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString(body) {
		t.Errorf("body %q base64=%v", ev.Body, ev.IsBase64Encoded)
	}
}

func TestRoutes(t *testing.T) {
	fns := map[string]Invoker{}
	for _, name := range []string{"tiki", "apigift", "alchemypay", "oslpay"} {
		fns[name] = &fakeFunction{reply: `{"statusCode":200,"body":"{}"}`}
	}
	srv, _ := newServer(t, fns, nil)
	cases := []struct {
		method, path string
		status       int
		fn           string
		params       map[string]string
	}{
		{"POST", "/webhooks/tiki/stock", 200, "tiki", map[string]string{"kind": "stock"}},
		{"POST", "/webhooks/apigift/tok", 200, "apigift", map[string]string{"token": "tok"}},
		{"POST", "/webhooks/apigift/tok/product-status-changed", 200, "apigift", map[string]string{"token": "tok", "event": "product-status-changed"}},
		{"POST", "/webhooks/alchemypay/tok", 200, "alchemypay", map[string]string{"token": "tok"}},
		{"POST", "/webhooks/oslpay", 200, "oslpay", nil},
		{"GET", "/webhooks/oslpay", 404, "", nil},
		{"PUT", "/webhooks/tiki/order", 404, "", nil},
		{"POST", "/webhooks/tiki", 404, "", nil},
		{"POST", "/webhooks/tiki/", 404, "", nil},
		{"POST", "/webhooks/tiki/order/extra", 404, "", nil},
		{"POST", "/webhooks/oslpay/", 404, "", nil},
		{"POST", "/webhooks/alchemypay", 404, "", nil},
		{"POST", "/webhooks/apigift/a/b/c", 404, "", nil},
		{"POST", "/", 404, "", nil},
	}
	for _, c := range cases {
		t.Run(c.method+c.path, func(t *testing.T) {
			resp, body := do(t, c.method, srv.URL+c.path, []byte(`{}`), nil)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, c.status, body)
			}
			if c.status == 404 {
				if body != `{"message":"Not Found"}` {
					t.Errorf("404 body %q", body)
				}
				return
			}
			ev := fns[c.fn].(*fakeFunction).last(t)
			if ev.RawPath != c.path {
				t.Errorf("%s got rawPath %q", c.fn, ev.RawPath)
			}
			if len(ev.PathParameters) != len(c.params) {
				t.Errorf("params %v, want %v", ev.PathParameters, c.params)
			}
			for k, v := range c.params {
				if ev.PathParameters[k] != v {
					t.Errorf("param %s = %q, want %q", k, ev.PathParameters[k], v)
				}
			}
		})
	}
}

func TestResponseMapping(t *testing.T) {
	cases := []struct {
		name, reply string
		status      int
		body        string
		header      map[string]string
	}{
		{"structured", `{"statusCode":401,"headers":{"content-type":"application/json"},"body":"{\"success\":false}"}`, 401, `{"success":false}`, map[string]string{"Content-Type": "application/json"}},
		{"base64", `{"statusCode":200,"headers":{"content-type":"application/octet-stream"},"body":"AAEC","isBase64Encoded":true}`, 200, "\x00\x01\x02", map[string]string{"Content-Type": "application/octet-stream"}},
		{"multi and cookies", `{"statusCode":202,"multiValueHeaders":{"X-A":["1","2"]},"cookies":["s=1"],"body":"ok"}`, 202, "ok", map[string]string{"X-A": "1", "Set-Cookie": "s=1"}},
		{"bare JSON is a 200 body", `{"success":true}`, 200, `{"success":true}`, map[string]string{"Content-Type": "application/json"}},
		{"not JSON", `nope`, 500, `{"message":"Internal Server Error"}`, nil},
		{"bad base64", `{"statusCode":200,"body":"%%%","isBase64Encoded":true}`, 500, `{"message":"Internal Server Error"}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := newServer(t, map[string]Invoker{"oslpay": &fakeFunction{reply: c.reply}}, nil)
			resp, body := do(t, "POST", srv.URL+"/webhooks/oslpay", []byte(`{}`), nil)
			if resp.StatusCode != c.status || body != c.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, c.status, c.body)
			}
			for k, v := range c.header {
				if resp.Header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, resp.Header.Get(k), v)
				}
			}
		})
	}
}

func TestFunctionErrorIs500(t *testing.T) {
	srv, log := newServer(t, map[string]Invoker{"tiki": &fakeFunction{err: errors.New("runtime exited")}}, nil)
	resp, body := do(t, "POST", srv.URL+"/webhooks/tiki/order", []byte(`{}`), nil)
	if resp.StatusCode != 500 || body != `{"message":"Internal Server Error"}` {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if !strings.Contains(log.String(), "runtime exited") || !strings.Contains(log.String(), "function-error") {
		t.Errorf("log %q does not report the failure", log.String())
	}
}

func TestUnavailableFunctionIs502(t *testing.T) {
	srv, _ := newServer(t, map[string]Invoker{}, map[string]string{"apigift": "no binary at .run/bin/apigift/bootstrap"})
	resp, body := do(t, "POST", srv.URL+"/webhooks/apigift/tok", []byte(`{}`), nil)
	if resp.StatusCode != 502 || !strings.Contains(body, "no binary at .run/bin/apigift/bootstrap") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", srv.URL+"/webhooks/oslpay", []byte(`{}`), nil)
	if resp.StatusCode != 502 || !strings.Contains(body, "oslpay") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestTooLargeIs413(t *testing.T) {
	fn := &fakeFunction{reply: okReply}
	srv, _ := newServer(t, map[string]Invoker{"oslpay": fn}, nil)
	resp, body := do(t, "POST", srv.URL+"/webhooks/oslpay", make([]byte, MaxBody+1), nil)
	if resp.StatusCode != 413 || body != `{"message":"Request Entity Too Large"}` {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if len(fn.events) != 0 {
		t.Error("function invoked for an oversized request")
	}
	srv2, _ := newServer(t, map[string]Invoker{"oslpay": &fakeFunction{err: ErrPayloadTooLarge}}, nil)
	if resp, _ := do(t, "POST", srv2.URL+"/webhooks/oslpay", []byte(`{}`), nil); resp.StatusCode != 413 {
		t.Fatalf("invoker's payload limit: got %d", resp.StatusCode)
	}
}

func TestOutcomeDerivedFromStatus(t *testing.T) {
	srv, log := newServer(t, map[string]Invoker{"tiki": &fakeFunction{reply: `{"statusCode":401,"body":"{}"}`}}, nil)
	do(t, "POST", srv.URL+"/webhooks/tiki/order", []byte(`{}`), nil)
	if l := log.String(); !strings.Contains(l, "unauthenticated") || !strings.Contains(l, " - ") {
		t.Errorf("log %q", l)
	}
}

// A rejected webhook's request-log line says why: the code of its answer.
func TestRejectedLineCarriesTheErrorCode(t *testing.T) {
	cases := map[string]string{
		// the pipeline's shape (Tiki, APIGift, Alchemy Pay)
		`{"success":false,"error":{"code":"unauthorized","message":"request is not authentic"}}`: "  error=unauthorized\n",
		// OSL Pay's shape: the stable code in "error", its reply code in "code"
		`{"code":"00003","msg":"request is not authentic","data":null,"requestTime":1,"error":"unauthorized"}`: "  error=unauthorized code=00003\n",
		`{"code":"00002","msg":"bad"}`: "  code=00002\n",
		// no code, or something that is not one: nothing is added
		`{"message":"Not Found"}`:                       "/webhooks/tiki/order\n",
		`{"error":{"code":"has spaces and card 4111"}}`: "/webhooks/tiki/order\n",
	}
	for body, want := range cases {
		b, _ := json.Marshal(body)
		srv, log := newServer(t, map[string]Invoker{"tiki": &fakeFunction{reply: `{"statusCode":401,"body":` + string(b) + `}`}}, nil)
		do(t, "POST", srv.URL+"/webhooks/tiki/order", []byte(`{}`), nil)
		if l := log.String(); !strings.Contains(l, "401") || !strings.HasSuffix(l, want) {
			t.Errorf("body %s: log line %q, want it to end with %q", body, l, want)
		}
	}
	// An accepted webhook's line carries no code.
	srv, log := newServer(t, map[string]Invoker{"tiki": &fakeFunction{reply: `{"statusCode":200,"body":"{\"code\":\"x\"}"}`}}, nil)
	do(t, "POST", srv.URL+"/webhooks/tiki/order", []byte(`{}`), nil)
	if l := log.String(); strings.Contains(l, "code=") {
		t.Errorf("accepted: %q", l)
	}
}
