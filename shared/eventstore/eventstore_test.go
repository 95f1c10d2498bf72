package eventstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// DynamoDB errors are classified by their error code: refused for the item's
// content (quarantine: retrying cannot help) or unavailable (5xx: retry).
func TestClassify(t *testing.T) {
	for code, refused := range map[string]bool{
		"ValidationException":                    true,
		"ProvisionedThroughputExceededException": false,
		"ThrottlingException":                    false,
		"RequestLimitExceeded":                   false,
		"ResourceNotFoundException":              false,
		"AccessDeniedException":                  false,
		"KMSAccessDeniedException":               false,
		"InternalServerError":                    false,
		"ServiceUnavailable":                     false,
		"TransactionConflictException":           false,
	} {
		err := classify(&smithy.GenericAPIError{Code: code, Message: "m"}, "put")
		if errors.Is(err, ErrRefused) != refused || errors.Is(err, ErrUnavailable) == refused {
			t.Errorf("%s: %v", code, err)
		}
	}
	if err := classify(errors.New("dial tcp: i/o timeout"), "put"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("network error: %v", err)
	}
}

// A new item has no TTL, whatever its status (an event gets one only when it
// is queued); a quarantined one is in the quarantine index. Timestamps never
// carry more than milliseconds: a nanosecond time of day is a 15-digit run,
// which must not be stored.
func TestItemAttributes(t *testing.T) {
	now := time.Date(2026, 11, 28, 8, 48, 13, 123456789, time.UTC)
	it := &Item{Provider: "p", EventID: "e", Type: "t", Time: now, Data: []byte(`{}`), Status: StatusStored, ReceivedAt: now, ExpiresAt: now.Add(time.Hour)}
	av := it.attributes()
	if _, ok := av["expires_at"]; ok {
		t.Error("a stored item, not yet queued, has a TTL")
	}
	if _, ok := av["quarantine_pk"]; ok {
		t.Error("stored item in the quarantine index")
	}
	for _, k := range []string{"time", "received_at"} {
		v := av[k].(*ddb.AttributeValueMemberS).Value
		if v != "2026-11-28T08:48:13.123Z" {
			t.Errorf("%s = %s, want millisecond precision", k, v)
		}
	}
	it.Status, it.Reason = StatusQuarantined, "why"
	av = it.attributes()
	if _, ok := av["expires_at"]; ok {
		t.Error("quarantined item with a TTL")
	}
	if av["quarantine_pk"].(*ddb.AttributeValueMemberS).Value != "p" || av["reason"].(*ddb.AttributeValueMemberS).Value != "why" {
		t.Errorf("quarantined item %v", av)
	}
	if n := it.Size(); n < len(`{}`)+len("data") || n > 1000 {
		t.Errorf("size %d", n)
	}
	big := *it
	big.Data = []byte(`"` + strings.Repeat("x", MaxItemBytes) + `"`)
	if big.Size() <= MaxItemBytes {
		t.Errorf("a %d-byte data attribute fits in an item", len(big.Data))
	}
}

// A UUID version id is stored without dashes and read back whole; any other
// id is kept as it is.
func TestVersionIDRoundTrip(t *testing.T) {
	for _, id := range []string{"a1b2c3d4-e5f6-4789-8abc-def012345678", "custom-token-0123456789abcdef0123", "AWSPENDING", "", "g1b2c3d4-e5f6-4789-8abc-def012345678"} {
		c := compactVersionID(id)
		if got := expandVersionID(c); got != id {
			t.Errorf("%q -> %q -> %q", id, c, got)
		}
		if len(id) == 36 && id[0] != 'g' && len(c) != 32 {
			t.Errorf("%q not compacted: %q", id, c)
		}
	}
}
