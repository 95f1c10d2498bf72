package pipeline_test

// CPU part of the request path, per provider, with no AWS client and no fake
// of one: adapt the payload-2.0 event, authenticate, check the JSON, decode,
// derive the event id and the body digest, enrich (decrypt), build and encode
// the CloudEvent. These are the steps pipeline.Handler runs around its three
// AWS calls (PutItem, SendMessage, UpdateItem), called here in the same order
// through the same exported functions. The AWS part is measured separately,
// against a real endpoint, by the load run (make bench).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/benchdata"
	"webhooks/internal/samples"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/alchemypay"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
	"webhooks/shared/queue"
)

// cpuPath runs one request's CPU steps; it returns the encoded message.
type cpuPath func(ev events.APIGatewayV2HTTPRequest, now time.Time) ([]byte, error)

func path[C any](p pipeline.Provider[C], cfg C) cpuPath {
	return func(ev events.APIGatewayV2HTTPRequest, now time.Time) ([]byte, error) {
		req, err := apigw.Adapt(ev, 0, now)
		if err != nil {
			return nil, err
		}
		if err := p.Authenticate(req, cfg); err != nil {
			return nil, err
		}
		if err := jsonx.CheckObject(req.Body); err != nil {
			return nil, err
		}
		e, err := p.Decode(req, cfg)
		if err != nil {
			return nil, err
		}
		id := pipeline.EventID(p.Name(), e.Key)
		sum := sha256.Sum256(req.Body)
		_ = hex.EncodeToString(sum[:])
		data := e.Data
		if en, ok := any(p).(pipeline.Enricher[C]); ok {
			if data, err = en.Enrich(e, cfg); err != nil {
				return nil, err
			}
		}
		return json.Marshal(queue.NewCloudEvent(p.Name(), id, e.Type, e.Subject, e.Time, data))
	}
}

func mustSecret[C any](b *testing.B, p pipeline.Provider[C]) C {
	b.Helper()
	c, err := p.ParseSecret(benchdata.Secret(b, p.Name()))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkCPUPath(b *testing.B) {
	cases := []struct {
		provider, sample string
		run              func(*testing.B) cpuPath
	}{
		{"tiki", "order-processing", func(b *testing.B) cpuPath { p := tiki.New(); return path(p, mustSecret(b, p)) }},
		{"apigift", "inventory-item-delivered", func(b *testing.B) cpuPath { p := apigift.New(); return path(p, mustSecret(b, p)) }},
		{"alchemypay", "create-virtual-card-success", func(b *testing.B) cpuPath { p := alchemypay.New(); return path(p, mustSecret(b, p)) }},
		{"oslpay", "order-completed", func(b *testing.B) cpuPath { p := oslpay.New(); return path(p, mustSecret(b, p)) }},
	}
	now := samples.SampleTime.Add(time.Second)
	for _, c := range cases {
		ev := benchdata.Event(b, c.provider, c.sample)
		run := c.run(b)
		b.Run(c.provider, func(b *testing.B) {
			b.SetBytes(int64(len(ev.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := run(ev, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEventID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = pipeline.EventID("tiki", "order_code=861640277|main_state=processing")
	}
}

func BenchmarkAdapt(b *testing.B) {
	ev := benchdata.Event(b, "tiki", "order-processing")
	now := samples.SampleTime
	b.ReportAllocs()
	for b.Loop() {
		if _, err := apigw.Adapt(ev, 0, now); err != nil {
			b.Fatal(err)
		}
	}
}
