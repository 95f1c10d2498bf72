package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"webhooks/shared/contract"
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

// FunctionTableActions are the only DynamoDB actions the functions use, on the table (never
// its indexes). A webhook: a conditional put (store once; an unsent marker when a send
// fails), a get (duplicate / retry handling) and an update (mark queued or quarantined). The
// operator commands: a query (redrive reads its provider's unsent markers), a scan (the
// redrive sweep and replay, filtered) and a delete (an unsent marker once its event is
// queued). No batch or transactional action, no wildcard.
var FunctionTableActions = []string{
	"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem",
	"dynamodb:Query", "dynamodb:Scan", "dynamodb:DeleteItem",
}

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
func (s *EventStore) GrantPipeline(grantee awsiam.IGrantable) {
	grantee.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("EventStoreItems"),
		Actions:   jsii.Strings(FunctionTableActions...),
		Resources: jsii.Strings(*s.Table.TableArn()),
	}))
}
