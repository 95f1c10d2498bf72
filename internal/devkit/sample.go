package devkit

// Samples: the payload-2.0 sample events under events/<provider>/, signed with
// the development secrets of events/dev-secrets.json. The files are generated
// (webhookctl gen-events) and a test checks they match, so tests, the local
// run and `sam local invoke -e` all use the same, reproducible events.
//
// A sample whose name starts with "invalid-" or "tampered-" must be rejected
// (MustReject); every other sample must be accepted.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// DevSecrets is events/dev-secrets.json: each provider's development secret,
// exactly in the shape the function reads from Secrets Manager.
type DevSecrets map[string]json.RawMessage

// LoadDevSecrets reads dev-secrets.json from the events directory.
func LoadDevSecrets(eventsDir string) (DevSecrets, error) {
	return ReadDevSecrets(filepath.Join(eventsDir, "dev-secrets.json"))
}

// ReadDevSecrets reads a development secrets file: provider → secret JSON.
func ReadDevSecrets(path string) (DevSecrets, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("development secrets: %w", err)
	}
	var d DevSecrets
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("development secrets %s: %w", path, err)
	}
	return d, nil
}

// MustReject reports whether a sample of this name must be rejected.
func MustReject(name string) bool {
	name = strings.TrimSuffix(filepath.Base(name), ".json")
	return strings.HasPrefix(name, "invalid-") || strings.HasPrefix(name, "tampered-")
}

// Encode renders a sample file's bytes.
func Encode(s Sample) ([]byte, error) {
	b, err := json.MarshalIndent(s.Event, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Fixed values keep the generated files byte-for-byte reproducible.
var (
	// SampleTime is the request time of every sample.
	SampleTime = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	// SampleSourceIP is the caller address of every sample.
	SampleSourceIP = "203.0.113.10"
)

// Request describes one HTTP request to turn into an event.
type Request struct {
	Name       string
	RouteKey   string // "POST /webhooks/<provider>/{kind}"
	Path       string // "/webhooks/<provider>/order"
	PathParams map[string]string
	Headers    map[string]string // lowercase names, as API Gateway sends them
	Body       []byte
	Base64     bool
}

// HTTPEvent builds the payload-2.0 event API Gateway HTTP API would send.
func HTTPEvent(r Request) Sample {
	h := map[string]string{
		"content-type":    "application/json",
		"host":            "example.execute-api.us-east-1.amazonaws.com",
		"user-agent":      "webhook-sample/1.0",
		"x-forwarded-for": SampleSourceIP,
	}
	for k, v := range r.Headers {
		h[strings.ToLower(k)] = v
	}
	h["content-length"] = fmt.Sprint(len(r.Body))
	body := string(r.Body)
	if r.Base64 {
		body = base64.StdEncoding.EncodeToString(r.Body)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       r.RouteKey,
		RawPath:        r.Path,
		RawQueryString: "",
		Headers:        h,
		PathParameters: r.PathParams,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:    "123456789012",
			APIID:        "example",
			DomainName:   "example.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "example",
			RequestID:    "sample-" + r.Name,
			RouteKey:     r.RouteKey,
			Stage:        "$default",
			Time:         SampleTime.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    SampleTime.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    "POST",
				Path:      r.Path,
				Protocol:  "HTTP/1.1",
				SourceIP:  SampleSourceIP,
				UserAgent: "webhook-sample/1.0",
			},
		},
		Body:            body,
		IsBase64Encoded: r.Base64,
	}
	return Sample{Name: r.Name, Event: ev}
}

// Load reads every sample file of a provider from the events directory
// (provider "*": of every provider).
func Load(eventsDir, provider string) ([]Sample, error) {
	files, err := filepath.Glob(filepath.Join(eventsDir, provider, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Sample
	for _, f := range files {
		s, err := LoadSampleFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Sample is one file events/<provider>/<name>.json: a complete payload-2.0
// event, signed with the development secrets.
type Sample struct {
	Provider string // the directory (empty for a sample built in memory)
	Name     string // the file name without .json
	File     string // the file it was read from, if any
	Event    events.APIGatewayV2HTTPRequest
}

// ExpectAccepted says what the contract expects of the sample (MustReject).
func (s Sample) ExpectAccepted() bool { return !MustReject(s.Name) }

// LoadSampleFile reads one sample file; its provider is its directory's name.
func LoadSampleFile(path string) (Sample, error) {
	s := Sample{
		Provider: filepath.Base(filepath.Dir(path)),
		Name:     strings.TrimSuffix(filepath.Base(path), ".json"),
		File:     path,
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("devkit: sample %s: %w", path, err)
	}
	if err := json.Unmarshal(raw, &s.Event); err != nil {
		return s, fmt.Errorf("devkit: sample %s is not a payload-2.0 event: %w", path, err)
	}
	if s.Event.RawPath == "" {
		return s, fmt.Errorf("devkit: sample %s has no rawPath", path)
	}
	return s, nil
}

// Body is the sample's raw body bytes.
func (s Sample) Body() ([]byte, error) {
	if s.Event.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(s.Event.Body)
		if err != nil {
			return nil, fmt.Errorf("devkit: sample %s: body is not base64: %w", s.File, err)
		}
		return b, nil
	}
	return []byte(s.Event.Body), nil
}

// gatewayHeaders are added by the gateway itself, so a replayed sample must not carry them.
var gatewayHeaders = map[string]bool{
	"host": true, "content-length": true, "x-forwarded-for": true, "x-forwarded-port": true,
	"x-forwarded-proto": true, "x-amzn-trace-id": true, "connection": true, "transfer-encoding": true,
}

// Request is the HTTP request that makes API Gateway produce the sample's
// event: its method, rawPath and rawQueryString, headers, cookies and body.
func (s Sample) Request(ctx context.Context, baseURL string) (*http.Request, error) {
	body, err := s.Body()
	if err != nil {
		return nil, err
	}
	url := strings.TrimSuffix(baseURL, "/") + s.Event.RawPath
	if s.Event.RawQueryString != "" {
		url += "?" + s.Event.RawQueryString
	}
	method := cmp.Or(s.Event.RequestContext.HTTP.Method, http.MethodPost)
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("devkit: sample %s: %w", s.File, err)
	}
	for k, v := range s.Event.Headers {
		if !gatewayHeaders[strings.ToLower(k)] {
			req.Header.Set(k, v)
		}
	}
	if len(s.Event.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(s.Event.Cookies, "; "))
	}
	return req, nil
}
