package apigw

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestAdapt(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /webhooks/tiki/{kind}", RawPath: "/webhooks/tiki/order",
		Headers:        map[string]string{"X-Signature": "sha1=ab", "content-type": "application/json"},
		PathParameters: map[string]string{"kind": "order"},
		Body:           `{"a":1}`,
	}
	ev.RequestContext.HTTP.Method = "post"
	ev.RequestContext.HTTP.SourceIP = "::ffff:203.0.113.5"
	r, err := Adapt(ev, 0, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.Headers.Get("x-signature") != "sha1=ab" || r.Headers.Get("X-SIGNATURE") != "sha1=ab" {
		t.Errorf("method/headers: %+v", r)
	}
	if r.SourceIP.String() != "203.0.113.5" {
		t.Errorf("source ip %v", r.SourceIP)
	}
	if string(r.Body) != `{"a":1}` || r.PathParams["kind"] != "order" {
		t.Errorf("body/params: %+v", r)
	}
}

func TestAdaptBase64AndLimits(t *testing.T) {
	raw := []byte{0x7b, 0x22, 0xff, 0x22, 0x7d} // not UTF-8: kept byte for byte
	ev := events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString(raw), IsBase64Encoded: true}
	r, err := Adapt(ev, 0, time.Time{})
	if err != nil || string(r.Body) != string(raw) {
		t.Fatalf("base64 body: %v %q", err, r.Body)
	}
	if _, err := Adapt(events.APIGatewayV2HTTPRequest{Body: "!!notbase64", IsBase64Encoded: true}, 0, time.Time{}); !errors.Is(err, ErrBadBase64) {
		t.Errorf("bad base64: %v", err)
	}
	big := strings.Repeat("a", 101)
	if _, err := Adapt(events.APIGatewayV2HTTPRequest{Body: big}, 100, time.Time{}); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("text over limit: %v", err)
	}
	if _, err := Adapt(events.APIGatewayV2HTTPRequest{Body: big[:100]}, 100, time.Time{}); err != nil {
		t.Errorf("text at limit: %v", err)
	}
	enc := base64.StdEncoding.EncodeToString([]byte(big))
	if _, err := Adapt(events.APIGatewayV2HTTPRequest{Body: enc, IsBase64Encoded: true}, 100, time.Time{}); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("base64 over limit: %v", err)
	}
	if _, err := Adapt(events.APIGatewayV2HTTPRequest{Body: strings.Repeat("a", DefaultMaxBody+1)}, 0, time.Time{}); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("default limit not applied: %v", err)
	}
}
