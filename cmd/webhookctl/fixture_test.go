package main

// The test fixture: every provider's real handler on one table of moto_server,
// each with its own FIFO queue and dead-letter queue, behind a minimal
// implementation of the Lambda Invoke API (an httptest server: the local run's
// own Invoke API is another part of the product). A target is either the
// make run's state file or a CloudFormation stack in moto whose outputs name
// the same resources.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"webhooks/infra/spec"
	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
	"webhooks/shared/contract"
	"webhooks/shared/lambdamain"
	"webhooks/shared/pipeline"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const eventsDir = "../../events"

// ctl runs webhookctl in-process.
func ctl(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

// mustCtl runs webhookctl and fails the test unless it exits 0.
func mustCtl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := ctl(args...)
	if code != 0 {
		t.Fatalf("webhookctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

type fixture struct {
	aws    *awskit.Env
	name   string
	table  string
	queues map[string]awskit.Queue // by provider
	state  string                  // the make run's state file
	logs   *awskit.SyncBuffer

	handlers map[string]lambda.Handler // by provider
	mu       sync.Mutex
	fns      map[string]lambda.Handler // by function name
	deployed map[string]bool           // functions of the deployed stack: served only through spec.LiveAlias
	invoked  []string                  // function names, in order
	srv      *httptest.Server
}

// newFixture creates the resources of every provider and their handlers.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	endpoint := awstest.Endpoint(t)
	ctx := t.Context()
	env, err := awskit.NewEnv(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		aws: env, name: awskit.Unique("ctl"), queues: map[string]awskit.Queue{},
		logs: &awskit.SyncBuffer{}, handlers: map[string]lambda.Handler{}, fns: map[string]lambda.Handler{}, deployed: map[string]bool{},
	}
	f.table = f.name + "-events"
	if err := env.CreateTable(ctx, f.table); err != nil {
		t.Fatal(err)
	}
	log := lambdamain.NewLogger(f.logs)
	for _, k := range kits.All {
		q, err := env.CreateQueue(ctx, f.name+"-"+k.Name)
		if err != nil {
			t.Fatal(err)
		}
		f.queues[k.Name] = q
		secretID := f.name + "/" + k.Name
		if _, err := env.PutSecret(ctx, secretID, awstest.DevSecret(t, eventsDir, k.Name, nil)); err != nil {
			t.Fatal(err)
		}
		lenv, err := lambdamain.LoadEnv(func(key string) string {
			return map[string]string{
				contract.EnvTable: f.table, contract.EnvQueueURL: q.URL, contract.EnvSecretID: secretID, contract.EnvEventTTL: "720h",
			}[key]
		})
		if err != nil {
			t.Fatal(err)
		}
		h, err := k.Handler(ctx, lenv, log, f.logs)
		if err != nil {
			t.Fatal(err)
		}
		f.handlers[k.Name] = h
		f.fns[k.Name] = h // the local run names each function after its provider
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveInvoke))
	t.Cleanup(f.srv.Close)

	st := localrun.State{
		Gateway: f.srv.URL, Table: f.table, Queues: map[string]string{}, DLQs: map[string]string{},
		AWS: localrun.AWSEnv{Endpoint: endpoint, Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test"},
	}
	for name, q := range f.queues {
		st.Queues[name], st.DLQs[name] = q.URL, q.DLQURL
	}
	f.state = filepath.Join(t.TempDir(), "local.json")
	if err := localrun.WriteState(f.state, st); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvStack, "")
	return f
}

// serveInvoke is the Lambda Invoke API, minimally: POST
// /2015-03-31/functions/<name>/invocations runs the handler with the body as
// its payload; a handler error is answered 200 with X-Amz-Function-Error, as
// Lambda does.
func (f *fixture) serveInvoke(w http.ResponseWriter, r *http.Request) {
	const prefix, suffix = "/2015-03-31/functions/", "/invocations"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, suffix) {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), suffix)
	f.mu.Lock()
	h := f.fns[name]
	f.invoked = append(f.invoked, name)
	deployed := f.deployed[name]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if q := r.URL.Query().Get("Qualifier"); deployed && q != spec.LiveAlias {
		// The deployed stack serves its functions through their live alias; $LATEST may be
		// a version a canary is still judging.
		w.Header().Set("X-Amzn-Errortype", "InvalidParameterValueException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"Type":"User","message":"`+name+` invoked with qualifier `+strconv.Quote(q)+`, not the live alias"}`)
		return
	}
	if h == nil {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"Type":"User","message":"Function not found: `+name+`"}`)
		return
	}
	if it := r.Header.Get("X-Amz-Invocation-Type"); it != "" && it != "RequestResponse" {
		http.Error(w, "only RequestResponse", http.StatusBadRequest)
		return
	}
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	// As lambda.Start serves the handler (lambdamain.Main): a function error
	// is the runtime's {"errorMessage", "errorType"}.
	out, err := pipeline.LambdaHandler(h).Invoke(ctx, payload)
	if err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		b, _ := json.Marshal(err)
		_, _ = w.Write(b)
		return
	}
	_, _ = w.Write(out)
}

func (f *fixture) invocations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.invoked...)
}

// localTarget selects the make run.
func (f *fixture) localTarget() []string { return []string{"-state", f.state} }

// stackTarget creates a CloudFormation stack in moto whose outputs name the
// fixture's table, queues and (differently named) functions, points the
// Lambda client at the Invoke API, and returns the flags that select it.
func (f *fixture) stackTarget(t *testing.T) []string {
	t.Helper()
	outputs := map[string]any{contract.OutputTable: map[string]string{"Value": f.table}}
	for _, k := range kits.All {
		fn := f.name + "-" + k.Title + "Function"
		f.mu.Lock()
		f.fns[fn] = f.handlers[k.Name]
		f.deployed[fn] = true
		f.mu.Unlock()
		outputs[k.Title+contract.OutputFunctionName] = map[string]string{"Value": fn}
		outputs[k.Title+contract.OutputQueueURL] = map[string]string{"Value": f.queues[k.Name].URL}
		outputs[k.Title+contract.OutputDeadLetterQueueURL] = map[string]string{"Value": f.queues[k.Name].DLQURL}
	}
	stack := f.name + "-stack"
	createStack(t, f.aws, stack, outputs)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", f.srv.URL)
	return []string{"-stack", stack, "-region", "us-east-1"}
}

func createStack(t *testing.T, env *awskit.Env, name string, outputs map[string]any) {
	t.Helper()
	tpl, err := json.Marshal(map[string]any{
		"Resources": map[string]any{"Placeholder": map[string]any{
			"Type": "AWS::SQS::Queue", "Properties": map[string]string{"QueueName": name + "-placeholder"},
		}},
		"Outputs": outputs,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfn := cloudformation.NewFromConfig(env.Config)
	if _, err := cfn.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(string(tpl))}); err != nil {
		t.Fatalf("create stack in moto: %v", err)
	}
}

// deliver runs a webhook through a provider's handler and returns the event
// id and outcome it answered.
func (f *fixture) deliver(t *testing.T, provider string, ev events.APIGatewayV2HTTPRequest) (id, outcome string, status int) {
	t.Helper()
	res := awstest.Invoke(t, f.handlers[provider], ev)
	return res.Headers[contract.HeaderEventID], res.Headers[contract.HeaderOutcome], res.StatusCode
}

// signed is a webhook of the provider with this body, signed now by
// webhookctl sign (-format event).
func signedEvent(t *testing.T, args ...string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	out := mustCtl(t, append([]string{"sign", "-secrets", eventsDir + "/dev-secrets.json", "-format", "event", "-url", "http://gateway.test"}, args...)...)
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("sign -format event: %v\n%s", err, out)
	}
	return ev
}
