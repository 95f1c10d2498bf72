// A tiny Lambda function for localrun's runner tests. Built by the tests with
// -tags lambda.norpc, it talks to the Runtime API exactly as the real
// functions do, through github.com/aws/aws-lambda-go/lambda.
package main

import (
	"context"
	"errors"
	"os"
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
	}, nil
}

func main() {
	if os.Getenv("FAIL_INIT") != "" {
		os.Stderr.WriteString("config error: FAIL_INIT is set\n")
		os.Exit(2)
	}
	lambda.Start(handle)
}
