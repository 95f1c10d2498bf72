package pipeline_test

// Where a test's events, messages and secret live: in memory (the store and
// queue beside the DynamoDB and SQS ones, held to them by their conformance
// tests, and a Secrets Manager with its two stages), so that the pipeline's
// rules are tested in milliseconds with no AWS API; or on moto_server, where
// TestScenariosOnAWS runs the same scenarios to prove the AWS calls. A
// stack gives a test the same view of either: the table's items attribute by
// attribute, the messages a consumer receives, the logs, and what an
// operator or an outage does to them.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/lambdamain"
	"webhooks/shared/metrics"
	"webhooks/shared/pipeline"
	"webhooks/shared/queue"
	"webhooks/shared/secrets"
)

// backend says where a stack lives.
type backend int

const (
	inMemory backend = iota // eventstore.Memory, queue.Memory, memorySecrets
	onAWS                   // DynamoDB, SQS and Secrets Manager on moto_server
)

func (b backend) String() string {
	return map[backend]string{inMemory: "memory", onAWS: "moto_server"}[b]
}

var (
	_ pipeline.Store = (*eventstore.Memory)(nil)
	_ pipeline.Queue = (*queue.Memory)(nil)
)

// testStack is one test's table, queue and secret, and its time.
type testStack struct {
	backend backend
	Logs    *awskit.SyncBuffer
	aws     *awstest.Stack // onAWS
	table   *eventstore.Memory
	queue   *queue.Memory
	secret  *memorySecrets
	clock   *testClock // inMemory
}

// testClock is a stack's time in memory: it moves only when it is read (a
// millisecond a reading, so that every reading is later than the one
// before, as the calls to an AWS API make it) or slept, so that no test
// waits on the wall clock or depends on how fast it runs.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// now is the stack's time: the wall clock on AWS.
func (s *testStack) now() time.Time {
	if s.backend == onAWS {
		return time.Now()
	}
	return s.clock.now()
}

// sleep lets d pass.
func (s *testStack) sleep(d time.Duration) {
	if s.backend == onAWS {
		time.Sleep(d)
		return
	}
	s.clock.mu.Lock()
	defer s.clock.mu.Unlock()
	s.clock.t = s.clock.t.Add(d)
}

// newStack creates a fresh table, queue and secret (none when secret is
// empty) on b; on AWS it skips without moto_server.
func newStack(t *testing.T, b backend, secret string) *testStack {
	t.Helper()
	if b == onAWS {
		s := awstest.NewStack(t, "testprov", secret)
		return &testStack{backend: b, Logs: s.Logs, aws: s}
	}
	s := &testStack{backend: b, Logs: &awskit.SyncBuffer{}, table: eventstore.NewMemory(), queue: queue.NewMemory(), secret: &memorySecrets{},
		clock: &testClock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}}
	s.table.SetClock(s.clock.now)
	s.queue.SetClock(s.clock.now)
	if secret != "" {
		s.secret.put(secret)
	}
	return s
}

// handlerConfig changes how a handler is built: faults in front of its
// store and queue, a body limit.
type handlerConfig struct {
	storeFault eventstore.Fault
	queueFault queue.Fault
	maxBody    int
	provider   pipeline.Provider[testSecret] // nil: testProvider
}

// newHandler builds the test provider's handler as a function's main does
// (lambdamain's wiring: the contract's TTL, JSON logs and EMF metrics).
func newHandler(t *testing.T, s *testStack) *pipeline.Handler[testSecret] {
	t.Helper()
	if s.backend == onAWS {
		return awstest.Handler(t, s.aws, pipeline.Provider[testSecret](testProvider{}))
	}
	return s.handlerWith(t, handlerConfig{})
}

