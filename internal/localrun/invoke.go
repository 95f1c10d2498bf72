package localrun

// The Lambda Invoke API on the gateway's own address, as `sam local
// start-lambda` serves it: POST /2015-03-31/functions/<function>/invocations
// runs the function with the request body as its payload, so
//
//	aws lambda invoke --endpoint-url http://127.0.0.1:3000 --function-name <provider> \
//	  --payload '{"redrive":{"olderThan":"0s"}}' out.json    # AWS CLI v1; v2 also needs --cli-binary-format raw-in-base64-out
//
// sends an operator command to the local function exactly as it would to the
// deployed one. It uses the same Invoker as the webhook routes (one
// invocation path), answers what the real API answers (status codes, the
// X-Amz-Function-Error and X-Amz-Executed-Version headers, errors as
// {"Type","message"} with x-amzn-ErrorType), and ignores the request's SigV4
// signature: it serves loopback clients only.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"webhooks/infra/spec"
)

// InvokeAPIPrefix is where the Lambda Invoke API's paths start.
const InvokeAPIPrefix = "/2015-03-31/functions/"

// MaxAsyncPayload is Lambda's limit for an asynchronous (Event) invocation's
// payload (1 MB); a synchronous one may take MaxPayload (6 MB).
const MaxAsyncPayload = 1024 * 1024

// The invocation types of X-Amz-Invocation-Type.
const (
	InvocationRequestResponse = "RequestResponse"
	InvocationEvent           = "Event"
	InvocationDryRun          = "DryRun"
)

// LatestVersion is the only version a local function has.
const LatestVersion = "$LATEST"

// InvokePath is the Invoke API's path for a function name (or ARN).
func InvokePath(function string) string {
	return InvokeAPIPrefix + url.PathEscape(function) + "/invocations"
}

