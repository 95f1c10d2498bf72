package localrun

// The Lambda Invoke API against a real function: tiki's bootstrap built for
// this host, under the emulator, against moto_server, invoked through the
// gateway as `aws lambda invoke --endpoint-url` does, and with the AWS CLI
// itself when it is installed.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
)

func TestInvokeAPIRunsTheRealFunction(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server and the emulator: not in -short mode")
	}
	moto := awstest.MotoOrSkip(t)
	emulator := emulatorOrSkip(t)
	bin := t.TempDir()
	if _, err := BuildFunctions(repoRoot, bin, "tiki"); err != nil {
		t.Fatal(err)
	}
	logs := &functionLogs{bufs: map[string]*bytes.Buffer{}}
	gwLog := &awskit.SyncBuffer{}
	stack, err := Start(context.Background(), Config{
		SecretsFile:    filepath.Join(repoRoot, "events", "dev-secrets.json"),
		BinDir:         bin,
		Prefix:         "invokeapi",
		AWS:            AWSEnv{Endpoint: moto.Endpoint},
		Emulator:       emulator,
		FunctionOutput: logs.writer,
		GatewayLog:     gwLog,
		Timeout:        10 * time.Second,
	})
	if err != nil {
		t.Fatalf("localrun.Start: %v", err)
	}
	defer func() {
		pids := stack.Pids()
		stack.Stop()
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				t.Errorf("process %d still running after Stop", pid)
			}
		}
	}()
	defer func() {
		if t.Failed() {
			t.Logf("---- tiki output ----\n%s\n---- gateway ----\n%s", logs.snapshot()["tiki"], gwLog.String())
		}
	}()
	srv := httptest.NewServer(stack.Gateway)
	defer srv.Close()

	invoke := func(t *testing.T, function, payload string, h http.Header) (*http.Response, string) {
		t.Helper()
		return do(t, "POST", srv.URL+InvokePath(function), []byte(payload), h)
	}

	t.Run("an invalid command is a function error with a readable message", func(t *testing.T) {
		resp, body := invoke(t, "tiki", `{"reprocess":{"eventId":"does-not-exist"}}`, nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || resp.Header.Get("X-Amz-Executed-Version") != "$LATEST" {
			t.Fatalf("got %d %v %s", resp.StatusCode, resp.Header, body)
		}
		var fe struct {
			Type    string `json:"errorType"`
			Message string `json:"errorMessage"`
		}
		if err := json.Unmarshal([]byte(body), &fe); err != nil || fe.Type == "" || !strings.Contains(fe.Message, "does-not-exist") || !strings.Contains(fe.Message, "not found") {
			t.Errorf("body %s: want {errorType, errorMessage} naming the event and saying it is not found", body)
		}
		// The id the caller gets is the invocation's, on the function's START line.
		id := resp.Header.Get("X-Amzn-RequestId")
		if id == "" || !strings.Contains(logs.snapshot()["tiki"], "START RequestId: "+id) {
			t.Errorf("request id %q is not on a START line of the function's log", id)
		}
	})

	t.Run("an API Gateway event returns the function's HTTP response", func(t *testing.T) {
		event, err := os.ReadFile(filepath.Join(repoRoot, "events", "tiki", "order-processing.json"))
		if err != nil {
			t.Fatal(err)
		}
		resp, body := invoke(t, "arn:aws:lambda:us-east-1:123456789012:function:tiki", string(event), nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" {
			t.Fatalf("got %d %v %s", resp.StatusCode, resp.Header, body)
		}
		var r events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if r.StatusCode != 200 || r.Headers["X-Webhook-Outcome"] != "accepted" || r.Headers["X-Webhook-Event-Type"] != "tiki.order.status_changed" {
			t.Errorf("HTTP response %+v", r)
		}
	})

	t.Run("unknown and unbuilt functions", func(t *testing.T) {
		resp, body := invoke(t, "nope", `{}`, nil)
		checkAPIError(t, resp, body, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope")
		resp, body = invoke(t, "apigift", `{}`, nil)
		checkStatus(t, "apigift (not built)", resp, body, 502, "ResourceNotReadyException")
	})

	t.Run("Event runs in the background", func(t *testing.T) {
		resp, body := invoke(t, "tiki", `{"reprocess":{"eventId":"also-missing"}}`, http.Header{"X-Amz-Invocation-Type": {"Event"}})
		if resp.StatusCode != 202 {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a bound on a hang, not a timing
		defer cancel()
		if n := stack.Gateway.Drain(ctx); n != 0 {
			t.Fatalf("%d Event invocations still running", n)
		}
		want := "Event invocation " + resp.Header.Get("X-Amzn-RequestId") + ": function error"
		if l := gwLog.String(); !strings.Contains(l, want) || !strings.Contains(l, "also-missing") {
			t.Errorf("gateway log lacks %q:\n%s", want, l)
		}
	})

	t.Run("aws lambda invoke", func(t *testing.T) {
		cli := awsCLIOrSkip(t)
		dir := t.TempDir()
		// Version 2 takes a blob as base64 unless told otherwise; version 1 sends
		// it raw and does not know the option.
		raw := []string{"--cli-binary-format", "raw-in-base64-out"}
		if v, _, _ := runAWSCLI(t, cli, dir, "--version"); strings.HasPrefix(v, "aws-cli/1.") {
			raw = nil
		}
		out := filepath.Join(dir, "out.json")
		type result struct {
			StatusCode      int
			FunctionError   string
			ExecutedVersion string
		}
		invokeCLI := func(t *testing.T, wantExit int, args ...string) (result, string) {
			t.Helper()
			os.Remove(out)
			argv := append(append([]string{"lambda", "invoke", "--endpoint-url", srv.URL}, raw...), args...)
			stdout, stderr, code := runAWSCLI(t, cli, dir, argv...)
			if code != wantExit {
				t.Fatalf("aws %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), code, wantExit, stdout, stderr)
			}
			var r result
			if wantExit == 0 {
				if err := json.Unmarshal([]byte(stdout), &r); err != nil {
					t.Fatalf("aws output %q: %v", stdout, err)
				}
			}
			return r, stderr
		}
		readOut := func(t *testing.T) string {
			t.Helper()
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}

		r, _ := invokeCLI(t, 0, "--function-name", "tiki", "--payload", `{"reprocess":{"eventId":"does-not-exist"}}`, out)
		if r.StatusCode != 200 || r.FunctionError != "Unhandled" || r.ExecutedVersion != "$LATEST" {
			t.Errorf("reprocess: %+v", r)
		}
		if got := readOut(t); !strings.Contains(got, `"errorMessage"`) || !strings.Contains(got, "does-not-exist") {
			t.Errorf("out.json %s", got)
		}

		sample, _ := filepath.Abs(filepath.Join(repoRoot, "events", "tiki", "order-canceled.json"))
		r, _ = invokeCLI(t, 0, "--function-name", "arn:aws:lambda:us-east-1:123456789012:function:tiki", "--qualifier", "$LATEST",
			"--payload", "file://"+sample, out)
		if r.StatusCode != 200 || r.FunctionError != "" {
			t.Errorf("API Gateway event: %+v", r)
		}
		var http2 events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal([]byte(readOut(t)), &http2); err != nil || http2.StatusCode != 200 || http2.Headers["X-Webhook-Outcome"] != "accepted" {
			t.Errorf("out.json %s (%v)", readOut(t), err)
		}

		r, _ = invokeCLI(t, 0, "--function-name", "tiki", "--invocation-type", "DryRun", "--payload", `{}`, out)
		if r.StatusCode != 204 {
			t.Errorf("DryRun: %+v", r)
		}
		r, _ = invokeCLI(t, 0, "--function-name", "tiki", "--invocation-type", "Event", "--payload", `{"reprocess":{"eventId":"does-not-exist"}}`, out)
		if r.StatusCode != 202 {
			t.Errorf("Event: %+v", r)
		}
		stack.Gateway.Drain(context.Background())

		_, stderr := invokeCLI(t, 255, "--function-name", "nope", "--payload", `{}`, out)
		if !strings.Contains(stderr, "ResourceNotFoundException") || !strings.Contains(stderr, "Function not found") {
			t.Errorf("unknown function: stderr %s", stderr)
		}
	})
}

// awsCLIOrSkip is the aws CLI's path; without it the test skips, except on CI
// (CI=true), where it fails.
func awsCLIOrSkip(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("aws")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the aws CLI is not installed (pip install awscli): %v", err)
	}
	t.Skipf("the aws CLI is not installed (pip install awscli): %v", err)
	return ""
}

// runAWSCLI runs the aws CLI with local credentials only: none of the
// caller's profiles, configuration or endpoints.
func runAWSCLI(t *testing.T, cli, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-credentials"),
		"AWS_PAGER=", "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = env
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("aws: %v", err)
	}
	return o.String(), e.String(), 0
}
