package capacity

// One simulated Lambda instance: its own handler (and so its own secret
// cache), its own simulated clock, and clients of the shared in-memory table
// and queue that charge each AWS call a latency drawn for this instance: the
// table's calls as the store makes them (its call hook), the queue's sends.

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

// observe is the in-memory table's hook on every call it receives (a
// client's, through eventstore.Memory.WithFault): the instance is charged
// the DynamoDB operation the store made, whatever method made it (a state's
// Create is a Query and a PutItem, twice the Query for a redelivery), and no
// call fails.
func (in *instance) observe(c eventstore.Call) eventstore.Failure {
	in.call("DynamoDB." + c.Op)
	return eventstore.Failure{}
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
