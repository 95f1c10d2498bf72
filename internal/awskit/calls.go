package awskit

// Calls: a loopback proxy in front of a local AWS API that records every call
// made through it, as it went over the wire: which action, the request, and
// how it was answered. A test reads IAM refusals here (moto's refusal is a
// body the SDK's JSON clients cannot decode, see iam.go) and evaluates the IAM
// condition keys moto does not (infra/stack's least-privilege test).
//
// A proxy rather than an SDK HTTP client: the SDK accepts only its own client
// type when a CA bundle is configured (AWS_CA_BUNDLE), and a proxy sees the
// calls of any process, a function under the emulator as well. Requests are
// forwarded unchanged, Host included, so their signatures still verify.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Call is one AWS API call.
type Call struct {
	// Action is the IAM action, e.g. "dynamodb:PutItem" ("" when the request
	// is not a JSON-protocol call: no X-Amz-Target).
	Action string
	// Request is the request body (JSON).
	Request []byte
	// Status is the HTTP status of the answer (0: no answer).
	Status int
	// Code and Message are the error's, read from the body (XML or JSON).
	Code, Message string
}

// Denied reports whether IAM refused the call.
func (c Call) Denied() bool { return c.Code == "AccessDenied" || c.Code == "AccessDeniedException" }

// Calls is a recording proxy. Safe for concurrent use (the event store scans
// in parallel).
type Calls struct {
	// Endpoint is the proxy's base URL: give it to the SDK in place of the
	// target's.
	Endpoint string
	srv      *http.Server
	tr       *http.Transport
	done     chan struct{}
	mu       sync.Mutex
	log      []Call
}

// NewCalls starts a recording proxy to target (a base URL such as moto's
// Endpoint) on a free loopback port. Close stops it.
func NewCalls(target string) (*Calls, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("awskit: recording proxy target %q is not a base URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awskit: recording proxy: %w", err)
	}
	c := &Calls{Endpoint: "http://" + ln.Addr().String(), done: make(chan struct{})}
	type callKey struct{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	// Straight to the target: no proxy from the environment.
	c.tr = &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
	proxy.Transport = c.tr
	proxy.ModifyResponse = func(resp *http.Response) error {
		call := resp.Request.Context().Value(callKey{}).(*Call)
		call.Status = resp.StatusCode
		if resp.StatusCode/100 != 2 {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			call.Code, call.Message = errorOf(body)
		}
		return nil
	}
	c.srv = &http.Server{
		ReadHeaderTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			call := &Call{Action: iamAction(r.Header.Get("X-Amz-Target"))}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "read body", http.StatusBadRequest)
				return
			}
			call.Request = body
			r.Body = io.NopCloser(bytes.NewReader(body))
			proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, call)))
			c.mu.Lock()
			c.log = append(c.log, *call)
			c.mu.Unlock()
		}),
	}
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(ln)
	}()
	return c, nil
}

// Take returns the calls answered since the last Take, in the order their
// answers came.
func (c *Calls) Take() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.log
	c.log = nil
	return out
}

// Close stops the proxy and waits for it.
func (c *Calls) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.srv.Shutdown(ctx)
	<-c.done
	c.tr.CloseIdleConnections()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// iamAction is the IAM action of a JSON-protocol target such as
// "DynamoDB_20120810.PutItem", "AmazonSQS.SendMessage" or
// "secretsmanager.GetSecretValue".
func iamAction(target string) string {
	prefix, op, ok := strings.Cut(target, ".")
	if !ok {
		return ""
	}
	switch {
	case strings.HasPrefix(prefix, "DynamoDB"):
		return "dynamodb:" + op
	case prefix == "AmazonSQS":
		return "sqs:" + op
	case strings.EqualFold(prefix, "secretsmanager"):
		return "secretsmanager:" + op
	}
	return strings.ToLower(prefix) + ":" + op
}

// errorOf reads an error answer's code and message: moto's XML or AWS's JSON
// ("__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException").
func errorOf(body []byte) (code, message string) {
	var j struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	if json.Unmarshal(body, &j) == nil && j.Type != "" {
		code = j.Type[strings.LastIndexAny(j.Type, "#.")+1:]
		return code, j.Message + j.MessageU
	}
	return xmlError(body)
}
