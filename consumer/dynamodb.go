package consumer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the DynamoDB client DynamoDBStore uses
// (dynamodb:PutItem, GetItem and DeleteItem on its table).
type DynamoDBAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ DynamoDBAPI = (*dynamodb.Client)(nil)

// DynamoDBStore is a Store in a DynamoDB table: one item per key, written
// with conditional writes (one write unit per claim, completion and release
// of a small item), and deleted by the table's TTL after it expires.
//
// The table's partition key is a string (PartitionKey, default "pk"); if it
// has a sort key, set SortKey and SortValue. Turn on TTL on "expires_at".
type DynamoDBStore struct {
	Client DynamoDBAPI
	Table  string
	// PartitionKey is the partition key's name (default "pk"); each item's
	// value is Prefix followed by the key.
	PartitionKey string
	Prefix       string
	// SortKey and SortValue, for a table with a sort key.
	SortKey, SortValue string
}

// Attributes of a DynamoDBStore item.
const (
	attrStatus     = "status"
	attrLeaseUntil = "lease_until" // epoch milliseconds
	attrClaimID    = "claim_id"    // random per Claim call: its own write, seen again, is its own
	AttrExpiresAt  = "expires_at"  // epoch seconds: the table's TTL attribute
	statusClaimed  = "claimed"
	statusDone     = "done"
)

func (s *DynamoDBStore) key(k string) map[string]types.AttributeValue {
	pk := s.PartitionKey
	if pk == "" {
		pk = "pk"
	}
	m := map[string]types.AttributeValue{pk: &types.AttributeValueMemberS{Value: s.Prefix + k}}
	if s.SortKey != "" {
		m[s.SortKey] = &types.AttributeValueMemberS{Value: s.SortValue}
	}
	return m
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Claim implements Store: a PutItem that succeeds only when no live item of
// the key exists, or the one that does is a claim whose lease has ended.
func (s *DynamoDBStore) Claim(ctx context.Context, key string, now, leaseUntil, expires time.Time) (bool, error) {
	item := s.key(key)
	item[attrStatus] = &types.AttributeValueMemberS{Value: statusClaimed}
	item[attrLeaseUntil] = num(leaseUntil.UnixMilli())
	item[AttrExpiresAt] = num(expires.Unix())
	// A write whose answer was lost is sent again by the SDK, and then fails its own
	// condition: the claim id tells that write from another delivery's.
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return false, err
	}
	claimID := hex.EncodeToString(id[:])
	item[attrClaimID] = &types.AttributeValueMemberS{Value: claimID}
	pk := s.PartitionKey
	if pk == "" {
		pk = "pk"
	}
	_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table),
		Item:      item,
		// An expired item counts as absent: TTL deletes items late.
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR #exp <= :nowSec OR (#st = :claimed AND #lease <= :nowMs)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": pk, "#exp": AttrExpiresAt, "#st": attrStatus, "#lease": attrLeaseUntil,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":nowSec":  num(now.Unix()),
			":nowMs":   num(now.UnixMilli()),
			":claimed": &types.AttributeValueMemberS{Value: statusClaimed},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return true, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, err
	}
	old := ccf.Item
	if old == nil { // an API that does not return the item: read it
		out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: s.key(key), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return false, err
		}
		old = out.Item
	}
	if st, ok := old[attrStatus].(*types.AttributeValueMemberS); ok && st.Value == statusDone {
		return false, nil
	}
	if c, ok := old[attrClaimID].(*types.AttributeValueMemberS); ok && c.Value == claimID {
		return true, nil // this call's own write, retried after its answer was lost
	}
	return false, ErrInProgress
}

// Complete implements Store: the item becomes a handled key.
func (s *DynamoDBStore) Complete(ctx context.Context, key string, expires time.Time) error {
	item := s.key(key)
	item[attrStatus] = &types.AttributeValueMemberS{Value: statusDone}
	item[AttrExpiresAt] = num(expires.Unix())
	_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item})
	return err
}

// Release implements Store: the claim is deleted, unless the key was handled.
func (s *DynamoDBStore) Release(ctx context.Context, key string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       s.key(key),
		ConditionExpression:       aws.String("#st = :claimed"),
		ExpressionAttributeNames:  map[string]string{"#st": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{":claimed": &types.AttributeValueMemberS{Value: statusClaimed}},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	return err
}
