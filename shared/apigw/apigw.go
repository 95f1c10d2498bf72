// Package apigw adapts API Gateway HTTP API (payload format 2.0) events into
// provider-neutral requests and builds the responses API Gateway expects.
package apigw

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// DefaultMaxBody is the default request body limit (256 KiB).
const DefaultMaxBody = 256 << 10

var (
	// ErrBodyTooLarge means the decoded body exceeds the configured limit.
	ErrBodyTooLarge = errors.New("apigw: body too large")
	// ErrBadBase64 means isBase64Encoded was set but the body is not valid base64.
	ErrBadBase64 = errors.New("apigw: body is not valid base64")
)

// Request is one inbound HTTP request, independent of API Gateway's event shape.
type Request struct {
	Method     string
	RouteKey   string // e.g. "POST /webhooks/<provider>/{token}": safe to log (the raw path, which holds URL tokens, is not kept)
	Headers    Headers
	PathParams map[string]string
	// Variant is what the receiving provider made of the route's parameters
	// (Tiki's kind, an APIGift event type; "" when the route has none), set by
	// the pipeline once, before authentication (pipeline.Router).
	Variant   string
	SourceIP  netip.Addr // invalid when API Gateway gave none or an unparsable one
	Body      []byte     // exact bytes received (base64-decoded when needed)
	Received  time.Time
	RequestID string // API Gateway's request id, when present
}

// Headers is a case-insensitive view of request headers.
type Headers map[string]string

// Get returns the header's value, matching its name case-insensitively.
func (h Headers) Get(name string) string {
	if v, ok := h[strings.ToLower(name)]; ok {
		return v
	}
	return ""
}

// Adapt turns a payload-2.0 event into a Request. maxBody <= 0 means DefaultMaxBody.
func Adapt(ev events.APIGatewayV2HTTPRequest, maxBody int, now time.Time) (*Request, error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	r := &Request{
		Method:     strings.ToUpper(ev.RequestContext.HTTP.Method),
		RouteKey:   ev.RouteKey,
		Headers:    make(Headers, len(ev.Headers)),
		PathParams: ev.PathParameters,
		Received:   now,
		RequestID:  ev.RequestContext.RequestID,
	}
	if r.PathParams == nil {
		r.PathParams = map[string]string{}
	}
	for k, v := range ev.Headers {
		// API Gateway already lowercases names; events built by hand may not. Where two
		// spellings of one name appear, join them as HTTP does for repeated headers.
		lk := strings.ToLower(k)
		if prev, ok := r.Headers[lk]; ok {
			v = prev + "," + v
		}
		r.Headers[lk] = v
	}
	if ip, err := netip.ParseAddr(ev.RequestContext.HTTP.SourceIP); err == nil {
		r.SourceIP = ip.Unmap()
	}
	if ev.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(ev.Body)) > maxBody+3 {
			return r, ErrBodyTooLarge
		}
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return r, fmt.Errorf("%w: %v", ErrBadBase64, err)
		}
		r.Body = b
	} else {
		r.Body = []byte(ev.Body)
	}
	if len(r.Body) > maxBody {
		return r, ErrBodyTooLarge
	}
	if r.Method == "" {
		r.Method = http.MethodPost // hand-made events without requestContext
	}
	return r, nil
}

// JSON builds a JSON response with the given status and body.
func JSON(status int, body []byte, extra map[string]string) events.APIGatewayV2HTTPResponse {
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range extra {
		h[k] = v
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: h, Body: string(body)}
}
