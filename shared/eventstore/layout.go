package eventstore

// The event item's layout, written once for both stores (Store and Memory):
// its keys, its attributes and their encoding, and how an item written by the
// previous layout is still read.
//
// An event is written in one of two places:
//
//	an event with a key of its own (a plain key: it names something that
//	happens once, section 5 of docs/CONTRACT.md, "the key audit"):
//	  pk "<provider>#<event id>"             sk "event"
//
//	a state of an entity (every other event): one partition per entity and
//	event type, one item per state the entity went through, the latest last:
//	  pk "<provider>#<entity prefix>"        sk "<generation>"
//	  entity prefix: 18 hex digits of SHA-256("<provider>|<type>|<entity>")
//	  generation:    7 hex digits, one more than the latest state's
//	  event id:      entity prefix, generation and 7 hex digits of
//	                 SHA-256("state-id|" + prefix + generation): the key
//	                 can be read back from the id, and an id that is not
//	                 one of these (a plain key's) is told apart
//
// Recording a new state is then the event's own write: a Query of the entity's
// partition for its latest item (eventually consistent, half a read unit), and
// the event written at the next generation on the condition that nothing is
// there. A state equal to the latest one is a redelivery: it is confirmed by a
// strongly consistent Query before it is taken as one, and a write that finds
// its place taken reads again, strongly, and starts over. The latest-state
// record of the previous layout (one more write per event) is gone.
//
// Attributes, named and encoded for size (a write unit is a started KB of the
// item, names included):
//
//	ty  type, without its "<provider>." prefix (a type without one is
//	    written behind a "/")
//	su  subject       tm  time (left out when it is the receipt time)
//	d   data (JSON)   dh  SHA-256 of d
//	st  status        vb  verifying secret version (16 bytes B for a UUID)
//	sh  the state's SHA-256, first 16 bytes (B; states of an entity only)
//	qa  queued at      mi  SQS message id (16 bytes B for a UUID)
//	ua  updated at (absent until a quarantine or a release; the time of the
//	    latest change is the later of ua and qa, else received_at)
//
// tm and qa are milliseconds from received_at (N), never an epoch: a 13-digit
// epoch in milliseconds is a run a card-number scanner cannot tell from a
// card number (one in ten passes the Luhn check), as a nanosecond time of
// day would be. An offset of 10^12 ms (31 years) or more is written as an
// RFC 3339 string instead. ua is an RFC 3339 string, as received_at is (the
// updates that write it are rare, and are not told received_at).
//	received_at, expires_at, reason, quarantine_pk, deprecated, data_dropped:
//	    as before (received_at and quarantine_pk are the quarantine index's
//	    keys, expires_at the table's TTL attribute)
//
// The provider and the event id are read from the keys. An item written by
// the previous layout (provider, event_id, type, subject, time, data,
// data_sha256, status, verified_by, queued_at, updated_at, message_id, every
// time an RFC 3339 string) is read as well, attribute by attribute, until its
// TTL passes; an update of such an item writes the new names and removes the
// old status.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/shared/contract"
)

// Attribute names of an event item.
const (
	attrType        = "ty"
	attrSubject     = "su"
	attrTime        = "tm"
	attrData        = "d"
	attrDigest      = "dh"
	attrStatus      = "st"
	attrVerifiedBy  = "vb"
	attrState       = "sh"
	attrQueuedAt    = "qa"
	attrMessageID   = "mi"
	attrUpdatedAt   = "ua"
	attrReason      = "reason"
	attrDeprecated  = "deprecated"
	attrDataDropped = "data_dropped"
)

// DataAttributes and SubjectAttributes name, for tools that read the table's
// items as they are (the card-number oracle), the attributes of either
// layout that hold an event's data and subject.
var (
	DataAttributes    = []string{attrData, legacyData}
	SubjectAttributes = []string{attrSubject, legacySubject}
)

// The previous layout's names, read until its items' TTL passes.
const (
	legacyEventID    = "event_id"
	legacyType       = "type"
	legacySubject    = "subject"
	legacyTime       = "time"
	legacyData       = "data"
	legacyDigest     = "data_sha256"
	legacyStatus     = "status"
	legacyVerifiedBy = "verified_by"
	legacyQueuedAt   = "queued_at"
	legacyMessageID  = "message_id"
	legacyUpdatedAt  = "updated_at"
)

const (
	prefixDigits = 18 // hex digits of the entity prefix
	genDigits    = 7  // hex digits of a generation
	checkDigits  = 32 - prefixDigits - genDigits
	maxGen       = 1<<(4*genDigits) - 1
	// stateAttempts bounds the writes of one new state that find their place
	// taken by another state of the same entity written at the same moment.
	stateAttempts = 8
)

