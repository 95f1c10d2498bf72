package eventstore

import (
	"errors"
	"strconv"
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
	it := &Item{Provider: "p", EventID: "e", Type: "t", Time: now.Add(-time.Second), Data: []byte(`{}`), Status: StatusStored, ReceivedAt: now, ExpiresAt: now.Add(time.Hour)}
	av := it.attributes()
	if _, ok := av["expires_at"]; ok {
		t.Error("a stored item, not yet queued, has a TTL")
	}
	if _, ok := av["quarantine_pk"]; ok {
		t.Error("stored item in the quarantine index")
	}
	if v := av["received_at"].(*ddb.AttributeValueMemberS).Value; v != "2026-11-28T08:48:13.123Z" {
		t.Errorf("received_at = %s, want millisecond precision", v)
	}
	if v := av[attrTime].(*ddb.AttributeValueMemberN).Value; v != "-1000" {
		t.Errorf("time = %s, want milliseconds from the receipt", v)
	}
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{now.Add(1500 * time.Microsecond), "N:1"},
		{now.Add(-1500 * time.Microsecond), "N:-2"},
		{now.AddDate(30, 0, 0), "N:" + strconv.FormatInt(now.AddDate(30, 0, 0).Sub(now.Truncate(time.Millisecond)).Milliseconds(), 10)},
		{now.AddDate(40, 0, 0), "S:2066-11-28T08:48:13.123Z"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), "S:9999-12-31T23:59:59.999Z"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "S:0001-01-01T00:00:00Z"},
	} {
		v := since(c.t, now.Truncate(time.Millisecond))
		got := ""
		switch x := v.(type) {
		case *ddb.AttributeValueMemberN:
			got = "N:" + x.Value
		case *ddb.AttributeValueMemberS:
			got = "S:" + x.Value
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.t, got, c.want)
		}
		if back := timeOf(v, now.Truncate(time.Millisecond)); !back.Equal(c.t.Truncate(time.Millisecond)) {
			t.Errorf("%s read back as %s", c.t, back)
		}
	}
	it.Time = now.Add(time.Microsecond) // the receipt time, to the millisecond: not stored
	if _, ok := it.attributes()[attrTime]; ok {
		t.Error("the receipt time stored a second time")
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
	for _, id := range []string{"a1b2c3d4-e5f6-4789-8abc-def012345678", "custom-token-0123456789abcdef0123", "AWSPENDING", "", "g1b2c3d4-e5f6-4789-8abc-def012345678",
		"0123456789abcdef0123456789abcdef", "A1B2C3D4-E5F6-4789-8ABC-DEF012345678"} {
		c := compactID(id)
		if got := expandID(c); got != id {
			t.Errorf("%q -> %v -> %q", id, c, got)
		}
		if b, ok := c.(*ddb.AttributeValueMemberB); ok != (len(id) == 36 && id[0] == 'a') || ok && len(b.Value) != 16 {
			t.Errorf("%q stored as %#v", id, c)
		}
	}
	// The previous layout stored a UUID without its dashes.
	if got := expandVersionID("a1b2c3d4e5f647898abcdef012345678"); got != "a1b2c3d4-e5f6-4789-8abc-def012345678" {
		t.Errorf("legacy version id read as %q", got)
	}
}
