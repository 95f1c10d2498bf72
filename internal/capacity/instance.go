package capacity

// One simulated Lambda instance: its own handler (and so its own secret
// cache), its own simulated clock, and clients of the shared in-memory table
// and queue that charge each AWS call a latency drawn for this instance.

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
	"webhooks/shared/queue"
	"webhooks/shared/secrets"
)

// StoreCalls maps each Store method of the webhook path to the DynamoDB
// calls eventstore.Store makes for it (shared/eventstore/eventstore.go).
// When a method changes its calls (the latest-state record as a Query and a
// conditional PutItem, say), change its line here.
var StoreCalls = map[string][]string{
	"Create":      {OpPutItem},
	"Get":         {OpGetItem},
	"UseOnce":     {OpPutItem},
	"RecordState": {OpUpdateItem},
	"MarkQueued":  {OpUpdateItem},
	"Release":     {OpUpdateItem},
	"Quarantine":  {OpUpdateItem},
	"MarkUnsent":  {OpPutItem},
	"ClearUnsent": {OpDeleteItem},
}

// instance is one simulated Lambda instance. Only its own goroutine touches
// it while the run lasts.
type instance struct {
	profile Profile
	rng     *rand.Rand
	aws     time.Duration  // AWS latency charged during the current request
	calls   map[string]int // AWS calls, all requests
}

// call charges one AWS operation.
func (in *instance) call(op string) {
	in.calls[op]++
	in.aws += in.profile.Ops[op].Sample(in.rng)
}

func (in *instance) charge(method string) {
	for _, op := range StoreCalls[method] {
		in.call(op)
	}
}

// timedStore is a client of the shared table whose calls are charged to one
// instance. Methods it does not list pass through uncharged (operator paths).
type timedStore struct {
	pipeline.Store
	in *instance
}

func (s timedStore) Create(ctx context.Context, it *eventstore.Item) (*eventstore.Item, error) {
	s.in.charge("Create")
	return s.Store.Create(ctx, it)
}

func (s timedStore) Get(ctx context.Context, provider, eventID string) (*eventstore.Item, error) {
	s.in.charge("Get")
	return s.Store.Get(ctx, provider, eventID)
}

func (s timedStore) UseOnce(ctx context.Context, provider, credential, bodyMAC string, expires time.Time) error {
	s.in.charge("UseOnce")
	return s.Store.UseOnce(ctx, provider, credential, bodyMAC, expires)
}

func (s timedStore) RecordState(ctx context.Context, provider, entity, state, newEventID string, expires time.Time) (string, bool, error) {
	s.in.charge("RecordState")
	return s.Store.RecordState(ctx, provider, entity, state, newEventID, expires)
}

func (s timedStore) MarkQueued(ctx context.Context, provider, eventID, messageID string, expires time.Time) error {
	s.in.charge("MarkQueued")
	return s.Store.MarkQueued(ctx, provider, eventID, messageID, expires)
}

func (s timedStore) Release(ctx context.Context, provider, eventID string) error {
	s.in.charge("Release")
	return s.Store.Release(ctx, provider, eventID)
}

func (s timedStore) Quarantine(ctx context.Context, provider, eventID, reason string) error {
	s.in.charge("Quarantine")
	return s.Store.Quarantine(ctx, provider, eventID, reason)
}

func (s timedStore) MarkUnsent(ctx context.Context, provider, eventID string, received time.Time, unconfirmed bool) error {
	s.in.charge("MarkUnsent")
	return s.Store.MarkUnsent(ctx, provider, eventID, received, unconfirmed)
}

func (s timedStore) ClearUnsent(ctx context.Context, provider, eventID string, received time.Time) error {
	s.in.charge("ClearUnsent")
	return s.Store.ClearUnsent(ctx, provider, eventID, received)
}

// timedQueue is a publisher to the shared queue charged to one instance.
type timedQueue struct {
	q  pipeline.Queue
	in *instance
}

func (q timedQueue) Send(ctx context.Context, m queue.Message) (string, error) {
	q.in.call(OpSendMessage)
	return q.q.Send(ctx, m)
}

// memorySecret is a secret with one version (AWSCURRENT), read by one
// instance: no AWSPREVIOUS, as after a first deployment.
type memorySecret struct {
	value   string
	created time.Time
	in      *instance
}

var _ secrets.API = (*memorySecret)(nil)

func (m *memorySecret) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	m.in.call(OpGetSecretValue)
	if aws.ToString(in.VersionStage) != secrets.StageCurrent {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value for staging label: " + aws.ToString(in.VersionStage))}
	}
	return &secretsmanager.GetSecretValueOutput{Name: in.SecretId, VersionId: aws.String("00000000-0000-4000-8000-000000000001"),
		SecretString: aws.String(m.value), CreatedDate: aws.Time(m.created), VersionStages: []string{secrets.StageCurrent}}, nil
}