// eventKey is where an event with a plain key is, and where every event of
// the previous layout is.
func eventKey(provider, id string) (pk, sk string) { return provider + "#" + id, sortEvent }

// stateID is the event id of the state written at generation gen of the
// entity whose partition has prefix.
func stateID(prefix string, gen uint32) string {
	g := fmt.Sprintf("%0*x", genDigits, gen)
	return prefix + g + stateCheck(prefix+g)
}

func stateCheck(prefixGen string) string {
	h := sha256.Sum256([]byte("state-id|" + prefixGen))
	return hex.EncodeToString(h[:])[:checkDigits]
}

// stateKeyOf returns the key of the state an event id names, and false when
// the id is not a state's (its check digits do not match: a plain key's id
// does so with a probability of 16^-7, and is then looked for in both places).
func stateKeyOf(provider, id string) (pk, sk string, ok bool) {
	if len(id) != 32 || !isLowerHex(id) || stateCheck(id[:prefixDigits+genDigits]) != id[prefixDigits+genDigits:] {
		return "", "", false
	}
	return provider + "#" + id[:prefixDigits], id[prefixDigits : prefixDigits+genDigits], true
}

func isLowerHex(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// keysOf lists where an event with this id can be, most likely first.
func keysOf(provider, id string) [][2]string {
	pk, sk := eventKey(provider, id)
	if spk, ssk, ok := stateKeyOf(provider, id); ok {
		return [][2]string{{spk, ssk}, {pk, sk}}
	}
	return [][2]string{{pk, sk}}
}

// entityPrefix is the partition prefix of an entity's states (entity is
// "<type>|<entity id>", as the pipeline names it).
func entityPrefix(provider, entity string) string {
	h := sha256.Sum256([]byte(provider + "|" + entity))
	return hex.EncodeToString(h[:])[:prefixDigits]
}

// stateDigest is what is stored of a state to compare it with the next.
func stateDigest(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return h[:16]
}

// firstGen is the generation of an entity's first state (its partition is
// empty): derived from the entity and the day, so that concurrent deliveries of
// one first state agree on it, and an entity whose states all expired (at
// least contract.MinEventTTL, two days, after the last one) starts again at
// another id. Below 2^27: at least 2^27 states follow before the last one.
func firstGen(prefix string, received time.Time) uint32 {
	h := sha256.Sum256([]byte("first|" + prefix + "|" + received.UTC().Format(time.DateOnly)))
	return binary.BigEndian.Uint32(h[:4]) >> (32 - 4*genDigits + 1)
}

// eventIDOf reads an event item's id and provider from its keys.
func eventIDOf(av map[string]ddb.AttributeValue) (provider, id string) {
	pk, sk := str(av, contract.TablePartitionKey), str(av, contract.TableSortKey)
	provider, rest, ok := strings.Cut(pk, "#")
	if !ok {
		return "", ""
	}
	if sk == sortEvent {
		return provider, rest
	}
	if len(rest) == prefixDigits && len(sk) == genDigits {
		return provider, rest + sk + stateCheck(rest+sk)
	}
	return "", ""
}

// isEventItem reports whether an item is an event (either layout), not a
// marker, a cursor or a single-use or latest-state record.
func isEventItem(av map[string]ddb.AttributeValue) bool {
	if str(av, contract.TableSortKey) == sortEvent {
		return true
	}
	_, ok := av[attrState]
	return ok
}

// since writes t as milliseconds from base (see the attributes above).
func since(t, base time.Time) ddb.AttributeValue {
	if d := t.Truncate(time.Millisecond).Sub(base); d > -1e12*time.Millisecond && d < 1e12*time.Millisecond {
		return n(d.Milliseconds())
	}
	return s(ts(t))
}

// compactID stores an id that is a UUID as its 16 bytes, any other as it is.
func compactID(id string) ddb.AttributeValue {
	if len(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' {
		if b, err := hex.DecodeString(id[:8] + id[9:13] + id[14:18] + id[19:23] + id[24:]); err == nil && strings.ToLower(id) == id {
			return &ddb.AttributeValueMemberB{Value: b}
		}
	}
	return s(id)
}

func expandID(v ddb.AttributeValue) string {
	switch t := v.(type) {
	case *ddb.AttributeValueMemberB:
		if len(t.Value) == 16 {
			h := hex.EncodeToString(t.Value)
			return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		}
	case *ddb.AttributeValueMemberS:
		return t.Value
	}
	return ""
}

// attributes is the item Create writes.
func (it *Item) attributes() map[string]ddb.AttributeValue {
	pk, sk := it.key()
	sum, _ := hex.DecodeString(it.DataSHA256)
	av := map[string]ddb.AttributeValue{
		contract.TablePartitionKey: s(pk),
		contract.TableSortKey:      s(sk),
		attrType:                   s(shortType(it.Provider, it.Type)),
		attrSubject:                s(it.Subject),
		attrData:                   s(string(it.Data)),
		attrDigest:                 &ddb.AttributeValueMemberB{Value: sum},
		attrStatus:                 s(string(it.Status)),
		contract.AttrReceivedAt:    s(ts(it.ReceivedAt)),
	}
	// What a new item can do without is left out: the time when it is the
	// receipt time, updated_at until an update, deprecated unless set.
	if !it.Time.Truncate(time.Millisecond).Equal(it.ReceivedAt.Truncate(time.Millisecond)) {
		av[attrTime] = since(it.Time, it.ReceivedAt.Truncate(time.Millisecond))
	}
	if it.Entity != "" {
		av[attrState] = &ddb.AttributeValueMemberB{Value: stateDigest(it.State)}
	}
	if it.Deprecated {
		av[attrDeprecated] = &ddb.AttributeValueMemberBOOL{Value: true}
	}
	if it.VerifiedBy != "" {
		av[attrVerifiedBy] = compactID(it.VerifiedBy)
	}
	if it.Status == StatusQuarantined {
		av[attrReason] = s(it.Reason)
		av[contract.QuarantineIndexKey] = s(it.Provider)
		if it.DataDropped {
			av[attrDataDropped] = &ddb.AttributeValueMemberBOOL{Value: true}
		}
	}
	// No expires_at: an event gets its TTL only once it is queued (MarkQueued),
	// so an event stored but not sent, or quarantined, never expires.
	return av
}

// key is where Create writes the item: a state's place is set by
// assignState before it is written.
func (it *Item) key() (pk, sk string) {
	if it.Entity != "" {
		pk, sk, _ := stateKeyOf(it.Provider, it.EventID)
		return pk, sk
	}
	return eventKey(it.Provider, it.EventID)
}

// shortType is how ty holds a type: without its "<provider>." prefix (every
// type of the contract has it), and a type without it behind a "/".
func shortType(provider, typ string) string {
	if rest, ok := strings.CutPrefix(typ, provider+"."); ok {
		return rest
	}
	return "/" + typ
}

// typeOf reads an event item's type, either layout.
func typeOf(av map[string]ddb.AttributeValue, provider string) string {
	v, ok := av[attrType].(*ddb.AttributeValueMemberS)
	if !ok {
		return str(av, legacyType)
	}
	if rest, ok := strings.CutPrefix(v.Value, "/"); ok {
		return rest
	}
	return provider + "." + v.Value
}

// first returns the first of the attributes present.
func first(av map[string]ddb.AttributeValue, names ...string) ddb.AttributeValue {
	for _, a := range names {
		if v, ok := av[a]; ok {
			return v
		}
	}
	return nil
}

func strOf(v ddb.AttributeValue) string {
	if t, ok := v.(*ddb.AttributeValueMemberS); ok {
		return t.Value
	}
	return ""
}

// timeOf reads a time written either way: milliseconds from base, or RFC
// 3339.
func timeOf(v ddb.AttributeValue, base time.Time) time.Time {
	switch t := v.(type) {
	case *ddb.AttributeValueMemberN:
		if msec, err := strconv.ParseInt(t.Value, 10, 64); err == nil && !base.IsZero() {
			return base.Add(time.Duration(msec) * time.Millisecond).UTC()
		}
	case *ddb.AttributeValueMemberS:
		return parseTime(t.Value)
	}
	return time.Time{}
}

// statusOf reads an event item's status, either layout.
func statusOf(av map[string]ddb.AttributeValue) Status {
	return Status(strOf(first(av, attrStatus, legacyStatus)))
}

// Decode reads a stored event item, of either layout: for tests and tools
// that read the table itself (an oracle must not trust a second reading of
// the layout).
func Decode(av map[string]ddb.AttributeValue) (*Item, error) { return decode(av) }

func decode(av map[string]ddb.AttributeValue) (*Item, error) {
	provider, id := eventIDOf(av)
	if id == "" {
		id = str(av, legacyEventID)
		// Every key begins with its provider: an Item always names it.
		provider, _, _ = strings.Cut(str(av, contract.TablePartitionKey), "#")
	}
	it := &Item{
		Provider:   provider,
		EventID:    id,
		Type:       typeOf(av, provider),
		Subject:    strOf(first(av, attrSubject, legacySubject)),
		Data:       []byte(strOf(first(av, attrData, legacyData))),
		Status:     statusOf(av),
		Reason:     str(av, attrReason),
		ReceivedAt: parseTime(str(av, contract.AttrReceivedAt)),
		MessageID:  expandMessageID(first(av, attrMessageID, legacyMessageID)),
		VerifiedBy: expandID(av[attrVerifiedBy]),
	}
	it.QueuedAt = timeOf(first(av, attrQueuedAt, legacyQueuedAt), it.ReceivedAt)
	switch v := first(av, attrDigest, legacyDigest).(type) {
	case *ddb.AttributeValueMemberB:
		it.DataSHA256 = hex.EncodeToString(v.Value)
	case *ddb.AttributeValueMemberS:
		it.DataSHA256 = v.Value
	}
	if it.VerifiedBy == "" { // the previous layout: a UUID without its dashes
		it.VerifiedBy = expandVersionID(str(av, legacyVerifiedBy))
	}
	it.Time = timeOf(first(av, attrTime, legacyTime), it.ReceivedAt)
	if it.Time.IsZero() {
		it.Time = it.ReceivedAt
	}
	it.UpdatedAt = timeOf(first(av, attrUpdatedAt, legacyUpdatedAt), it.ReceivedAt)
	if it.QueuedAt.After(it.UpdatedAt) {
		it.UpdatedAt = it.QueuedAt
	}
	if it.UpdatedAt.IsZero() {
		it.UpdatedAt = it.ReceivedAt
	}
	if b, ok := av[attrDeprecated].(*ddb.AttributeValueMemberBOOL); ok {
		it.Deprecated = b.Value
	}
	if b, ok := av[attrDataDropped].(*ddb.AttributeValueMemberBOOL); ok {
		it.DataDropped = b.Value
	}
	if v, ok := av[contract.TableTTLAttribute].(*ddb.AttributeValueMemberN); ok {
		if sec, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			it.ExpiresAt = time.Unix(sec, 0)
		}
	}
	if it.EventID == "" || it.Status == "" {
		return nil, errors.New("eventstore: stored item is not an event (no id or status)")
	}
	return it, nil
}

