package stack

// Least privilege, exercised (docs/LOCAL.md): each receiver runs with the
// credentials of an IAM user whose policy is its role's policy from the
// template, on a moto_server that enforces IAM, through every path that calls
// AWS: webhooks (new, duplicate, quarantined), a send refused and redriven,
// the replay, the sweep, the reprocess. A missing action fails a call; a call
// outside a statement's condition (which moto does not evaluate) fails the
// condition evaluator (iampolicy_test.go); an action no path uses fails as
// more than least.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/infra/spec"
	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
	"webhooks/shared/contract"
	"webhooks/shared/lambdamain"
	"webhooks/shared/pipeline"
)

// refusedAction is the action the negative check takes away: the webhook
// that needs it must fail (5xx), and the redrive must send it once the action
// is back.
const refusedAction = "sqs:SendMessage"

func TestFunctionsRunWithTheirRolesPolicy(t *testing.T) {
	needsSynth(t)
	moto := awstest.MotoOrSkipWith(t, awskit.MotoOptions{Env: awskit.IAMEnforced()})
	ctx := context.Background()
	admin, err := awskit.CreateAdmin(ctx, moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	adminKeys, err := admin.Config.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir() // no binaries: the resources only; the handlers run in-process
	stack, err := localrun.Start(ctx, localrun.Config{
		SecretsFile: filepath.Join("..", "..", "events", "dev-secrets.json"),
		BinDir:      bin,
		AWS:         localrun.AWSEnv{Endpoint: moto.Endpoint, AccessKeyID: adminKeys.AccessKeyID, SecretAccessKey: adminKeys.SecretAccessKey},
		Emulator:    filepath.Join(bin, "no-emulator"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Stop()
	// The functions' calls go through a recording proxy: IAM refusals are read
	// there, and the calls are checked against the statements' conditions.
	calls, err := awskit.NewCalls(moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer calls.Close()

	local, own, arns := localResources(t, ctx, stack)
	for _, p := range Providers {
		t.Run(p.Name, func(t *testing.T) {
			r := &roleRun{t: t, ctx: ctx, admin: admin, stack: stack, calls: calls, provider: p.Name, endpoint: calls.Endpoint, arns: arns}
			fn := dflt.resources("AWS::Lambda::Function")[FunctionLogicalID(p)]
			roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			var dropped, problems []string
			r.stmts, r.policy, dropped, problems = localPolicy(dflt.policyStatements(roleID), local, own[p.Name])
			for _, pr := range problems {
				t.Error(pr)
			}
			for _, d := range dropped {
				t.Logf("not exercised: %s", d)
			}
			if t.Failed() {
				return
			}
			r.run()
		})
	}
}

// localResources maps the template's tables, queues and secrets to the local
// stack's (Ref and GetAtt Arn values), lists each provider's own ARNs by
// service (the resources its function's environment names), and maps the
// names and URLs requests give to ARNs.
func localResources(t *testing.T, ctx context.Context, s *localrun.Stack) (map[string]localResource, map[string]map[string][]string, map[string]string) {
	t.Helper()
	td, err := s.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table)})
	if err != nil {
		t.Fatal(err)
	}
	tableARN := aws.ToString(td.Table.TableArn)
	local := map[string]localResource{}
	own := map[string]map[string][]string{}
	arns := map[string]string{s.Table: tableARN}
	for id := range dflt.resources("AWS::DynamoDB::Table") {
		if strings.HasPrefix(id, "EventStore") {
			local[id] = localResource{ref: s.Table, arn: tableARN}
		}
	}
	for _, pv := range Providers {
		lp := s.Providers[pv.Name]
		dlq, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(lp.DLQURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		sec, err := s.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(lp.SecretID)})
		if err != nil {
			t.Fatal(err)
		}
		for id := range dflt.resources("AWS::SQS::Queue") {
			switch {
			case !strings.HasPrefix(id, pv.Title):
			case strings.Contains(id, "DeadLetterQueue"):
				local[id] = localResource{ref: lp.DLQURL, arn: dlq.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}
			default:
				local[id] = localResource{ref: lp.QueueURL, arn: lp.QueueARN}
			}
		}
		for id := range dflt.resources("AWS::SecretsManager::Secret") {
			if strings.HasPrefix(id, pv.Title) {
				local[id] = localResource{ref: aws.ToString(sec.ARN), arn: aws.ToString(sec.ARN)}
			}
		}
		own[pv.Name] = map[string][]string{"dynamodb": {tableARN}, "sqs": {lp.QueueARN}, "secretsmanager": {aws.ToString(sec.ARN)}}
		arns[lp.QueueURL], arns[lp.SecretID] = lp.QueueARN, aws.ToString(sec.ARN)
	}
	return local, own, arns
}

// roleRun is one provider's function run with its role's policy.
type roleRun struct {
	t        *testing.T
	ctx      context.Context
	admin    *awskit.Env
	stack    *localrun.Stack
	calls    *awskit.Calls
	provider string
	endpoint string
	stmts    []map[string]any  // the role's exercised statements, resolved, conditions kept
	arns     map[string]string // the local resources' names and URLs → their ARNs
	policy   string            // what moto enforces
	handler  lambda.Handler
	logs     *awskit.SyncBuffer
	used     map[string]bool // actions called
	keys     map[string]bool // kinds of leading key read or written
}

func (r *roleRun) run() {
	t := r.t
	user := r.provider + "-function"
	creds, err := r.admin.CreateUser(r.ctx, user, r.policy)
	if err != nil {
		t.Fatal(err)
	}
	kit, err := kits.Get(r.provider)
	if err != nil {
		t.Fatal(err)
	}
	fnEnv := r.stack.FunctionEnv(r.stack.Providers[r.provider])
	env, err := lambdamain.LoadEnv(func(k string) string { return fnEnv[k] })
	if err != nil {
		t.Fatal(err)
	}
	// The handler its Lambda main builds, with the user's keys instead of the role's.
	r.logs = &awskit.SyncBuffer{}
	r.handler, err = kit.Handler(r.ctx, env, lambdamain.NewLogger(r.logs), r.logs, awskit.SDKOptions(r.endpoint, creds)...)
	if err != nil {
		t.Fatal(err)
	}
	r.used, r.keys = map[string]bool{}, map[string]bool{}
	defer func() {
		if t.Failed() {
			t.Logf("function log:\n%s", r.logs.String())
		}
	}()
	var accepted []devkit.Sample
	for _, s := range awstest.Samples(t, filepath.Join("..", "..", "events"), r.provider, 1) {
		if s.ExpectAccepted() {
			accepted = append(accepted, s)
		}
	}
	queueURL := r.stack.Providers[r.provider].QueueURL
	start := time.Now()

	// A send the policy does not allow: the webhook fails (the provider will
	// retry) and the event waits for the redrive. The first sample, on a table
	// holding nothing of this provider yet, so it is new and must be sent.
	if err := r.admin.PutUserPolicy(r.ctx, user, withoutAction(r.stmts, refusedAction)); err != nil {
		t.Fatal(err)
	}
	res := r.webhook(accepted[0])
	refused := r.takeCalls(true)
	var denied []string
	for _, c := range refused {
		if c.Denied() {
			denied = append(denied, fmt.Sprintf("%s: HTTP %d %s: %s", c.Action, c.Status, c.Code, c.Message))
		}
	}
	t.Logf("without %s: %s answered %d; refused calls: %v", refusedAction, accepted[0].Name, res.StatusCode, denied)
	if res.StatusCode < 500 || len(denied) != 1 || !strings.HasPrefix(denied[0], refusedAction+":") {
		t.Fatalf("without %s, %s was answered %d %s with refused calls %v: want a 5xx and the one refusal", refusedAction, accepted[0].Name, res.StatusCode, res.Body, denied)
	}
	if err := r.admin.PutUserPolicy(r.ctx, user, r.policy); err != nil {
		t.Fatal(err)
	}
	var rd pipeline.RedriveResult
	r.command(`{"redrive":{"olderThan":"0s"}}`, &rd)
	if rd.Found != 1 || rd.Sent != 1 || rd.Failed != 0 {
		t.Errorf("redrive once %s is allowed again: %+v, want the refused event found and sent", refusedAction, rd)
	}
	r.takeCalls(false)

	// Every accepted sample, each delivered twice in a row: the second is a
	// duplicate (an immediate redelivery of an entity's latest state, too).
	queued := 1 // the redriven event
	var quarantined []string
	for _, s := range accepted {
		for delivery := range 2 {
			res := r.webhook(s)
			outcome := contract.Outcome(res.Headers[contract.HeaderOutcome])
			switch {
			case res.StatusCode != 200:
				t.Errorf("%s, delivery %d: answered %d %s", s.Name, delivery+1, res.StatusCode, res.Body)
			case delivery == 1 && outcome == contract.Accepted:
				t.Errorf("%s, delivered again: accepted again", s.Name)
			case outcome == contract.Accepted:
				queued++
			case outcome == contract.Quarantined && delivery == 0:
				quarantined = append(quarantined, res.Headers[contract.HeaderEventID])
			}
		}
	}
	r.expectMessages(queueURL, queued, "the redriven and the accepted events")
	r.takeCalls(false)

	var rp pipeline.ReplayResult
	r.command(fmt.Sprintf(`{"replay":{"from":%q,"to":%q}}`, start.Add(-time.Minute).UTC().Format(time.RFC3339), time.Now().Add(time.Minute).UTC().Format(time.RFC3339)), &rp)
	if rp.Matched != queued || rp.Sent != queued || rp.Failed != 0 {
		t.Errorf("replay: %+v, want %d matched and sent", rp, queued)
	}
	for _, m := range r.expectMessages(queueURL, queued, "the replay") {
		if m.Event.ReplayID != rp.ReplayID {
			t.Errorf("replayed message %s has replayid %q, want %q", m.Event.ID, m.Event.ReplayID, rp.ReplayID)
		}
	}
	r.takeCalls(false)

	// The runs the stack schedules: the markers' query, and the sweep's scan.
	for _, run := range []spec.RedriveRun{spec.DefaultRedrive, spec.DefaultRedriveSweep} {
		cmd, err := json.Marshal(run.Command())
		if err != nil {
			t.Fatal(err)
		}
		var rd pipeline.RedriveResult
		r.command(string(cmd), &rd)
		if rd.Found != 0 || rd.Failed != 0 || rd.SweepIncomplete {
			t.Errorf("%s: %+v, want nothing found (everything is queued) and the whole table read", cmd, rd)
		}
		r.takeCalls(false)
	}

	// The quarantined samples' cause is not fixed: re-processing keeps them quarantined.
	for _, id := range quarantined {
		var rr pipeline.ReprocessResult
		r.command(fmt.Sprintf(`{"reprocess":{"eventId":%q}}`, id), &rr)
		if rr.Status != "quarantined" {
			t.Errorf("reprocess %s: %+v, want still quarantined", id, rr)
		}
		r.takeCalls(false)
	}

	// Least: every action the role grants was needed by some call.
	for _, a := range grantedActions(r.stmts) {
		if !r.used[a] {
			t.Errorf("the role grants %s and no path of the function used it", a)
		}
	}
	t.Logf("%d webhooks, %d queued, %d quarantined; actions used: %v; leading keys: %v", 2*len(accepted)+1, queued, len(quarantined),
		slices.Sorted(maps.Keys(r.used)), slices.Sorted(maps.Keys(r.keys)))
}

// keyKinds records the kinds of leading key a call used ("tiki#<event id>",
// "tiki#unsent", "tiki#<entity prefix>", ...), for the log: what the LeadingKeys
// evaluation covered.
func (r *roleRun) keyKinds(c awskit.Call) {
	ctx, err := callContext(c)
	if err != nil {
		return
	}
	for _, k := range ctx["dynamodb:LeadingKeys"] {
		rest, ok := strings.CutPrefix(k, r.provider+"#")
		if !ok {
			r.keys[k] = true // also an error of checkCall's
			continue
		}
		kind, _, nested := strings.Cut(rest, "#")
		switch {
		case nested:
			kind += "#…"
		case kind != "unsent" && kind != "sweep":
			kind = "<event id>"
		}
		r.keys[r.provider+"#"+kind] = true
	}
}

// webhook sends a sample through the handler, as API Gateway would.
func (r *roleRun) webhook(s devkit.Sample) events.APIGatewayV2HTTPResponse {
	r.t.Helper()
	raw, err := json.Marshal(s.Event)
	if err != nil {
		r.t.Fatal(err)
	}
	out, err := r.invoke(raw)
	if err != nil {
		r.t.Fatalf("%s: %v", s.Name, err)
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		r.t.Fatalf("%s: response %s: %v", s.Name, out, err)
	}
	return res
}

// command runs an operator command (a direct invocation) and decodes its reply.
func (r *roleRun) command(cmd string, reply any) {
	r.t.Helper()
	out, err := r.invoke([]byte(cmd))
	if err != nil {
		r.t.Fatalf("%s: %v", cmd, err)
	}
	if err := json.Unmarshal(out, reply); err != nil {
		r.t.Fatalf("%s: reply %s: %v", cmd, out, err)
	}
}

// invoke runs the handler within the function's timeout, as Lambda would.
func (r *roleRun) invoke(payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(r.ctx, spec.FunctionTimeout)
	defer cancel()
	return r.handler.Invoke(ctx, payload)
}

// takeCalls checks the calls made since the last take: none refused by IAM
// (unless refusals are expected) and each within a statement's resource and
// condition. Each problem is reported once, with its count and first request.
func (r *roleRun) takeCalls(refusalsExpected bool) []awskit.Call {
	r.t.Helper()
	list := r.calls.Take()
	type problem struct {
		n     int
		first string
	}
	problems := map[string]*problem{}
	var order []string
	report := func(what string, c awskit.Call) {
		if p := problems[what]; p != nil {
			p.n++
			return
		}
		problems[what] = &problem{n: 1, first: string(c.Request)}
		order = append(order, what)
	}
	for _, c := range list {
		switch {
		case c.Code == "InvalidClientTokenId" || c.Code == "SignatureDoesNotMatch" || c.Code == "MissingAuthenticationToken":
			report(fmt.Sprintf("%s: not authenticated: %s %s", c.Action, c.Code, c.Message), c)
		case c.Denied():
			if !refusalsExpected {
				report(fmt.Sprintf("%s refused by the role's policy: %s", c.Action, c.Message), c)
			}
		default:
			if why := checkCall(c, r.stmts, r.arns); why != "" {
				report(fmt.Sprintf("%s outside the role's policy: %s", c.Action, why), c)
			}
			r.used[c.Action] = true
			r.keyKinds(c)
		}
	}
	for _, what := range order {
		p := problems[what]
		r.t.Errorf("%s (%d calls; the first: %s)", what, p.n, p.first)
	}
	return list
}

// expectMessages drains the queue (as the administrator) and checks it held n messages.
func (r *roleRun) expectMessages(url string, n int, what string) []awskit.Message {
	r.t.Helper()
	msgs, err := r.admin.Drain(r.ctx, url)
	if err != nil {
		r.t.Fatal(err)
	}
	if len(msgs) != n {
		r.t.Errorf("%s: %d messages on the queue, want %d", what, len(msgs), n)
	}
	return msgs
}
