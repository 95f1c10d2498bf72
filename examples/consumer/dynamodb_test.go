package main

// consumer.DynamoDBStore against a real DynamoDB API (moto_server): claim,
// complete and release; a claim refused with and without the item in the
// ConditionalCheckFailedException; expired items count as absent; of 20
// concurrent claims of one key exactly one wins (moto serialised, as DynamoDB
// serialises conditional writes of one item).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/consumer"
	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
)

// newIdempotencyTable creates a fresh table as the example's documentation
// asks for one: partition key "pk" (string), TTL on "expires_at".
func newIdempotencyTable(t *testing.T) (*awskit.Env, string) {
	t.Helper()
	ctx := context.Background()
	env, err := awskit.NewEnv(ctx, awstest.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	name := awskit.Unique("consumer-idem")
	_, err = env.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddb.BillingModePayPerRequest,
		AttributeDefinitions: []ddb.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddb.ScalarAttributeTypeS}},
		KeySchema:            []ddb.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddb.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamodb.NewTableExistsWaiter(env.DynamoDB).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := env.DynamoDB.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &ddb.TimeToLiveSpecification{AttributeName: aws.String(consumer.AttrExpiresAt), Enabled: aws.Bool(true)},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = env.DynamoDB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return env, name
}

// withoutOldItem is the DynamoDB API of a service that does not return the
// item with a ConditionalCheckFailedException (DynamoDB Local, older
// emulators): the real API, with the item dropped from the error.
type withoutOldItem struct {
	consumer.DynamoDBAPI
	stripped atomic.Int64 // concurrent claims strip at once
}

func (w *withoutOldItem) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := w.DynamoDBAPI.PutItem(ctx, in, opts...)
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) && ccf.Item != nil {
		ccf.Item = nil
		w.stripped.Add(1)
	}
	return out, err
}

// TestDynamoDBReturnsTheItemOnConditionFailure records what this API does
// with ReturnValuesOnConditionCheckFailure=ALL_OLD (DynamoDB returns the
// item): DynamoDBStore reads the item with GetItem when it is absent, and
// the tests below run both ways.
func TestDynamoDBReturnsTheItemOnConditionFailure(t *testing.T) {
	env, table := newIdempotencyTable(t)
	ctx := context.Background()
	item := map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: "k"}, "status": &ddb.AttributeValueMemberS{Value: "done"}}
	if _, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	_, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table), Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *ddb.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("conditional put of an existing item: %v, want ConditionalCheckFailedException", err)
	}
	if ccf.Item == nil {
		t.Logf("this DynamoDB API does not return the item with ConditionalCheckFailedException (DynamoDBStore falls back to GetItem)")
		return
	}
	if s, _ := ccf.Item["status"].(*ddb.AttributeValueMemberS); s == nil || s.Value != "done" {
		t.Fatalf("returned item %v", ccf.Item)
	}
	t.Logf("this DynamoDB API returns the item with ConditionalCheckFailedException (ALL_OLD)")
}

