package eventstore_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// store is every method of the event store: Store's (DynamoDB), which
// Memory has too: the pipeline's port and the operators' listing.
type store interface {
	pipeline.Store
	Quarantined(ctx context.Context, provider string) ([]*eventstore.Item, error)
}

var (
	_ store = (*eventstore.Store)(nil)
	_ store = (*eventstore.Memory)(nil)
)

// table is one test's store on a new, empty table.
type table struct {
	store
	// items reads every item of the table, every attribute (a Scan).
	items func(t *testing.T) []map[string]ddb.AttributeValue
	// with is another client of the same table whose calls meet f.
	with func(f eventstore.Fault) store
	// put writes an item as it is (one the previous layout wrote).
	put func(t *testing.T, av map[string]ddb.AttributeValue)
}

// backend is one implementation of the store under test.
type backend struct {
	name string
	// open returns a store on a new, empty table; serial: the calls of
	// concurrent clients reach the table one at a time (DynamoDB orders the
	// conditional writes of one item; moto needs a proxy for it).
	open func(t *testing.T, serial bool) *table
}

var memoryBackend = backend{"memory", func(*testing.T, bool) *table {
	m := eventstore.NewMemory()
	return &table{
		store: m,
		items: func(*testing.T) []map[string]ddb.AttributeValue { return m.Items() },
		with:  func(f eventstore.Fault) store { return m.WithFault(f) },
		put:   func(_ *testing.T, av map[string]ddb.AttributeValue) { m.PutRaw(av) },
	}
}}

// dynamoBackend is the DynamoDB store on moto_server (skipped without it,
// as every integration test is; CI=true makes a missing moto_server fail).
var dynamoBackend = backend{"dynamodb", func(t *testing.T, serial bool) *table {
	t.Helper()
	endpoint := awstest.Endpoint(t)
	if serial {
		endpoint = awstest.SerialEndpoint(t)
	}
	env, err := awskit.NewEnv(t.Context(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	name := awskit.Unique("conformance")
	if err := env.CreateTable(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	return &table{
		store: eventstore.New(env.DynamoDB, name),
		items: func(t *testing.T) []map[string]ddb.AttributeValue {
			t.Helper()
			items, err := env.Items(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			return items
		},
		with: func(f eventstore.Fault) store { return eventstore.New(awstest.FaultyDynamoDB(env.DynamoDB, f), name) },
		put: func(t *testing.T, av map[string]ddb.AttributeValue) {
			t.Helper()
			if _, err := env.DynamoDB.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &name, Item: av}); err != nil {
				t.Fatal(err)
			}
		},
	}
}}

// eachBackend runs the case on every implementation: in memory, and
// DynamoDB on moto_server. The oracle is the DynamoDB store's observable
// behaviour: one set of assertions, which both must pass.
func eachBackend(t *testing.T, run func(t *testing.T, b backend)) {
	for _, b := range []backend{memoryBackend, dynamoBackend} {
		t.Run(b.name, func(t *testing.T) { run(t, b) })
	}
}

// render writes items as text to compare: one line per item, ordered by
// key, each attribute as name=type:value in name order, "; " between; attributes named
// in now are the time of the call that wrote them, written "<now>".
func render(items []map[string]ddb.AttributeValue, now ...string) string {
	lines := make([]string, 0, len(items))
	for _, it := range items {
		names := make([]string, 0, len(it))
		for k := range it {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		for i, k := range names {
			if i > 0 {
				b.WriteString("; ")
			}
			v := value(it[k])
			for _, n := range now {
				if n == k {
					v = v[:2] + "<now>"
				}
			}
			b.WriteString(k + "=" + v)
		}
		lines = append(lines, b.String())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func value(v ddb.AttributeValue) string {
	switch t := v.(type) {
	case *ddb.AttributeValueMemberS:
		return "S:" + t.Value
	case *ddb.AttributeValueMemberN:
		return "N:" + t.Value
	case *ddb.AttributeValueMemberBOOL:
		return fmt.Sprintf("B:%v", t.Value)
	case *ddb.AttributeValueMemberB:
		return "X:" + hex.EncodeToString(t.Value)
	}
	return fmt.Sprintf("?:%T", v)
}