// handlerWith is newHandler with cfg.
func (s *testStack) handlerWith(t *testing.T, cfg handlerConfig) *pipeline.Handler[testSecret] {
	t.Helper()
	p := cfg.provider
	if p == nil {
		p = testProvider{}
	}
	var sm secrets.API = s.secret
	var q pipeline.Queue
	now := time.Now
	if s.backend == onAWS {
		sm = s.aws.AWS.Secrets
		var api queue.API = s.aws.AWS.SQS
		if cfg.queueFault != nil {
			api = awstest.FaultySQS(api, cfg.queueFault)
		}
		q = queue.New(api, s.aws.Queue.URL)
	} else {
		q, now = s.queue.WithFault(cfg.queueFault), s.clock.now
	}
	sc := secrets.New(sm, s.secretID(), p.ParseSecret)
	h, err := pipeline.New(p, sc, s.store(cfg.storeFault), q, pipeline.Options{
		EventTTL: pipeline.DefaultEventTTL, MaxBody: cfg.maxBody, Now: now,
		Logger: lambdamain.NewLogger(s.Logs), Metrics: metrics.New(s.Logs, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (s *testStack) secretID() string {
	if s.backend == onAWS {
		return s.aws.SecretID
	}
	return "testprov/secret"
}

// store is a client of the stack's table whose calls meet fault (nil: none).
func (s *testStack) store(fault eventstore.Fault) pipeline.Store {
	if s.backend == onAWS {
		var api eventstore.API = s.aws.AWS.DynamoDB
		if fault != nil {
			api = awstest.FaultyDynamoDB(api, fault)
		}
		return eventstore.New(api, s.aws.Table)
	}
	return s.table.WithFault(fault)
}

// Items returns every item of the table.
func (s *testStack) Items(t *testing.T) []map[string]ddb.AttributeValue {
	t.Helper()
	if s.backend == onAWS {
		return s.aws.Items(t)
	}
	return s.table.Items()
}

// EventItems returns the table's event items (not replay guards or
// markers), by event id, as awstest.EventView shows them.
func (s *testStack) EventItems(t *testing.T) map[string]map[string]ddb.AttributeValue {
	t.Helper()
	out := map[string]map[string]ddb.AttributeValue{}
	for _, raw := range s.Items(t) {
		if id, view, ok := awstest.EventView(raw); ok {
			out[id] = view
		}
	}
	return out
}

// Messages receives (and deletes) every message on the queue, in order.
func (s *testStack) Messages(t *testing.T) []awskit.Message {
	t.Helper()
	if s.backend == onAWS {
		return s.aws.Messages(t)
	}
	var out []awskit.Message
	for _, r := range s.queue.Drain() {
		m := awskit.Message{MessageID: r.MessageID, GroupID: r.GroupID, DeduplicationID: r.DeduplicationID,
			Attributes: r.Attributes, Body: string(r.Body), SentAt: r.SentAt}
		_ = json.Unmarshal(r.Body, &m.Event)
		out = append(out, m)
	}
	return out
}

// putSecret stores value as the secret's AWSCURRENT version (the current
// one becomes AWSPREVIOUS), as a rotation does.
func (s *testStack) putSecret(t *testing.T, value string) {
	t.Helper()
	if s.backend == onAWS {
		if _, err := s.aws.AWS.PutSecret(t.Context(), s.aws.SecretID, value); err != nil {
			t.Fatal(err)
		}
		return
	}
	s.secret.put(value)
}

// deleteQueue deletes the queue: an SQS outage, as the provider sees it.
func (s *testStack) deleteQueue(t *testing.T) {
	t.Helper()
	if s.backend == onAWS {
		if err := s.aws.AWS.DeleteQueue(t.Context(), s.aws.Queue.URL); err != nil {
			t.Fatal(err)
		}
		return
	}
	s.queue.Delete()
}

// recreateQueue creates the deleted queue again, with the stack's settings.
func recreateQueue(t *testing.T, s *testStack) {
	t.Helper()
	if s.backend == onAWS {
		name := strings.TrimSuffix(s.aws.Queue.URL[strings.LastIndex(s.aws.Queue.URL, "/")+1:], ".fifo")
		if _, err := s.aws.AWS.CreateQueue(t.Context(), name); err != nil {
			t.Fatal(err)
		}
		return
	}
	s.queue.Create()
}

// setMaxMessageSize sets the queue's MaximumMessageSize.
func (s *testStack) setMaxMessageSize(t *testing.T, n int) {
	t.Helper()
	if s.backend == onAWS {
		if _, err := s.aws.AWS.SQS.SetQueueAttributes(t.Context(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(s.aws.Queue.URL),
			Attributes: map[string]string{"MaximumMessageSize": fmt.Sprint(n)}}); err != nil {
			t.Fatal(err)
		}
		return
	}
	s.queue.SetMaxMessageSize(n)
}

// deleteItem deletes an item by its key, as an operator (or a restore)
// would, behind the store's back.
func (s *testStack) deleteItem(t *testing.T, pk, sk string) {
	t.Helper()
	if s.backend == onAWS {
		if _, err := s.aws.AWS.DynamoDB.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: &s.aws.Table, Key: map[string]ddb.AttributeValue{
			"pk": &ddb.AttributeValueMemberS{Value: pk}, "sk": &ddb.AttributeValueMemberS{Value: sk},
		}}); err != nil {
			t.Fatal(err)
		}
		return
	}
	s.table.Delete(pk, sk)
}

// quarantineIndex counts the provider's items in the by-quarantine index
// (on AWS, a Query of the index itself).
func (s *testStack) quarantineIndex(t *testing.T, provider string) int {
	t.Helper()
	if s.backend == onAWS {
		found, err := s.aws.AWS.DynamoDB.Query(t.Context(), &dynamodb.QueryInput{
			TableName: aws.String(s.aws.Table), IndexName: aws.String(contract.QuarantineIndex),
			KeyConditionExpression:    aws.String(contract.QuarantineIndexKey + " = :p"),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":p": &ddb.AttributeValueMemberS{Value: provider}},
		})
		if err != nil {
			t.Fatalf("%s index: %v", contract.QuarantineIndex, err)
		}
		return len(found.Items)
	}
	list, err := s.table.Quarantined(t.Context(), provider)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// memorySecrets is a Secrets Manager secret in memory: its versions, the
// newest AWSCURRENT and the one before it AWSPREVIOUS, each with its id and
// creation date.
type memorySecrets struct {
	mu       sync.Mutex
	versions []memoryVersion
	calls    map[string]int   // GetSecretValue calls by stage
	fail     map[string]error // stage -> the error its reads return
}

type memoryVersion struct {
	id, value string
	created   time.Time
}

func (m *memorySecrets) put(value string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	m.mu.Lock()
	defer m.mu.Unlock()
	m.versions = append(m.versions, memoryVersion{id: fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:]), value: value, created: time.Now()})
}

