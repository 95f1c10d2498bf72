package queue

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"webhooks/shared/jsonx"
)

func TestGroupID(t *testing.T) {
	for in, keep := range map[string]bool{
		"347171821":              true,
		"sgn/1377286379376":      true,
		"a!b#c~":                 true,
		strings.Repeat("x", 128): true,
		strings.Repeat("x", 129): false,
		"":                       false,
		"has space":              false,
		"ünïcode":                false,
		"tab\t":                  false,
	} {
		got := GroupID(in)
		if keep && got != in {
			t.Errorf("GroupID(%q) = %q, want unchanged", in, got)
		}
		if !keep && (got == in || !validGroupID(got) || GroupID(in) != got) {
			t.Errorf("GroupID(%q) = %q, want a stable valid digest", in, got)
		}
	}
	if GroupID("a b") == GroupID("a  b") {
		t.Error("distinct entities share a digest")
	}
}

func TestCloudEventShape(t *testing.T) {
	ce := NewCloudEvent("tiki", "id1", "tiki.order.status_changed", "", time.Date(2022, 10, 26, 7, 22, 5, 0, time.UTC), json.RawMessage(`{"a":1}`))
	want := `{"specversion":"1.0","id":"id1","source":"webhooks/tiki","type":"tiki.order.status_changed","subject":"id1","time":"2022-10-26T07:22:05Z","datacontenttype":"application/json","data":{"a":1}}`
	if b := ce.Encode(); string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	// The same as encoding/json would give, for JSON that needs no escaping.
	if b, _ := json.Marshal(ce); string(b) != want {
		t.Errorf("encoding/json disagrees: %s", b)
	}
	// Time: UTC, at most milliseconds (a nanosecond time of day is a 15-digit run).
	ce = NewCloudEvent("tiki", "id1", "t", "s", time.Date(2022, 10, 26, 7, 22, 5, 123456789, time.FixedZone("", 7*3600)), json.RawMessage(`1`))
	if ce.Time != "2022-10-26T00:22:05.123Z" {
		t.Errorf("time %s", ce.Time)
	}
}

// Nothing inflates what is sent: data is copied byte for byte, the envelope's
// strings are escaped no more than JSON needs, and only the characters SQS
// refuses are escaped. Checked on generated data against encoding/json.
func TestEncodeSendsDataAsStoredAndOnlySQSCharacters(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune{'a', '<', '>', '&', '"', '\\', '\n', 0x01, 0x2028, 0x2029, 0xFFFE, 0xFFFF, 0xFFFD, 0x1F600, 'é', '7', ' '}
	for i := 0; i < 2000; i++ {
		n := rng.IntN(40)
		rs := make([]rune, n)
		for j := range rs {
			rs[j] = alphabet[rng.IntN(len(alphabet))]
		}
		str := string(rs)
		data, _ := json.Marshal(map[string]string{"s": str})
		data = []byte(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u2028`, "\u2028", `\u2029`, "\u2029").Replace(string(data)))
		ce := NewCloudEvent("p", "id", "t", "x"+str, time.Unix(0, 0), data)
		body := ce.Encode()
		var back CloudEvent
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatalf("%q: not JSON: %v", body, err)
		}
		var got, want map[string]string
		_ = json.Unmarshal(back.Data, &got)
		_ = json.Unmarshal(data, &want)
		if back.Subject != "x"+str || got["s"] != want["s"] {
			t.Fatalf("%q: decoded %q / %q", str, back.Subject, got["s"])
		}
		for _, r := range string(body) {
			if !jsonx.SQSAllowed(r) {
				t.Fatalf("%q: body has %U, which SQS refuses", str, r)
			}
		}
		extra := 3 * (strings.Count(str, "\uFFFE") + strings.Count(str, "\uFFFF")) // 3 bytes become 6
		if len(body) > len(data)+len(ce.Subject)+256+extra+2*len(str) {
			t.Fatalf("%q: body of %d bytes for %d of data", str, len(body), len(data))
		}
		if !strings.Contains(string(body), string(jsonx.SQSSafe(data))) {
			t.Fatalf("data not sent as stored: %s", body)
		}
	}
	// 200 KB of '<' and 75,000 U+2028 fit in a message: nothing is escaped.
	for _, s := range []string{strings.Repeat("<", 200_000), strings.Repeat("\u2028", 75_000)} {
		data := jsonx.AppendString(nil, s)
		m := NewMessage("p", NewCloudEvent("p", "id", "t", "s", time.Unix(0, 0), data))
		if m.Size() > len(data)+300 {
			t.Errorf("%d bytes of data became a %d-byte message", len(data), m.Size())
		}
	}
}

// SQS errors are classified by their code: refused for the message's content
// (retrying cannot help: quarantine) or unavailable (retry: 5xx).
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		code, message string
		refused       bool
	}{
		{"InvalidMessageContents", "Invalid characters found", true},
		{"MessageTooLong", "", true},
		{"InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.", true},
		// The same code for a queue that cannot take the request: the queue's fault, not the event's.
		{"InvalidParameterValue", "The request include parameter that is not valid for this queue type", false},
		{"AWS.SimpleQueueService.NonExistentQueue", "", false},
		{"QueueDoesNotExist", "", false},
		{"RequestThrottled", "", false},
		{"ThrottlingException", "", false},
		{"AccessDenied", "", false},
		{"KmsDisabled", "", false},
		{"KmsThrottled", "", false},
		{"InternalError", "", false},
		{"ServiceUnavailable", "", false},
	} {
		err := Classify(&smithy.GenericAPIError{Code: c.code, Message: c.message}, "send")
		if errors.Is(err, ErrRefused) != c.refused || errors.Is(err, ErrUnavailable) == c.refused {
			t.Errorf("%s %q: %v", c.code, c.message, err)
		}
	}
	if err := Classify(errors.New("dial tcp: connection refused"), "send"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("network error: %v", err)
	}
}