func getItem(t *testing.T, env *awskit.Env, table, pk string) map[string]ddb.AttributeValue {
	t.Helper()
	out, err := env.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: pk}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func TestDynamoDBStore(t *testing.T) {
	for _, returned := range []bool{true, false} {
		t.Run(fmt.Sprintf("item returned=%v", returned), func(t *testing.T) {
			env, table := newIdempotencyTable(t)
			var api consumer.DynamoDBAPI = env.DynamoDB
			strip := &withoutOldItem{DynamoDBAPI: env.DynamoDB}
			if !returned {
				api = strip
			}
			s := &consumer.DynamoDBStore{Client: api, Table: table, Prefix: "event#"}
			ctx := context.Background()
			now := time.Now().Truncate(time.Second)
			lease, ttl := now.Add(time.Minute), now.Add(48*time.Hour)
			claim := func(k string, at time.Time) (bool, error) {
				return s.Claim(ctx, k, at, at.Add(time.Minute), at.Add(48*time.Hour))
			}
			want := func(what string, gotOK bool, gotErr error, ok bool, wantErr error) {
				t.Helper()
				if gotOK != ok || !errors.Is(gotErr, wantErr) || (wantErr == nil && gotErr != nil) {
					t.Fatalf("%s: %v, %v; want %v, %v", what, gotOK, gotErr, ok, wantErr)
				}
			}

			ok, err := s.Claim(ctx, "a", now, lease, ttl)
			want("first claim", ok, err, true, nil)
			it := getItem(t, env, table, "event#a")
			if awskit.Str(it, "status") != "claimed" || it["lease_until"] == nil || it[consumer.AttrExpiresAt] == nil {
				t.Fatalf("claimed item %v", it)
			}
			if n, _ := it[consumer.AttrExpiresAt].(*ddb.AttributeValueMemberN); n == nil || n.Value != fmt.Sprint(ttl.Unix()) {
				t.Fatalf("expires_at %v, want %d", it[consumer.AttrExpiresAt], ttl.Unix())
			}
			ok, err = claim("a", now.Add(59*time.Second))
			want("claim during the lease", ok, err, false, consumer.ErrInProgress)

			// Release: the key can be claimed at once.
			if err := s.Release(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if it := getItem(t, env, table, "event#a"); it != nil {
				t.Fatalf("released item still there: %v", it)
			}
			ok, err = claim("a", now)
			want("claim after release", ok, err, true, nil)

			// Complete: every later claim reports it handled; a release keeps it.
			if err := s.Complete(ctx, "a", ttl); err != nil {
				t.Fatal(err)
			}
			ok, err = claim("a", now.Add(time.Hour))
			want("claim of a handled key", ok, err, false, nil)
			if err := s.Release(ctx, "a"); err != nil {
				t.Fatalf("release of a handled key: %v", err)
			}
			ok, err = claim("a", now.Add(time.Hour))
			want("claim of a handled key after a release", ok, err, false, nil)

			// The lease ends: another delivery takes the claim.
			ok, err = claim("b", now)
			want("claim b", ok, err, true, nil)
			ok, err = claim("b", now.Add(time.Minute-time.Millisecond))
			want("claim b just before the lease ends", ok, err, false, consumer.ErrInProgress)
			ok, err = claim("b", now.Add(time.Minute))
			want("claim b when the lease ends", ok, err, true, nil)

			// Expired items count as absent (TTL deletes them late).
			if err := s.Complete(ctx, "c", now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			ok, err = claim("c", now.Add(time.Hour-time.Second))
			want("claim c before it expires", ok, err, false, nil)
			ok, err = claim("c", now.Add(time.Hour))
			want("claim c once expired", ok, err, true, nil)
			ok, err = s.Claim(ctx, "d", now, now.Add(48*time.Hour), now.Add(time.Hour)) // a claim that outlives its item
			want("claim d", ok, err, true, nil)
			ok, err = claim("d", now.Add(time.Hour))
			want("claim d once its item expired", ok, err, true, nil)

			// A release of a key never claimed, twice, is no error.
			for range 2 {
				if err := s.Release(ctx, "never"); err != nil {
					t.Fatal(err)
				}
			}
			if !returned && strip.stripped.Load() == 0 {
				t.Log("no item to strip: the API never returned one")
			}
		})
	}
}

// Of 20 concurrent claims of one key, exactly one wins; the others see a
// live claim. DynamoDB makes each conditional write of an item atomic; moto
// does not (two concurrent conditional puts can both succeed there), so the
// claims go to moto through a proxy that forwards one request at a time
// (awstest.SerialEndpoint): the claims are concurrent, moto's handling of
// them is not, as DynamoDB's is not for one item.
func TestDynamoDBStoreConcurrentClaims(t *testing.T) {
	_, table := newIdempotencyTable(t)
	env, err := awskit.NewEnv(context.Background(), awstest.SerialEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range []consumer.DynamoDBAPI{env.DynamoDB, &withoutOldItem{DynamoDBAPI: env.DynamoDB}} {
		s := &consumer.DynamoDBStore{Client: api, Table: table}
		for round := range 3 {
			key := awskit.Unique(fmt.Sprintf("k%d", round))
			now := time.Now()
			var mu sync.Mutex
			wins, busy := 0, 0
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 20 {
				wg.Go(func() {
					<-start
					ok, err := s.Claim(context.Background(), key, now, now.Add(time.Minute), now.Add(time.Hour))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case ok && err == nil:
						wins++
					case errors.Is(err, consumer.ErrInProgress):
						busy++
					default:
						t.Errorf("claim: %v, %v", ok, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins != 1 || busy != 19 {
				t.Fatalf("round %d: %d claims won, %d saw a live claim; want 1 and 19", round, wins, busy)
			}
		}
	}
}

// A table with a sort key: SortKey and SortValue.
func TestDynamoDBStoreSortKey(t *testing.T) {
	ctx := context.Background()
	env, err := awskit.NewEnv(ctx, awstest.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	table := awskit.Unique("consumer-idem-sk")
	if err := env.CreateTable(ctx, table); err != nil { // pk and sk, as the receivers' table
		t.Fatal(err)
	}
	s := &consumer.DynamoDBStore{Client: env.DynamoDB, Table: table, Prefix: "idem#", SortKey: "sk", SortValue: "consumer"}
	now := time.Now()
	if ok, err := s.Claim(ctx, "x", now, now.Add(time.Minute), now.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if err := s.Complete(ctx, "x", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Claim(ctx, "x", now, now.Add(time.Minute), now.Add(time.Hour)); ok || err != nil {
		t.Fatalf("claim of a handled key: %v %v", ok, err)
	}
	items, err := env.Items(ctx, table)
	if err != nil || len(items) != 1 || awskit.Str(items[0], "pk") != "idem#x" || awskit.Str(items[0], "sk") != "consumer" {
		t.Fatalf("items %v, %v", items, err)
	}
}

// lostAnswer is the DynamoDB API of a network that loses the answer to a
// PutItem after DynamoDB applied it: the SDK sends the same request again,
// and that is the answer the caller gets.
type lostAnswer struct {
	consumer.DynamoDBAPI
}

func (l lostAnswer) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := l.DynamoDBAPI.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return l.DynamoDBAPI.PutItem(ctx, in, opts...)
}

// A claim whose answer was lost and whose retry then fails its own condition
// is still this delivery's claim, not "handled by another delivery": else the
// record fails and waits a whole lease for nothing (seen under load, when
// moto closed a connection after applying a put).
func TestDynamoDBStoreClaimSurvivesALostAnswer(t *testing.T) {
	env, table := newIdempotencyTable(t)
	for _, returned := range []bool{true, false} {
		var api consumer.DynamoDBAPI = env.DynamoDB
		if !returned {
			api = &withoutOldItem{DynamoDBAPI: env.DynamoDB}
		}
		s := &consumer.DynamoDBStore{Client: lostAnswer{api}, Table: table}
		now := time.Now()
		key := awskit.Unique(fmt.Sprintf("lost-%v", returned))
		ok, err := s.Claim(context.Background(), key, now, now.Add(time.Minute), now.Add(time.Hour))
		if !ok || err != nil {
			t.Errorf("item returned=%v: a claim whose answer was lost: %v, %v; want true", returned, ok, err)
		}
		// Another delivery during the lease still sees a live claim.
		other := &consumer.DynamoDBStore{Client: api, Table: table}
		if ok, err := other.Claim(context.Background(), key, now, now.Add(time.Minute), now.Add(time.Hour)); ok || !errors.Is(err, consumer.ErrInProgress) {
			t.Errorf("item returned=%v: another delivery's claim: %v, %v; want false, ErrInProgress", returned, ok, err)
		}
	}
}
