package localrun

// The gateway: a local stand-in for the API Gateway HTTP API in front of the
// webhook functions. It serves exactly the contract's routes, turns each
// request into the payload-2.0 event API Gateway would send, invokes the
// provider's function and maps its response back to HTTP, as
// `sam local start-api` does. On the same address it serves the Lambda
// Invoke API for the same functions (invoke.go), as `sam local start-lambda`
// does, for operator commands.

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/shared/providers"
)

// LocalAccountID is the account in the local functions' ARNs: moto's
// default account, the one in the local queue URLs.
const LocalAccountID = "123456789012"

// MaxBody is API Gateway's request payload limit (10 MB).
const MaxBody = 10 * 1024 * 1024

// ErrPayloadTooLarge may be returned (wrapped) by an Invoker for a payload the
// function cannot take; the gateway answers 413.
var ErrPayloadTooLarge = errors.New("localrun: payload too large")

// Invoker runs one synchronous invocation of a function. Both the webhook
// routes and the Invoke API call it; a handler's error is a *FunctionError.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// PayloadFormatVersion is the HTTP API payload format the gateway builds (as
// the stack's integrations are configured).
const PayloadFormatVersion = "2.0"

// Route is one of the contract's routes.
type Route struct {
	Key      string // as API Gateway names it, e.g. "POST /webhooks/<provider>/{token}"
	Function string // provider / function name
	segments []string
}

// Routes are the contract's routes (the provider table), POST only.
var Routes = func() []Route {
	var out []Route
	for _, p := range providers.Contracts() {
		for _, key := range p.RouteKeys() {
			out = append(out, newRoute(key, p.Name))
		}
	}
	return out
}()

func newRoute(key, fn string) Route {
	_, path, _ := strings.Cut(key, " ")
	return Route{Key: key, Function: fn, segments: strings.Split(strings.TrimPrefix(path, "/"), "/")}
}

