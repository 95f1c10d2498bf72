package consumer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchBodies are the bodies both benchmarks decode, by sub-benchmark name:
// one message per event type as the receivers send it
// (testdata/messages/<type>.json, from the receivers' golden samples) and a
// Tiki order whose extra_info grows to 10 kB and 100 kB.
func benchBodies(tb testing.TB) (names []string, bodies map[string][]byte) {
	tb.Helper()
	bodies = map[string][]byte{}
	for _, typ := range EventTypes() {
		b, err := os.ReadFile(filepath.Join("testdata", "messages", typ+".json"))
		if err != nil {
			tb.Fatal(err)
		}
		names = append(names, typ)
		bodies[typ] = b
	}
	for _, size := range []int{0, 10_000, 100_000} {
		extra := `{"cancel_reason_code":"x","cancel_reason":"` + strings.Repeat("a", size) + `"}`
		name := fmt.Sprintf("extra=%dB", size)
		names = append(names, name)
		bodies[name] = fmt.Appendf(nil, tikiOrderBody, extra)
	}
	return names, bodies
}

// decodeStandard is what a consumer would write with encoding/json: the
// envelope into Event, then its data into the type's struct (NewData). It
// checks nothing DecodeBody checks beyond JSON syntax and Go types.
func decodeStandard(body []byte) (*Message, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, err
	}
	data := NewData(ev.Type)
	if err := json.Unmarshal(ev.Data, data); err != nil {
		return nil, err
	}
	return &Message{Event: ev, Data: data}, nil
}

// The bench bodies are valid, and both decoders read them alike.
func TestBenchBodies(t *testing.T) {
	names, bodies := benchBodies(t)
	for _, name := range names {
		m, err := DecodeBody(bodies[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := decodeStandard(bodies[name])
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", name, err)
		}
		a, _ := json.Marshal(m)
		b, _ := json.Marshal(s)
		if string(a) != string(b) {
			t.Errorf("%s: DecodeBody and encoding/json differ:\n%s\n%s", name, a, b)
		}
	}
}

// BenchmarkDecodeBody and BenchmarkEncodingJSON decode the same bodies into
// the same structs: compare them within one run (go test -bench
// 'DecodeBody|EncodingJSON' -count 5), never across runs.
func BenchmarkDecodeBody(b *testing.B) {
	names, bodies := benchBodies(b)
	for _, name := range names {
		body := bodies[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeBody(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodingJSON(b *testing.B) {
	names, bodies := benchBodies(b)
	for _, name := range names {
		body := bodies[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeStandard(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