// functionNamePattern is the Invoke API's FunctionName pattern: a name, a
// partial ARN (<account>:function:<name>) or a full ARN, each optionally
// with :<version or alias>.
var functionNamePattern = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9_.\-]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9_\-]+))?$`)

var qualifierPattern = regexp.MustCompile(`^(|[a-zA-Z0-9$_\-]+)$`)

// ErrInvalidFunctionName is returned (wrapped) by ParseFunctionName.
var ErrInvalidFunctionName = errors.New("localrun: invalid function name")

// ParseFunctionName reads the Invoke API's FunctionName: a function name
// ("my-function"), a partial ARN ("123456789012:function:my-function") or a
// full ARN ("arn:aws:lambda:us-east-1:123456789012:function:my-function"),
// any of them with ":<qualifier>" appended. It returns the bare name and the
// qualifier ("" when none). Region and account are not checked: a local run
// has one of each.
func ParseFunctionName(s string) (name, qualifier string, err error) {
	m := functionNamePattern.FindStringSubmatch(s)
	if m == nil || len(s) > 256 {
		return "", "", fmt.Errorf("%w: %q does not match the Invoke API's FunctionName pattern", ErrInvalidFunctionName, s)
	}
	name, qualifier = m[10], m[12]
	if s == name && len(name) > 64 {
		return "", "", fmt.Errorf("%w: a function name alone is at most 64 characters", ErrInvalidFunctionName)
	}
	return name, qualifier, nil
}

// apiError is an error answer of the Lambda API: its status, the
// x-amzn-ErrorType it names, and {"Type","message"}.
type apiError struct {
	status int
	code   string // x-amzn-ErrorType
	kind   string // "User" or "Service"
	msg    string
}

func (e apiError) write(w http.ResponseWriter) int {
	b, _ := json.Marshal(struct {
		Type    string `json:"Type,omitempty"`
		Message string `json:"message"`
	}{e.kind, e.msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
	return e.status
}

func userError(status int, code, format string, args ...any) apiError {
	return apiError{status: status, code: code, kind: "User", msg: fmt.Sprintf(format, args...)}
}

func serviceError(format string, args ...any) apiError {
	return apiError{status: http.StatusInternalServerError, code: "ServiceException", kind: "Service", msg: fmt.Sprintf(format, args...)}
}

// functionARN is the ARN the real API would name in its messages.
func (g *Gateway) functionARN(name, qualifier string) string {
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", g.opts.Region, LocalAccountID, name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}

// serveInvoke answers one request under InvokeAPIPrefix.
func (g *Gateway) serveInvoke(w http.ResponseWriter, r *http.Request, res *Result) {
	requestID := NewUUID()
	w.Header().Set("X-Amzn-RequestId", requestID)
	res.EventType = "-"
	fail := func(e apiError) {
		res.Status = e.write(w)
		res.Outcome = "invoke-refused"
		res.ErrorCode = "error=" + e.code
	}

	// No signature is checked: only this machine may run a function's commands.
	if !isLoopback(r.RemoteAddr) {
		fail(userError(http.StatusForbidden, "AccessDeniedException", "the local Invoke API serves loopback clients only"))
		return
	}
	// Loopback is not enough: a web page can make the browser POST here (it
	// sends Origin), and a tunnel forwards from loopback (it adds
	// X-Forwarded-*). Neither is an operator's SDK or CLI.
	if r.Header.Get("Origin") != "" || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("X-Forwarded-Host") != "" || r.Header.Get("Forwarded") != "" {
		fail(userError(http.StatusForbidden, "AccessDeniedException", "the local Invoke API serves this machine's own clients only (no browser page, no proxy or tunnel)"))
		return
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), InvokeAPIPrefix)
	escaped, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || escaped == "" || strings.Contains(escaped, "/") {
		// Another Lambda API operation (GetFunction, ...): not served locally.
		fail(userError(http.StatusNotFound, "UnknownOperationException", "the local Lambda API serves Invoke only (POST %sFUNCTION/invocations)", InvokeAPIPrefix))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(userError(http.StatusMethodNotAllowed, "MethodNotAllowedException", "Invoke takes POST, not %s", r.Method))
		return
	}
	raw, err := url.PathUnescape(escaped)
	if err != nil {
		fail(userError(http.StatusBadRequest, "ValidationException", "function name is not a valid URL path segment"))
		return
	}
	name, qualifier, err := ParseFunctionName(raw)
	if err != nil {
		fail(userError(http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
			raw, functionNamePattern.String()))
		return
	}
	res.Function = name
	if q := r.URL.Query(); q.Has("Qualifier") {
		qq := q.Get("Qualifier")
		if !qualifierPattern.MatchString(qq) || len(qq) > 128 {
			fail(userError(http.StatusBadRequest, "ValidationException",
				"1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", qq, qualifierPattern.String()))
			return
		}
		if qualifier != "" && qq != "" && qq != qualifier {
			fail(userError(http.StatusBadRequest, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."))
			return
		}
		qualifier = cmp.Or(qualifier, qq)
	}
	invType := cmp.Or(r.Header.Get("X-Amz-Invocation-Type"), InvocationRequestResponse)
	switch invType {
	case InvocationRequestResponse, InvocationEvent, InvocationDryRun:
	default:
		fail(userError(http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, Event, DryRun]", invType))
		return
	}
	switch lt := r.Header.Get("X-Amz-Log-Type"); lt {
	case "", "None", "Tail": // Tail: the log is in the function's log file, not in X-Amz-Log-Result
	default:
		fail(userError(http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", lt))
		return
	}

	_, known := g.opts.Functions[name]
	_, configured := g.opts.Unavailable[name]
	// The deployed functions are served through their live alias (spec.LiveAlias); locally
	// it names the one version there is, so the operators' lines work unchanged.
	if (!known && !configured) || (qualifier != "" && qualifier != LatestVersion && qualifier != spec.LiveAlias) {
		fail(userError(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s", g.functionARN(name, qualifier)))
		return
	}

	limit := int64(MaxPayload)
	if invType == InvocationEvent {
		limit = MaxAsyncPayload
	}
	tooLarge := userError(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	if r.ContentLength > limit {
		fail(tooLarge)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		fail(userError(http.StatusBadRequest, "InvalidRequestContentException", "could not read the request body: %v", err))
		return
	}
	if int64(len(payload)) > limit {
		fail(tooLarge)
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}") // what an invocation without --payload hands the function
	}
	var probe json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil {
		fail(userError(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: %v", err))
		return
	}

	fn := g.opts.Functions[name]
	if fn == nil {
		fail(apiError{status: http.StatusBadGateway, code: "ResourceNotReadyException", kind: "User",
			msg: fmt.Sprintf("function %s is not running: %s", name, cmp.Or(g.opts.Unavailable[name], "not running"))})
		return
	}

	switch invType {
	case InvocationDryRun:
		res.Outcome = "dry-run"
		res.Status = http.StatusNoContent
		w.WriteHeader(http.StatusNoContent)
		return
	case InvocationEvent:
		g.invokeAsync(name, fn, payload, requestID)
		res.Outcome = "queued"
		res.Status = http.StatusAccepted
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		return
	}

	out, err := fn.Invoke(withInvocationID(r.Context(), requestID), payload)
	if err != nil {
		fe, apiErr := invokeFailure(err)
		if apiErr != nil {
			fail(*apiErr)
			g.logf("%s: invocation %s failed: %v", name, requestID, err)
			return
		}
		body, _ := json.Marshal(fe)
		w.Header().Set("X-Amz-Executed-Version", LatestVersion)
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		res.Outcome = "function-error"
		res.ErrorCode = "errorType=" + sanitizeCode(fe.Type)
		res.Status = writeJSON(w, http.StatusOK, body)
		return
	}
	res.Outcome = "invoked"
	w.Header().Set("X-Amz-Executed-Version", LatestVersion)
	res.Status = writeJSON(w, http.StatusOK, out)
}

// invokeAsync runs an Event invocation in the background: the request does
// not wait for a sandbox, and the invocation is not lost when the client
// goes (Drain waits for it). Its outcome goes to the request log.
func (g *Gateway) invokeAsync(name string, fn Invoker, payload []byte, requestID string) {
	g.async.Add(1)
	g.pending.Add(1)
	go func() {
		defer g.async.Done()
		defer g.pending.Add(-1)
		began := g.opts.Now()
		out, err := fn.Invoke(withInvocationID(context.Background(), requestID), payload)
		took := formatDuration(g.opts.Now().Sub(began))
		if err != nil {
			fe, apiErr := invokeFailure(err)
			if apiErr != nil {
				g.logf("%s: Event invocation %s failed after %s: %v", name, requestID, took, err)
				return
			}
			g.logf("%s: Event invocation %s: function error after %s: %s: %s", name, requestID, took, fe.Type, truncate(fe.Message, 300))
			return
		}
		g.logf("%s: Event invocation %s done in %s: %s", name, requestID, took, truncate(string(out), 300))
	}()
}

// Drain waits until every Event invocation accepted so far has run, or ctx
// ends; it returns how many had not finished.
func (g *Gateway) Drain(ctx context.Context) int {
	done := make(chan struct{})
	go func() { g.async.Wait(); close(done) }()
	select {
	case <-done:
		return 0
	case <-ctx.Done():
		return int(g.pending.Load())
	}
}

// invokeFailure maps an Invoker's error to what the Invoke API answers: a
// function error (200 with X-Amz-Function-Error: Unhandled and this body),
// or an API error.
func invokeFailure(err error) (*FunctionError, *apiError) {
	var fe *FunctionError
	switch {
	case errors.As(err, &fe):
		// The handler's error (also when the runtime exited after reporting it, as
		// aws-lambda-go does after a panic), exactly as the runtime reported it.
		return fe, nil
	case errors.Is(err, ErrPayloadTooLarge):
		e := userError(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayload)
		return nil, &e
	case errors.Is(err, ErrTimeout):
		return &FunctionError{Type: "Sandbox.Timedout", Message: readable(err)}, nil
	case errors.Is(err, ErrCrashed), errors.Is(err, ErrInitFailed):
		return &FunctionError{Type: "Runtime.ExitError", Message: readable(err)}, nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e := serviceError("the invocation was abandoned: %s", readable(err))
		return nil, &e
	default: // stopped, emulator failure, anything else
		e := serviceError("%s", readable(err))
		return nil, &e
	}
}

func readable(err error) string { return strings.TrimPrefix(err.Error(), "localrun: ") }

// sanitizeCode keeps an error type fit for the request log.
func sanitizeCode(s string) string {
	if isCode(s) {
		return s
	}
	return "?"
}

func writeJSON(w http.ResponseWriter, status int, body []byte) int {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// The invocation's request id travels in its context from the Invoke API to
// the emulator (X-Amzn-RequestId), so the id the caller gets back is the one
// on the function's START/END/REPORT lines.
type invocationIDKey struct{}

func withInvocationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, invocationIDKey{}, id)
}

func invocationID(ctx context.Context) string {
	id, _ := ctx.Value(invocationIDKey{}).(string)
	return id
}