// match reports whether path (unescaped segments) fits r, and its path parameters.
func (r Route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(r.segments) {
		return nil, false
	}
	params := map[string]string{}
	for i, s := range r.segments {
		if strings.HasPrefix(s, "{") {
			if segs[i] == "" {
				return nil, false
			}
			params[strings.Trim(s, "{}")] = segs[i]
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// GatewayOptions configure a Gateway.
type GatewayOptions struct {
	// Functions by provider name.
	Functions map[string]Invoker
	// Unavailable says, by function name, why a function is not running; its
	// routes answer 502 with that reason. A function in neither map answers
	// 502 "not running".
	Unavailable map[string]string
	// Log receives one line per request; nil discards them.
	Log io.Writer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Region names the functions' ARNs in the Invoke API's messages; default us-east-1.
	Region string
}

// Gateway is an http.Handler.
type Gateway struct {
	opts  GatewayOptions
	logMu sync.Mutex
	// Event invocations of the Invoke API still running (see Drain).
	async   sync.WaitGroup
	pending atomic.Int64
}

// NewGateway returns a gateway over the given functions.
func NewGateway(opts GatewayOptions) *Gateway {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	opts.Region = cmp.Or(opts.Region, "us-east-1")
	return &Gateway{opts: opts}
}

// Result is what one request came to; the gateway logs it.
type Result struct {
	Function  string
	EventType string // response header X-Webhook-Event-Type, or "-"
	Outcome   string // response header X-Webhook-Outcome, or derived from Status
	Status    int
	Duration  time.Duration
	Method    string
	Path      string
	// ErrorCode is why the function refused the request (see ErrorCode), for a 4xx or 5xx it answered.
	ErrorCode string
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := g.opts.Now()
	res := Result{Function: "-", EventType: "-", Method: r.Method, Path: r.URL.EscapedPath()}
	defer func() {
		res.Duration = g.opts.Now().Sub(began)
		if res.Outcome == "" {
			res.Outcome = OutcomeFor(res.Status)
		}
		g.logLine(res)
	}()

	if strings.HasPrefix(r.URL.Path, InvokeAPIPrefix) {
		g.serveInvoke(w, r, &res)
		return
	}
	route, params, ok := g.route(r)
	if !ok {
		res.Status = writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	res.Function = route.Function

	if r.ContentLength > MaxBody {
		res.Status = writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		res.Status = writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxBody {
		res.Status = writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}

	fn := g.opts.Functions[route.Function]
	if fn == nil {
		why := g.opts.Unavailable[route.Function]
		if why == "" {
			why = "not running"
		}
		res.Status = writeMessage(w, http.StatusBadGateway, fmt.Sprintf("function %s is unavailable: %s", route.Function, why))
		return
	}

	requestID := newRequestID()
	ev := BuildEvent(r, body, route, params, requestID, began)
	payload, err := json.Marshal(ev)
	if err != nil {
		res.Status = writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	out, err := fn.Invoke(r.Context(), payload)
	w.Header().Set("Apigw-Requestid", requestID)
	if err != nil {
		if errors.Is(err, ErrPayloadTooLarge) {
			res.Status = writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		res.Outcome = "function-error"
		res.Status = writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		g.logf("%s: invocation %s failed: %v", route.Function, requestID, err)
		return
	}
	resp, err := ParseResponse(out)
	if err != nil {
		res.Outcome = "bad-response"
		res.Status = writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		g.logf("%s: invocation %s: %v", route.Function, requestID, err)
		return
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	res.EventType = cmp.Or(resp.Header.Get("X-Webhook-Event-Type"), "-")
	res.Outcome = resp.Header.Get("X-Webhook-Outcome")
	res.Status = resp.Status
	if resp.Status >= 400 {
		res.ErrorCode = ErrorCode(resp.Body)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

func (g *Gateway) route(r *http.Request) (Route, map[string]string, bool) {
	return Match(r.Method, r.URL.EscapedPath())
}

// Match finds the route for a method and an escaped path, with its path
// parameters (unescaped).
func Match(method, escapedPath string) (Route, map[string]string, bool) {
	if method != http.MethodPost {
		// An HTTP API answers a method no route has with 404, not 405.
		return Route{}, nil, false
	}
	raw := strings.TrimPrefix(escapedPath, "/")
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return Route{}, nil, false
		}
		parts[i] = u
	}
	for _, rt := range Routes {
		if params, ok := rt.match(parts); ok {
			return rt, params, true
		}
	}
	return Route{}, nil, false
}

// OutcomeFor names a status for the request log when the function did not.
func OutcomeFor(status int) string {
	switch {
	case status >= 200 && status < 300:
		return "accepted"
	case status == http.StatusUnauthorized:
		return "unauthenticated"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusNotFound:
		return "no-route"
	case status == http.StatusRequestEntityTooLarge:
		return "too-large"
	case status >= 400 && status < 500:
		return "rejected"
	default:
		return "error"
	}
}

func (g *Gateway) logLine(res Result) {
	why := ""
	if res.ErrorCode != "" {
		why = "  " + res.ErrorCode
	}
	g.logf("%-10s %-40s %-16s %3d %8s  %s %s%s", res.Function, res.EventType, res.Outcome, res.Status,
		formatDuration(res.Duration), res.Method, res.Path, why)
}

// ErrorCode reads the stable error code from a function's error answer, for
// the request log: "error=<code>" from the pipeline's
// {"success":false,"error":{"code","message"}}, or "error=<code> code=<reply
// code>" from a provider's own {"code","msg","error"} reply shape.
// Only codes are taken, never messages, and only when they look like codes
// (letters, digits, '_', '-', '.', ':', at most 64): "" otherwise.
func ErrorCode(body []byte) string {
	var b struct {
		Error json.RawMessage `json:"error"`
		Code  json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	var obj struct {
		Code string `json:"code"`
	}
	var errCode, reply string
	if json.Unmarshal(b.Error, &obj) != nil || obj.Code == "" {
		_ = json.Unmarshal(b.Error, &errCode)
	} else {
		errCode = obj.Code
	}
	if json.Unmarshal(b.Code, &reply) != nil {
		var n json.Number
		if json.Unmarshal(b.Code, &n) == nil {
			reply = n.String()
		}
	}
	var parts []string
	if isCode(errCode) {
		parts = append(parts, "error="+errCode)
	}
	if isCode(reply) {
		parts = append(parts, "code="+reply)
	}
	return strings.Join(parts, " ")
}

func isCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.:", r)) {
			return false
		}
	}
	return true
}

func (g *Gateway) logf(format string, args ...any) {
	g.logMu.Lock()
	defer g.logMu.Unlock()
	fmt.Fprintf(g.opts.Log, "%s %s\n", g.opts.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func formatDuration(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + "ms"
}

// BuildEvent makes the payload-2.0 event API Gateway HTTP API sends for r.
func BuildEvent(r *http.Request, body []byte, route Route, params map[string]string, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lower] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	headers["content-length"] = strconv.Itoa(len(body))
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	} else {
		headers["x-forwarded-port"] = "80"
	}
	traceID := fmt.Sprintf("Root=1-%08x-%s", now.Unix(), randomHex(12))
	headers["x-amzn-trace-id"] = traceID

	var query map[string]string
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		query = make(map[string]string, len(q))
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	domain := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		domain = h
	}
	prefix, _, _ := strings.Cut(domain, ".")

	ev := events.APIGatewayV2HTTPRequest{
		Version:               PayloadFormatVersion,
		RouteKey:              route.Key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key,
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   domain,
			DomainPrefix: prefix,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if IsText(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// IsText reports whether body can travel as a JSON string unchanged: valid
// UTF-8 without NUL bytes.
func IsText(body []byte) bool {
	return utf8.Valid(body) && !strings.ContainsRune(string(body), 0)
}

// Response is a function's answer mapped to HTTP.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ParseResponse maps a function's payload-2.0 response to HTTP as API
// Gateway does: a JSON object with a statusCode is an APIGatewayV2HTTPResponse
// (base64 body decoded, headers, multiValueHeaders and cookies applied); any
// other valid JSON is a 200 application/json body; anything else is an error.
func ParseResponse(out []byte) (Response, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(out, &probe); err == nil {
		if _, ok := probe["statusCode"]; ok {
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				return Response{}, fmt.Errorf("malformed function response: %w", err)
			}
			if resp.StatusCode < 100 || resp.StatusCode > 599 {
				return Response{}, fmt.Errorf("malformed function response: statusCode %d", resp.StatusCode)
			}
			h := http.Header{}
			keys := make([]string, 0, len(resp.Headers))
			for k := range resp.Headers {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				h.Set(k, resp.Headers[k])
			}
			for k, vs := range resp.MultiValueHeaders {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			for _, c := range resp.Cookies {
				h.Add("Set-Cookie", c)
			}
			body := []byte(resp.Body)
			if resp.IsBase64Encoded {
				b, err := base64.StdEncoding.DecodeString(resp.Body)
				if err != nil {
					return Response{}, fmt.Errorf("malformed function response: body is not base64: %w", err)
				}
				body = b
			}
			if h.Get("Content-Type") == "" {
				h.Set("Content-Type", "application/json")
			}
			return Response{Status: resp.StatusCode, Header: h, Body: body}, nil
		}
	}
	if !json.Valid(out) {
		return Response{}, errors.New("malformed function response: not JSON")
	}
	return Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: out}, nil
}

func writeMessage(w http.ResponseWriter, status int, msg string) int {
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

func newRequestID() string {
	// API Gateway's request ids look like "JKJaXmPLvHcESHA="; any unique string serves.
	return base64.RawURLEncoding.EncodeToString(randomBytes(10)) + "="
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
