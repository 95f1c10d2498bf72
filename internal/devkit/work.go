package devkit

import (
	"fmt"
	"strings"

	"webhooks/shared/apigw"
	"webhooks/shared/pipeline"
	"webhooks/shared/workcount"
)

// MaxWorkRatio bounds the work for a body 8 times larger, relative to the
// work for the smaller body: linear work gives about 8, n log n a little
// more, quadratic work 64. Work is counted (package webhooks/shared/workcount),
// never timed: a count does not depend on the machine or its load.
const MaxWorkRatio = 10

// Work is one measurement: the steps counted for a body of Bytes bytes.
type Work struct {
	Steps uint64
	Bytes int
}

// WorkRatio is large's work relative to small's, scaled to bodies exactly 8
// times apart (the shapes give sizes 8 times apart give or take a few bytes).
func WorkRatio(small, large Work) float64 {
	return float64(large.Steps) / float64(max(small.Steps, 1)) * 8 / (float64(large.Bytes) / float64(max(small.Bytes, 1)))
}

// CheckLinearWork fails t when measure's work for a body of about 8n bytes
// is more than MaxWorkRatio times its work for about n bytes.
func CheckLinearWork(t TB, what string, n int, measure func(size int) Work) {
	t.Helper()
	small, large := measure(n), measure(8*n)
	if small.Steps == 0 {
		t.Errorf("%s: no work counted for %d bytes: is the step counted?", what, small.Bytes)
		return
	}
	r := WorkRatio(small, large)
	line := fmt.Sprintf("%-40s %9d steps for %7d bytes, %10d for %7d: ×%.2f", what, small.Steps, small.Bytes, large.Steps, large.Bytes, r)
	if r > MaxWorkRatio {
		t.Errorf("%s: not linear (more than ×%d for 8 times the body)", line, MaxWorkRatio)
		return
	}
	t.Log(line)
}

// TopLevelKeys is a shape that is no single value: spliced where a kit puts
// its value (Kit.Adversarial, always the last member of the object its
// provider reads), it adds about n bytes of members to that object, their
// keys digits that join into Luhn-valid runs. The object's members are what
// a provider looks its fields up in.
var TopLevelKeys = Shape{Name: "top-level-keys", Value: func(n int) string {
	var b strings.Builder
	b.WriteString("0")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `,"%d":%d`, 4111111111111000+i, i%10)
	}
	return b.String()
}}

// Wrap puts an adversarial value where a provider reads it: as the last
// member of an object of an otherwise valid body, sent to variant.
type Wrap struct {
	Name string
	Body func(value string) (variant string, body []byte)
}

// CheckDecodeWork checks that the work of the decode path — the route, the
// strict parse, the provider's Classify, the one redaction, its Decode and, where the
// provider has one, Enrich — is linear in the body on every adversarial
// shape (Shapes and TopLevelKeys) in every wrap: counted steps for 8 times
// the body at most MaxWorkRatio times those for the body. Each decode must
// succeed, so that the whole path is measured.
func CheckDecodeWork[C any](t TB, k Kit, p pipeline.Provider[C], cfg C, wraps []Wrap) {
	t.Helper()
	const n = 16 << 10
	for _, w := range wraps {
		for _, s := range append(Shapes[:len(Shapes):len(Shapes)], TopLevelKeys) {
			CheckLinearWork(t, w.Name+"/"+s.Name, n, func(size int) Work {
				variant, body := w.Body(s.Value(size))
				req := &apigw.Request{Method: "POST", Body: body, PathParams: map[string]string{}, Received: SampleTime}
				if k.Variant != "" && variant != "" {
					req.PathParams[k.Variant] = variant
				}
				var err error
				steps := workcount.Measure(func() {
					var ev *pipeline.Event
					if ev, err = pipeline.DecodeBody(p, req, cfg); err != nil {
						return
					}
					if en, ok := any(p).(pipeline.Enricher[C]); ok {
						_, err = pipeline.EnrichData(en, ev, cfg)
					}
				})
				if err != nil {
					t.Fatalf("%s/%s, %d bytes: %v", w.Name, s.Name, len(body), err)
				}
				return Work{Steps: steps, Bytes: len(body)}
			})
		}
	}
}
