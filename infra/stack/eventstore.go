package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"slices"

	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
)

// Table layout (DESIGN.md, "Table").
const (
	PartitionKey       = contract.TablePartitionKey
	SortKey            = contract.TableSortKey
	TTLAttribute       = contract.TableTTLAttribute
	QuarantineIndex    = contract.QuarantineIndex
	QuarantineIndexPK  = contract.QuarantineIndexKey
	QuarantineIndexSK  = contract.QuarantineIndexRange
	pitrRecoveryPeriod = 35 // days, the maximum
)

// The only DynamoDB actions the functions use, on the table (never its indexes), and only on
// their own provider's items: every key a function writes or reads starts with
// "<provider>#" (its events, single-use credentials, entity states and unsent markers), so an
// IAM condition on the leading key confines each function to its provider's items.
//
//   - FunctionItemActions, on keys "<provider>#*": a webhook's conditional put (store once;
//     an unsent marker when a send fails), get (duplicate and retry handling), update (mark
//     queued or quarantined) and query (the latest state of an entity, in the entity's
//     partition; the redrive's query of its provider's unsent markers);
//   - FunctionMarkerActions, on the key "<provider>#unsent" only: the delete of a marker once
//     its event is queued;
//   - FunctionScanActions, no key to condition on: the redrive sweep's and the replay's
//     filtered scan, allowed to read only the attributes that name and order an event,
//     never its data (dynamodb:Select SPECIFIC_ATTRIBUTES and dynamodb:Attributes).
//
// No batch or transactional action, no wildcard.
var (
	FunctionItemActions   = []string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"}
	FunctionMarkerActions = []string{"dynamodb:DeleteItem"}
	FunctionScanActions   = []string{"dynamodb:Scan"}
)

// ScanReadableAttributes are the attributes a function's Scan may name: what
// the scans read and filter on, and the table keys — never data, so a scan
// cannot read any provider's events (eventstore.ScanAttributes).
func ScanReadableAttributes() []any {
	var out []any
	for _, a := range slices.Concat([]string{contract.TablePartitionKey}, eventstore.ScanAttributes, eventstore.ScanFilterAttributes) {
		if !slices.Contains(out, any(a)) {
			out = append(out, a)
		}
	}
	return out
}

// FunctionTableActions are all of them.
var FunctionTableActions = slices.Concat(FunctionItemActions, FunctionMarkerActions, FunctionScanActions)

type EventStoreProps struct {
	// Key encrypts the table (customer-managed KMS key).
	Key awskms.IKey
}

// EventStore is the DynamoDB table that stores every accepted event once (the de-duplication
// record) and every quarantined event until it is re-processed.
type EventStore struct {
	constructs.Construct
	Table awsdynamodb.Table
}

func NewEventStore(scope constructs.Construct, id string, props *EventStoreProps) *EventStore {
	this := constructs.NewConstruct(scope, &id)

	table := awsdynamodb.NewTable(this, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String(SortKey), Type: awsdynamodb.AttributeType_STRING},
		TimeToLiveAttribute: jsii.String(TTLAttribute),
		// Webhook traffic is bursty and low on average: on-demand costs nothing when idle and
		// absorbs provider retry storms without capacity planning.
		BillingMode: awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
			RecoveryPeriodInDays:       jsii.Number(pitrRecoveryPeriod),
		},
		Encryption:         awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:      props.Key,
		DeletionProtection: jsii.Bool(true),
		// The table is the record of what was acknowledged to providers: never delete it with
		// the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// Sparse index: only quarantined items carry quarantine_pk, so operators can list them
	// (newest first by received_at) without scanning. The functions never query it.
	table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(QuarantineIndex),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(QuarantineIndexPK), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(QuarantineIndexSK), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})

	return &EventStore{Construct: this, Table: table}
}

// GrantPipeline gives grantee exactly the item-level actions the functions use, on the
// table only (not its indexes).
func (s *EventStore) GrantPipeline(grantee awsiam.IGrantable, provider string) {
	leading := func(pattern string) *map[string]any {
		return &map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{pattern}}}
	}
	for _, st := range []*awsiam.PolicyStatementProps{
		{Sid: jsii.String("EventStoreOwnItems"), Actions: jsii.Strings(FunctionItemActions...), Conditions: leading(provider + "#*")},
		{Sid: jsii.String("EventStoreOwnUnsentMarkers"), Actions: jsii.Strings(FunctionMarkerActions...), Conditions: leading(provider + "#unsent")},
		{Sid: jsii.String("EventStoreScan"), Actions: jsii.Strings(FunctionScanActions...), Conditions: &map[string]any{
			"StringEquals":              map[string]any{"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
			"ForAllValues:StringEquals": map[string]any{"dynamodb:Attributes": ScanReadableAttributes()},
		}},
	} {
		st.Resources = jsii.Strings(*s.Table.TableArn())
		grantee.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(st))
	}
}
