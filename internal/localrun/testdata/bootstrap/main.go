// A tiny Lambda function for localrun's runner tests. Built by the tests with
// -tags lambda.norpc, it talks to the Runtime API exactly as the real
// functions do, through github.com/aws/aws-lambda-go/lambda.
package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Action string `json:"action"`
	Value  string `json:"value"`
	Ms     int    `json:"ms"`
}

type response struct {
	Value       string            `json:"value"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineIn  int64             `json:"deadlineInMs"`
	Pid         int               `json:"pid"`
	Env         map[string]string `json:"env"`
	// InFlight is, for "hold", how many invocations had started and not
	// ended when this one started, itself included.
	InFlight int `json:"inFlight,omitempty"`
}

func handle(ctx context.Context, req request) (*response, error) {
	switch req.Action {
	case "error":
		return nil, errors.New("boom: " + req.Value)
	case "panic":
		panic("kaboom")
	case "exit":
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Duration(req.Ms) * time.Millisecond)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	inFlight := 0
	if req.Action == "hold" {
		var err error
		if inFlight, err = hold(req.Value, lc.AwsRequestID); err != nil {
			return nil, err
		}
	}
	dl, _ := ctx.Deadline()
	env := map[string]string{}
	for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_LOG_GROUP_NAME", "_HANDLER", "_X_AMZN_TRACE_ID", "MY_SETTING", "HOME_SECRET"} {
		env[k] = os.Getenv(k)
	}
	return &response{
		Value:       req.Value,
		RequestID:   lc.AwsRequestID,
		FunctionARN: lc.InvokedFunctionArn,
		DeadlineIn:  time.Until(dl).Milliseconds(),
		Pid:         os.Getpid(),
		Env:         env,
		InFlight:    inFlight,
	}, nil
}

// hold lets a test see invocations without a clock: it writes
// dir/start-<request id> (holding the pid), counts the invocations started
// and not ended (dir/start-* less dir/end-*), then waits until dir/release
// exists (never, unless the test writes it: the function's timeout or a stop
// ends it), writes dir/end-<request id> and returns the count. The end file is
// written before the answer, so an invocation a sandbox takes next always
// counts this one as ended.
func hold(dir, id string) (int, error) {
	if err := os.WriteFile(filepath.Join(dir, "start-"+id), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return 0, err
	}
	starts, _ := filepath.Glob(filepath.Join(dir, "start-*"))
	ends, _ := filepath.Glob(filepath.Join(dir, "end-*"))
	n := len(starts) - len(ends)
	for {
		if _, err := os.Stat(filepath.Join(dir, "release")); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return n, os.WriteFile(filepath.Join(dir, "end-"+id), nil, 0o644)
}

func main() {
	if os.Getenv("FAIL_INIT") != "" {
		os.Stderr.WriteString("config error: FAIL_INIT is set\n")
		os.Exit(2)
	}
	lambda.Start(handle)
}
