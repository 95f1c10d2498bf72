package localrun

// The Lambda Invoke API's HTTP mapping, with a fake function: status codes,
// headers, error shapes and function names as the real API answers them.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawFunction records the payloads (and invocation ids) it is invoked with
// and answers with a fixed reply or error; with release set it waits for it
// first.
type rawFunction struct {
	mu       sync.Mutex
	payloads []string
	ids      []string
	ctxErrs  []error
	reply    string
	err      error
	release  chan struct{}
	started  chan struct{}
}

func (f *rawFunction) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.release != nil {
		<-f.release
	}
	f.mu.Lock()
	f.payloads = append(f.payloads, string(payload))
	f.ids = append(f.ids, invocationID(ctx))
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return []byte(f.reply), nil
}

func (f *rawFunction) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.payloads...)
}

// apiErrorBody is the real API's error body.
type apiErrorBody struct {
	Type    string `json:"Type"`
	Message string `json:"message"`
}

func invokeServer(t *testing.T, fns map[string]Invoker, unavailable map[string]string) (*httptest.Server, *Gateway) {
	t.Helper()
	gw := NewGateway(GatewayOptions{Functions: fns, Unavailable: unavailable, Log: &bytes.Buffer{}, Region: "us-east-1"})
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv, gw
}

func TestParseFunctionName(t *testing.T) {
	cases := []struct {
		in, name, qualifier string
		bad                 bool
	}{
		{in: "tiki", name: "tiki"},
		{in: "tiki:$LATEST", name: "tiki", qualifier: "$LATEST"},
		{in: "tiki:live", name: "tiki", qualifier: "live"},
		{in: "tiki:7", name: "tiki", qualifier: "7"},
		{in: "123456789012:function:tiki", name: "tiki"},
		{in: "123456789012:tiki", name: "tiki"},
		{in: "function:tiki", name: "tiki"},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:tiki", name: "tiki"},
		{in: "arn:aws:lambda:eu-west-1:000000000000:function:tiki:$LATEST", name: "tiki", qualifier: "$LATEST"},
		{in: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:my_fn.v2", name: "my_fn.v2"},
		{in: "webhooks-local-tiki", name: "webhooks-local-tiki"},
		{in: "", bad: true},
		{in: "ti ki", bad: true},
		{in: "tiki/x", bad: true},
		{in: "tiki:a:b", bad: true},
		{in: "arn:aws:s3:::bucket", bad: true},
		{in: "tiki:", bad: true},
		{in: strings.Repeat("a", 65), bad: true},
		{in: "123456789012:function:" + strings.Repeat("a", 65), name: strings.Repeat("a", 65)}, // the 64 limit is for a bare name
	}
	for _, c := range cases {
		name, q, err := ParseFunctionName(c.in)
		if c.bad {
			if !errors.Is(err, ErrInvalidFunctionName) {
				t.Errorf("%q: got %q %q %v, want ErrInvalidFunctionName", c.in, name, q, err)
			}
			continue
		}
		if err != nil || name != c.name || q != c.qualifier {
			t.Errorf("%q: got %q %q %v, want %q %q", c.in, name, q, err, c.name, c.qualifier)
		}
	}
}

func TestInvokeRequestResponse(t *testing.T) {
	tiki := &rawFunction{reply: `{"found":2,"sent":2,"failed":0}`}
	srv, _ := invokeServer(t, map[string]Invoker{"tiki": tiki}, nil)
	payload := `{"redrive":{"olderThan":"0s"}}`
	resp, body := do(t, "POST", srv.URL+InvokePath("tiki"), []byte(payload), http.Header{
		// what the AWS CLI sends; the signature is not checked
		"Authorization": {"AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"},
		"X-Amz-Date":    {"20240101T000000Z"},
	})
	if resp.StatusCode != 200 || body != tiki.reply {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	for k, want := range map[string]string{"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json", "X-Amz-Function-Error": ""} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if got := tiki.calls(); len(got) != 1 || got[0] != payload {
		t.Fatalf("function got %q, want the payload as it is", got)
	}
	// The request id the caller gets is the invocation's (the emulator's START line).
	if id := resp.Header.Get("X-Amzn-RequestId"); id == "" || tiki.ids[0] != id {
		t.Errorf("request id %q, invocation id %q", id, tiki.ids[0])
	}

	// Any JSON goes to the function as it is: an API Gateway event too.
	event := `{"version":"2.0","routeKey":"POST /webhooks/tiki/{kind}","rawPath":"/webhooks/tiki/order","body":"{}"}`
	tiki.reply = `{"statusCode":401,"headers":{"Content-Type":"application/json"},"body":"{\"success\":false}"}`
	resp, body = do(t, "POST", srv.URL+InvokePath("tiki"), []byte(event), nil)
	if resp.StatusCode != 200 || body != tiki.reply {
		t.Errorf("API Gateway event: got %d %q, want 200 and the function's reply as it is", resp.StatusCode, body)
	}
	if got := tiki.calls(); got[1] != event {
		t.Errorf("function got %q", got[1])
	}

	// No payload: the function gets {}.
	do(t, "POST", srv.URL+InvokePath("tiki"), nil, nil)
	if got := tiki.calls(); got[2] != "{}" {
		t.Errorf("empty payload reached the function as %q", got[2])
	}
}

func TestInvokeFunctionNames(t *testing.T) {
	tiki := &rawFunction{reply: `{}`}
	srv, _ := invokeServer(t, map[string]Invoker{"tiki": tiki}, nil)
	cases := []struct {
		name, query string
		status      int
		errType     string
		msg         string
	}{
		{name: "tiki", status: 200},
		{name: "tiki:$LATEST", status: 200},
		{name: "tiki", query: "?Qualifier=%24LATEST", status: 200},
		{name: "tiki:$LATEST", query: "?Qualifier=%24LATEST", status: 200},
		{name: "123456789012:function:tiki", status: 200},
		{name: "arn:aws:lambda:us-east-1:123456789012:function:tiki", status: 200},
		{name: "arn:aws:lambda:us-east-1:123456789012:function:tiki:$LATEST", status: 200},
		{name: "nope", status: 404, errType: "ResourceNotFoundException", msg: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		{name: "arn:aws:lambda:us-east-1:123456789012:function:nope", status: 404, errType: "ResourceNotFoundException", msg: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		{name: "tiki:live", status: 200},
		{name: "tiki", query: "?Qualifier=live", status: 200},
		{name: "tiki:prod", status: 404, errType: "ResourceNotFoundException", msg: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:tiki:prod"},
		{name: "tiki", query: "?Qualifier=3", status: 404, errType: "ResourceNotFoundException", msg: "function:tiki:3"},
		{name: "tiki:1", query: "?Qualifier=2", status: 400, errType: "InvalidParameterValueException", msg: "does not match"},
		{name: "tiki", query: "?Qualifier=a%2Fb", status: 400, errType: "ValidationException", msg: "qualifier"},
		{name: "ti ki", status: 400, errType: "ValidationException", msg: "functionName"},
		{name: strings.Repeat("t", 65), status: 400, errType: "ValidationException", msg: "functionName"},
	}
	for _, c := range cases {
		t.Run(c.name+c.query, func(t *testing.T) {
			resp, body := do(t, "POST", srv.URL+InvokePath(c.name)+c.query, []byte(`{}`), nil)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, c.status, body)
			}
			if resp.Header.Get("X-Amzn-RequestId") == "" {
				t.Error("no X-Amzn-RequestId")
			}
			if c.status == 200 {
				return
			}
			checkAPIError(t, resp, body, c.errType, c.msg)
		})
	}
}

func checkAPIError(t *testing.T, resp *http.Response, body, errType, msg string) {
	t.Helper()
	if got := resp.Header.Get("X-Amzn-ErrorType"); got != errType {
		t.Errorf("x-amzn-ErrorType %q, want %q", got, errType)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	var b apiErrorBody
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.Type == "" || !strings.Contains(b.Message, msg) {
		t.Errorf("body %s (%v): want {\"Type\",\"message\"} with %q", body, err, msg)
	}
}

func TestInvokeFunctionErrors(t *testing.T) {
	fe := &FunctionError{Type: "errorString", Message: "reprocess does-not-exist: eventstore: event not found"}
	panicked := &FunctionError{Type: "runtime.Error", Message: "boom", Stack: json.RawMessage(`[{"label":"main"}]`)}
	cases := []struct {
		name    string
		err     error
		status  int
		errType string // of the function error, or x-amzn-ErrorType
		msg     string
	}{
		{"handler error", fe, 200, "errorString", "event not found"},
		{"panic, then exit", fmt.Errorf("%w (request x: it reported %w)", ErrCrashed, panicked), 200, "runtime.Error", "boom"},
		{"timeout", fmt.Errorf("%w (request x): Task timed out after 10.00 seconds", ErrTimeout), 200, "Sandbox.Timedout", "Task timed out after 10.00 seconds"},
		{"crash", fmt.Errorf("%w (request x): Runtime.ExitError: exit status 2", ErrCrashed), 200, "Runtime.ExitError", "exit status 2"},
		{"init failure", fmt.Errorf("%w (request x): the runtime exited before it asked for work", ErrInitFailed), 200, "Runtime.ExitError", "before it asked for work"},
		{"stopped", ErrStopped, 500, "ServiceException", "function stopped"},
		{"emulator", fmt.Errorf("%w: request x answered 418", ErrEmulator), 500, "ServiceException", "418"},
		{"too large for the function", fmt.Errorf("%w: too big", ErrPayloadTooLarge), 413, "RequestTooLargeException", "6291456"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := invokeServer(t, map[string]Invoker{"tiki": &rawFunction{err: c.err}}, nil)
			resp, body := do(t, "POST", srv.URL+InvokePath("tiki"), []byte(`{"reprocess":{"eventId":"does-not-exist"}}`), nil)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, c.status, body)
			}
			if c.status != 200 {
				checkAPIError(t, resp, body, c.errType, c.msg)
				if v := resp.Header.Get("X-Amz-Executed-Version"); v != "" {
					t.Errorf("an API error names an executed version %q", v)
				}
				return
			}
			if resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || resp.Header.Get("X-Amz-Executed-Version") != "$LATEST" {
				t.Errorf("headers %v", resp.Header)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			var typ, msg string
			_ = json.Unmarshal(got["errorType"], &typ)
			_ = json.Unmarshal(got["errorMessage"], &msg)
			if typ != c.errType || !strings.Contains(msg, c.msg) {
				t.Errorf("body %s: want errorType %q and a message with %q", body, c.errType, c.msg)
			}
			for k := range got {
				if k != "errorType" && k != "errorMessage" && k != "stackTrace" {
					t.Errorf("body has %q: %s", k, body)
				}
			}
		})
	}
}

func TestInvokeEventRunsInTheBackground(t *testing.T) {
	tiki := &rawFunction{reply: `{"found":1,"sent":1,"failed":0}`, release: make(chan struct{}), started: make(chan struct{}, 1)}
	log := &bytes.Buffer{}
	var logMu sync.Mutex
	gw := NewGateway(GatewayOptions{Functions: map[string]Invoker{"tiki": tiki}, Log: syncWriter{&logMu, log}})
	srv := httptest.NewServer(gw)
	defer srv.Close()

	payload := `{"redrive":{"olderThan":"5m"}}`
	resp, body := do(t, "POST", srv.URL+InvokePath("tiki"), []byte(payload), http.Header{"X-Amz-Invocation-Type": {"Event"}})
	// Answered while the function is still blocked.
	if resp.StatusCode != 202 || body != "" {
		t.Fatalf("got %d %q, want 202 and no body", resp.StatusCode, body)
	}
	id := resp.Header.Get("X-Amzn-RequestId")
	if id == "" || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Errorf("headers %v", resp.Header)
	}
	<-tiki.started
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if n := gw.Drain(expired); n != 1 {
		t.Errorf("Drain with an ended context: %d pending, want 1", n)
	}
	close(tiki.release)
	if n := gw.Drain(context.Background()); n != 0 {
		t.Errorf("Drain: %d pending", n)
	}
	if got := tiki.calls(); len(got) != 1 || got[0] != payload {
		t.Fatalf("function got %q", got)
	}
	if tiki.ids[0] != id || tiki.ctxErrs[0] != nil {
		t.Errorf("invocation id %q (want %q), its context ended: %v", tiki.ids[0], id, tiki.ctxErrs[0])
	}
	logMu.Lock()
	l := log.String()
	logMu.Unlock()
	for _, want := range []string{"queued", "202", "Event invocation " + id + " done", `{"found":1,"sent":1,"failed":0}`} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
}

func TestInvokeEventFunctionErrorIsLogged(t *testing.T) {
	log := &bytes.Buffer{}
	var logMu sync.Mutex
	gw := NewGateway(GatewayOptions{Functions: map[string]Invoker{"tiki": &rawFunction{err: &FunctionError{Type: "errorString", Message: "redrive: olderThan is required"}}}, Log: syncWriter{&logMu, log}})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	resp, _ := do(t, "POST", srv.URL+InvokePath("tiki"), []byte(`{"redrive":{}}`), http.Header{"X-Amz-Invocation-Type": {"Event"}})
	if resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	gw.Drain(context.Background())
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(log.String(), "function error") || !strings.Contains(log.String(), "olderThan is required") {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestInvokeDryRunAndValidation(t *testing.T) {
	tiki := &rawFunction{reply: `{}`}
	srv, _ := invokeServer(t, map[string]Invoker{"tiki": tiki}, map[string]string{"apigift": "no binary at .run/bin/apigift/bootstrap"})
	resp, body := do(t, "POST", srv.URL+InvokePath("tiki"), []byte(`{"reprocess":{"eventId":"x"}}`), http.Header{"X-Amz-Invocation-Type": {"DryRun"}})
	if resp.StatusCode != 204 || body != "" || len(tiki.calls()) != 0 {
		t.Fatalf("DryRun: %d %q, %d invocations", resp.StatusCode, body, len(tiki.calls()))
	}
	// DryRun still checks the function exists.
	resp, body = do(t, "POST", srv.URL+InvokePath("nope"), []byte(`{}`), http.Header{"X-Amz-Invocation-Type": {"DryRun"}})
	checkStatus(t, "DryRun unknown", resp, body, 404, "ResourceNotFoundException")

	resp, body = do(t, "POST", srv.URL+InvokePath("tiki"), []byte(`{}`), http.Header{"X-Amz-Invocation-Type": {"Sometimes"}})
	checkStatus(t, "invocation type", resp, body, 400, "ValidationException")
	resp, body = do(t, "POST", srv.URL+InvokePath("tiki"), []byte(`{}`), http.Header{"X-Amz-Log-Type": {"Everything"}})
	checkStatus(t, "log type", resp, body, 400, "ValidationException")
	resp, _ = do(t, "POST", srv.URL+InvokePath("tiki"), []byte(`{}`), http.Header{"X-Amz-Log-Type": {"Tail"}})
	if resp.StatusCode != 200 {
		t.Errorf("log type Tail: %d", resp.StatusCode)
	}

	resp, body = do(t, "POST", srv.URL+InvokePath("tiki"), []byte(`{"reprocess":`), nil)
	checkStatus(t, "not JSON", resp, body, 400, "InvalidRequestContentException")
	if !strings.Contains(body, "Could not parse request body into json") {
		t.Errorf("not JSON: %s", body)
	}

	for _, m := range []string{"GET", "PUT", "DELETE"} {
		resp, body = do(t, m, srv.URL+InvokePath("tiki"), nil, nil)
		checkStatus(t, m, resp, body, 405, "MethodNotAllowedException")
		if resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s: Allow %q", m, resp.Header.Get("Allow"))
		}
	}
	for _, p := range []string{InvokeAPIPrefix + "tiki", InvokeAPIPrefix + "tiki/configuration", InvokeAPIPrefix + "/invocations"} {
		resp, body = do(t, "POST", srv.URL+p, nil, nil)
		checkStatus(t, p, resp, body, 404, "UnknownOperationException")
	}

	resp, body = do(t, "POST", srv.URL+InvokePath("apigift"), []byte(`{}`), nil)
	checkStatus(t, "not built", resp, body, 502, "ResourceNotReadyException")
	if !strings.Contains(body, "no binary at .run/bin/apigift/bootstrap") {
		t.Errorf("not built: %s", body)
	}
	if len(tiki.calls()) != 1 { // the Tail one
		t.Errorf("function invoked %d times", len(tiki.calls()))
	}
	// The webhook routes are unchanged beside it.
	resp, body = do(t, "POST", srv.URL+"/2015-03-31/other", []byte(`{}`), nil)
	if resp.StatusCode != 404 || body != `{"message":"Not Found"}` {
		t.Errorf("unrouted path: %d %s", resp.StatusCode, body)
	}
}

func checkStatus(t *testing.T, what string, resp *http.Response, body string, status int, errType string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("X-Amzn-ErrorType") != errType {
		t.Errorf("%s: got %d %s %s, want %d %s", what, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, status, errType)
	}
}

func TestInvokePayloadLimits(t *testing.T) {
	tiki := &rawFunction{reply: `{}`}
	srv, gw := invokeServer(t, map[string]Invoker{"tiki": tiki}, nil)
	big := func(n int) []byte { // valid JSON of exactly n bytes
		b := bytes.Repeat([]byte(" "), n)
		b[0], b[n-1] = '{', '}'
		return b
	}
	resp, body := do(t, "POST", srv.URL+InvokePath("tiki"), big(MaxPayload+1), nil)
	checkStatus(t, "over 6 MB", resp, body, 413, "RequestTooLargeException")
	if !strings.Contains(body, "Request must be smaller than 6291456 bytes for the InvokeFunction operation") {
		t.Errorf("413 body %s", body)
	}
	resp, body = do(t, "POST", srv.URL+InvokePath("tiki"), big(MaxAsyncPayload+1), http.Header{"X-Amz-Invocation-Type": {"Event"}})
	checkStatus(t, "Event over 1 MB", resp, body, 413, "RequestTooLargeException")
	if n := len(tiki.calls()); n != 0 {
		t.Fatalf("function invoked %d times for oversized payloads", n)
	}
	resp, _ = do(t, "POST", srv.URL+InvokePath("tiki"), big(MaxPayload), nil)
	if resp.StatusCode != 200 {
		t.Errorf("exactly 6 MB: %d", resp.StatusCode)
	}
	resp, _ = do(t, "POST", srv.URL+InvokePath("tiki"), big(MaxAsyncPayload), http.Header{"X-Amz-Invocation-Type": {"Event"}})
	if resp.StatusCode != 202 {
		t.Errorf("exactly 1 MB, Event: %d", resp.StatusCode)
	}
	gw.Drain(context.Background())
	if n := len(tiki.calls()); n != 2 {
		t.Errorf("function invoked %d times, want 2", n)
	}
}

// Without a signature check, only this machine may invoke.
func TestInvokeRefusesRemoteClients(t *testing.T) {
	tiki := &rawFunction{reply: `{}`}
	gw := NewGateway(GatewayOptions{Functions: map[string]Invoker{"tiki": tiki}})
	req := httptest.NewRequest("POST", InvokePath("tiki"), strings.NewReader(`{}`)) // from 192.0.2.1
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	if rec.Code != 403 || rec.Header().Get("X-Amzn-ErrorType") != "AccessDeniedException" || len(tiki.calls()) != 0 {
		t.Fatalf("remote client: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// From loopback, but a browser page (Origin) or a tunnel (X-Forwarded-*): refused.
	for _, h := range []string{"Origin", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded"} {
		req := httptest.NewRequest("POST", InvokePath("tiki"), strings.NewReader(`{}`))
		req.RemoteAddr = "127.0.0.1:5555"
		req.Header.Set(h, "https://evil.example")
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != 403 || len(tiki.calls()) != 0 {
			t.Errorf("loopback with %s: %d %s", h, rec.Code, rec.Body)
		}
	}
	req = httptest.NewRequest("POST", InvokePath("tiki"), strings.NewReader(`{}`))
	req.RemoteAddr = "127.0.0.1:5555"
	rec = httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	if rec.Code != 200 || len(tiki.calls()) != 1 {
		t.Errorf("loopback client: %d %s", rec.Code, rec.Body)
	}
	for addr, want := range map[string]bool{"127.0.0.1:5": true, "[::1]:5": true, "192.0.2.1:5": false, "10.0.0.1:5": false, "garbage": false} {
		if isLoopback(addr) != want {
			t.Errorf("isLoopback(%q) = %v", addr, !want)
		}
	}
}

func TestInvokeRequestLogLine(t *testing.T) {
	log := &bytes.Buffer{}
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	gw := NewGateway(GatewayOptions{Functions: map[string]Invoker{"tiki": &rawFunction{err: &FunctionError{Type: "errorString", Message: "reprocess x: secret 4111111111111111"}}},
		Log: log, Now: func() time.Time { return now }})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	do(t, "POST", srv.URL+InvokePath("tiki"), []byte(`{"reprocess":{"eventId":"x"}}`), nil)
	l := log.String()
	for _, want := range []string{"tiki", "function-error", "200", "POST " + InvokeAPIPrefix + "tiki/invocations", "errorType=errorString"} {
		if !strings.Contains(l, want) {
			t.Errorf("log line %q lacks %q", l, want)
		}
	}
	// The message stays in the caller's answer, never in the request log.
	if strings.Contains(l, "4111") {
		t.Errorf("log line carries the error message: %q", l)
	}
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