func (m *memorySecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls = map[string]int{}
	}
	m.calls[aws.ToString(in.VersionStage)]++
	if err := m.fail[aws.ToString(in.VersionStage)]; err != nil {
		return nil, err
	}
	back := map[string]int{secrets.StageCurrent: 1, secrets.StagePrevious: 2}[aws.ToString(in.VersionStage)]
	if back == 0 || len(m.versions) < back {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value for staging label: " + aws.ToString(in.VersionStage))}
	}
	v := m.versions[len(m.versions)-back]
	return &secretsmanager.GetSecretValueOutput{Name: in.SecretId, VersionId: aws.String(v.id), SecretString: aws.String(v.value),
		CreatedDate: aws.Time(v.created), VersionStages: []string{aws.ToString(in.VersionStage)}}, nil
}

// scenario is a test of the pipeline that also proves the AWS calls: it
// runs in memory as its own test, and on moto_server in TestScenariosOnAWS.
type scenario struct {
	name string
	run  func(t *testing.T, b backend)
}

// scenarios are every such test, in the order they are declared.
var scenarios []scenario

// register adds a scenario and returns its in-memory run, for its test.
func register(name string, run func(t *testing.T, b backend)) func(t *testing.T, b backend) {
	scenarios = append(scenarios, scenario{name, run})
	return run
}

// TestScenariosOnAWS runs every scenario on moto_server: the calls the
// pipeline makes, as DynamoDB, SQS and Secrets Manager answer them. Without
// moto_server (or with -short) it is skipped as a whole (CI=true: the run
// fails instead); the same scenarios have run in memory.
func TestScenariosOnAWS(t *testing.T) {
	awstest.Endpoint(t)
	if len(scenarios) < 20 {
		t.Fatalf("only %d scenarios registered", len(scenarios))
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, onAWS) })
	}
}