// expandMessageID reads a message id: 16 bytes of a UUID, or as sent.
func expandMessageID(v ddb.AttributeValue) string {
	return expandID(v)
}

// duplicateOf reads the event found where it was to be written, and gives
// it its id: the stored event's, which the caller answers with.
func duplicateOf(it *Item, old map[string]ddb.AttributeValue) (*Item, error) {
	found, err := decode(old)
	if err != nil {
		return nil, fmt.Errorf("%w: the event at %s's key: %w", ErrUnavailable, it.EventID, err)
	}
	it.EventID = found.EventID
	return found, nil
}

// stateTable is what recording a state needs of a store: the latest item of
// a partition, and a write on the condition that the key is free (returning
// the item found there when it is not).
type stateTable interface {
	latest(ctx context.Context, pk string, consistent bool) (map[string]ddb.AttributeValue, error)
	putNew(ctx context.Context, it *Item) (old map[string]ddb.AttributeValue, err error)
}

// errTaken is putNew's answer when the key was not free.
var errTaken = errors.New("eventstore: key taken")

// createState writes it as the next state of its entity (both stores), or
// returns the stored event when its state is the entity's latest (a
// redelivery). It sets it.EventID either way.
func createState(ctx context.Context, t stateTable, it *Item) (*Item, error) {
	prefix := entityPrefix(it.Provider, it.Entity)
	pk := it.Provider + "#" + prefix
	want := stateDigest(it.State)
	consistent := false
	for range stateAttempts {
		latest, err := t.latest(ctx, pk, consistent)
		if err != nil {
			return nil, err
		}
		gen := firstGen(prefix, it.ReceivedAt)
		if latest != nil {
			if sh, ok := latest[attrState].(*ddb.AttributeValueMemberB); ok && bytes.Equal(sh.Value, want) {
				if !consistent { // an eventually consistent read may be stale: confirm it
					consistent = true
					continue
				}
				return duplicateOf(it, latest)
			}
			g, err := strconv.ParseUint(str(latest, contract.TableSortKey), 16, 32)
			if err != nil || g >= maxGen {
				return nil, fmt.Errorf("%w: state of %s: the entity's latest generation %q cannot be followed", ErrUnavailable, it.Provider, str(latest, contract.TableSortKey))
			}
			gen = uint32(g) + 1
		}
		it.EventID = stateID(prefix, gen)
		_, err = t.putNew(ctx, it)
		if !errors.Is(err, errTaken) {
			return nil, err
		}
		consistent = true // another state took the place: read again, strongly
	}
	return nil, fmt.Errorf("%w: state of %s: %d writes of the same entity at once", ErrConflict, it.Provider, stateAttempts)
}
