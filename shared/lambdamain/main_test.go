package lambdamain_test

// Main as Lambda runs it: this test binary, started again as a function's
// bootstrap (lambdamain.Main with the Tiki provider, as functions/tiki does),
// talks to a stand-in for the Lambda Runtime API through aws-lambda-go's own
// runtime client, against moto_server. What the function posts back is what
// Lambda answers the caller: the reply, or the function error
// {"errorMessage", "errorType"}.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/contract"
	"webhooks/shared/lambdamain"
	"webhooks/shared/providers/tiki"
)

// bootstrapEnv, set in the environment, makes the test binary the bootstrap.
const bootstrapEnv = "LAMBDAMAIN_TEST_BOOTSTRAP"

func TestMain(m *testing.M) {
	if os.Getenv(bootstrapEnv) == "tiki" {
		lambdamain.Main(tiki.New()) // never returns
	}
	awstest.Main(m)
}

// runtimeAPI stands in for the Lambda Runtime API (2018-06-01): it hands out
// one invocation per GET .../next and collects what the runtime posts back.
type runtimeAPI struct {
	next    chan string // payloads to hand out
	results chan invocationResult
	done    chan struct{}
	seq     atomic.Int64
}

type invocationResult struct {
	id, kind string // kind: "response" or "error"
	body     []byte
}

func (api *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/invocation/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	switch {
	case ok && rest == "next" && r.Method == http.MethodGet:
		select {
		case payload := <-api.next:
			id := fmt.Sprintf("req-%d", api.seq.Add(1))
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:tiki")
			_, _ = io.WriteString(w, payload)
		case <-api.done:
			http.Error(w, "test over", http.StatusGone)
		}
	case ok && r.Method == http.MethodPost && (strings.HasSuffix(rest, "/response") || strings.HasSuffix(rest, "/error")):
		id, kind, _ := strings.Cut(rest, "/")
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		select {
		case api.results <- invocationResult{id: id, kind: kind, body: body}:
		case <-api.done:
		}
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

// invoke hands payload to the function and waits for its answer.
func (api *runtimeAPI) invoke(t *testing.T, payload string) invocationResult {
	t.Helper()
	select {
	case api.next <- payload:
	case <-time.After(60 * time.Second): // a bound on a hang, not a timing
		t.Fatalf("the bootstrap never asked for %s", payload)
	}
	select {
	case res := <-api.results:
		return res
	case <-time.After(60 * time.Second):
		t.Fatalf("no answer to %s", payload)
	}
	return invocationResult{}
}

// An operator command the function refuses, or that fails, reaches the
// caller as a function error whose errorType is one of the contract's stable
// types — never the Go type name aws-lambda-go derives by reflection
// (wrapError, InvalidCommandError, errorString) — and whose errorMessage is
// readable. A webhook and a valid command are answered as before.
func TestOperatorCommandErrorsOnTheWire(t *testing.T) {
	endpoint := awstest.Endpoint(t)
	ctx := t.Context()
	env, err := awskit.NewEnv(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	name := awskit.Unique("lmain")
	if err := env.CreateTable(ctx, name+"-events"); err != nil {
		t.Fatal(err)
	}
	q, err := env.CreateQueue(ctx, name+"-tiki")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.PutSecret(ctx, name+"/tiki", awstest.DevSecret(t, "../../events", "tiki", nil)); err != nil {
		t.Fatal(err)
	}

	api := &runtimeAPI{next: make(chan string), results: make(chan invocationResult), done: make(chan struct{})}
	srv := httptest.NewServer(api)
	defer srv.Close()
	defer close(api.done)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var logs awskit.SyncBuffer
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), // the AWS endpoint and credentials awstest.Main set
		bootstrapEnv+"=tiki",
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"),
		contract.EnvTable+"="+name+"-events",
		contract.EnvQueueURL+"="+q.URL,
		contract.EnvSecretID+"="+name+"/tiki",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_ENDPOINT_URL="+endpoint,
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("bootstrap output:\n%s", logs.String())
		}
	}()

	// A webhook: the function's HTTP response, not an error.
	sample, err := os.ReadFile("../../events/tiki/order-processing.json")
	if err != nil {
		t.Fatal(err)
	}
	res := api.invoke(t, string(sample))
	var http2 struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(res.body, &http2); res.kind != "response" || err != nil || http2.StatusCode != 200 {
		t.Fatalf("webhook: %s %s (%v)", res.kind, res.body, err)
	}
	queued := http2.Headers[contract.HeaderEventID]

	for _, c := range []struct{ payload, errorType, message string }{
		{`{"reprocess":{"eventId":"` + queued + `"}}`, contract.ErrorAlreadyQueued, queued},
		{`{"reprocess":{"eventId":"does-not-exist"}}`, contract.ErrorEventNotFound, "does-not-exist"},
		{`{"reprocess":{}}`, contract.ErrorInvalidCommand, "eventId is required"},
		{`{"redrive":{"olderThan":"soon"}}`, contract.ErrorInvalidCommand, `olderThan "soon"`},
		{`{"replay":{"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z","types":["nope"]}}`, contract.ErrorInvalidCommand, `type "nope"`},
		{`{"purge":{}}`, contract.ErrorInvalidCommand, `unknown command "purge"`},
	} {
		res := api.invoke(t, c.payload)
		var fe struct {
			Message string `json:"errorMessage"`
			Type    string `json:"errorType"`
		}
		if err := json.Unmarshal(res.body, &fe); res.kind != "error" || err != nil {
			t.Errorf("%s: %s %s (%v), want a function error", c.payload, res.kind, res.body, err)
			continue
		}
		if fe.Type != c.errorType || !strings.Contains(fe.Message, c.message) {
			t.Errorf("%s: errorType %q, errorMessage %q; want %s and a message naming %q", c.payload, fe.Type, fe.Message, c.errorType, c.message)
		}
	}

	// A valid command: its reply.
	res = api.invoke(t, `{"redrive":{"olderThan":"0s"}}`)
	if res.kind != "response" || !strings.Contains(string(res.body), `"found":0`) {
		t.Errorf("redrive: %s %s", res.kind, res.body)
	}
}
