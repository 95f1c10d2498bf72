package loadtest

// How the soak delivers: concurrent copies, a single-use race, retries as a provider makes them, the redrive run, and small helpers.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/devkit"
	"webhooks/internal/localrun"
)

// sendCopies delivers one webhook as n identical requests sent at once, each
// retried on its own (sendWithRetries), and returns whether one was answered
// 2xx.
func sendCopies(ctx context.Context, cfg SoakConfig, f *localrun.Function, keys devkit.Signers, hk webhook, n int, seen func(status int, outcome, id string)) bool {
	if n <= 1 {
		return sendWithRetries(ctx, cfg, f, func() ([]byte, error) { return devkit.Event(keys, hk, devkit.SigningClock.Next()) }, seen, false)
	}
	var wg sync.WaitGroup
	var acked atomic.Bool
	begin := make(chan struct{})
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			if sendWithRetries(ctx, cfg, f, func() ([]byte, error) { return devkit.Event(keys, hk, devkit.SigningClock.Next()) }, seen, false) {
				acked.Store(true)
			}
		}()
	}
	close(begin)
	wg.Wait()
	return acked.Load()
}

// singleUseRace sends distinct bodies at once with one signed header set,
// each retried with the same headers on a 5xx (a 4xx is final: the same
// request gets the same answer), and tells how each fared. seen(b) records
// the answers to body b.
func singleUseRace(ctx context.Context, cfg SoakConfig, f *localrun.Function, keys devkit.Signers, bodies []webhook, seen func(b int) func(int, string, string)) (Race, error) {
	at := devkit.SigningClock.Next()
	payloads := make([][]byte, len(bodies))
	var headers map[string]string
	for b, hk := range bodies {
		req, err := keys.Request(hk.Provider, hk.Variant, hk.Body, at)
		if err != nil {
			return Race{}, err
		}
		if b == 0 {
			headers = req.Headers
		} else if !maps.Equal(headers, req.Headers) {
			return Race{}, fmt.Errorf("loadtest: %s signs the body: two bodies signed at one time got different headers, so there is no single-use race to run", hk.Provider)
		}
		if payloads[b], err = json.Marshal(devkit.HTTPEvent(req).Event); err != nil {
			return Race{}, err
		}
	}
	race := Race{Bodies: len(bodies)}
	last := make([]int, len(bodies))
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			record := seen(b)
			sendWithRetries(ctx, cfg, f, func() ([]byte, error) { return payloads[b], nil }, func(status int, outcome, id string) {
				last[b] = status
				record(status, outcome, id)
			}, true)
		}()
	}
	close(begin)
	wg.Wait()
	for _, st := range last {
		switch {
		case st >= 200 && st < 300:
			race.Accepted++
		case st == http.StatusUnauthorized:
			race.Refused++
		default:
			race.Other++
		}
	}
	return race, nil
}

// sendWithRetries delivers one webhook as its provider would: up to
// MaxAttempts attempts, each with a payload made afresh (signed anew, as a
// retry would be), with RetryDelay × Backoff^(n-1) between attempts n and
// n+1. With final4xx a 4xx ends it too (a sender that resends the very same
// request, which gets the same answer). It reports each attempt to seen and
// returns whether one was answered 2xx.
func sendWithRetries(ctx context.Context, cfg SoakConfig, f *localrun.Function, payload func() ([]byte, error), seen func(status int, outcome, id string), final4xx bool) bool {
	delay := cfg.RetryDelay
	for attempt := 1; ; attempt++ {
		status, outcome, id, err := deliver(ctx, f, payload)
		if err != nil { // the harness failed, not the function: count it as no answer
			status, outcome = 0, "harness-error: "+err.Error()
		}
		seen(status, outcome, id)
		if status >= 200 && status < 300 {
			return true
		}
		if attempt >= cfg.MaxAttempts || (final4xx && status >= 400 && status < 500) {
			return false
		}
		time.Sleep(delay)
		if cfg.Backoff > 1 {
			delay = time.Duration(float64(delay) * cfg.Backoff)
		}
	}
}

// redrive invokes f with RedriveCommand as Lambda would (a direct
// invocation, through the same Invoker the local gateway uses), again while
// a run fails or times out, up to three runs.
func redrive(ctx context.Context, f localrun.Invoker) RedriveResult {
	var total RedriveResult
	for run := 1; run <= 3; run++ {
		total.Runs = run
		out, err := f.Invoke(ctx, []byte(RedriveCommand))
		var fe *localrun.FunctionError
		switch {
		case errors.As(err, &fe):
			total.Err = fmt.Errorf("%w: the function answered %s with a function error (%s: %s): is the pipeline's redrive command in this build?", ErrRedrive, RedriveCommand, fe.Type, fe.Message)
			return total
		case errors.Is(err, localrun.ErrTimeout) || errors.Is(err, localrun.ErrCrashed):
			total.Err = fmt.Errorf("%w: run %d: %v", ErrRedrive, run, err)
			continue
		case err != nil:
			total.Err = fmt.Errorf("%w: %v", ErrRedrive, err)
			return total
		}
		var r struct{ Found, Sent, Failed *int }
		if err := json.Unmarshal(out, &r); err != nil || r.Found == nil || r.Sent == nil || r.Failed == nil {
			total.Err = fmt.Errorf("%w: the reply %s is not {\"found\": n, \"sent\": n, \"failed\": n} (%v)", ErrRedrive, truncate(out, 300), err)
			return total
		}
		total.Found += *r.Found
		total.Sent += *r.Sent
		total.Failed += *r.Failed
		total.Err = nil
		if *r.Failed == 0 {
			return total
		}
		total.Err = fmt.Errorf("%w: %d events failed to send with the faults off", ErrRedrive, total.Failed)
	}
	return total
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

func awsStr(it map[string]ddb.AttributeValue, k string) string {
	if v, ok := it[k].(*ddb.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func countProvider(hooks []webhook, p string) int {
	n := 0
	for _, h := range hooks {
		if h.Provider == p {
			n++
		}
	}
	return n
}

// outcomeFunctionFailed marks a delivery whose invocation failed (a Lambda
// timeout or a crash): API Gateway answers it 500 Internal Server Error.
const outcomeFunctionFailed = "function-failed"

// deliver invokes the function with one payload (an API Gateway event) as
// API Gateway would.
func deliver(ctx context.Context, f *localrun.Function, payload func() ([]byte, error)) (int, string, string, error) {
	raw, err := payload()
	if err != nil {
		return 0, "", "", err
	}
	out, err := f.Invoke(ctx, raw)
	var fe *localrun.FunctionError
	if errors.Is(err, localrun.ErrTimeout) || errors.Is(err, localrun.ErrCrashed) || errors.Is(err, localrun.ErrInitFailed) || errors.As(err, &fe) {
		return http.StatusInternalServerError, outcomeFunctionFailed, "", nil
	}
	if err != nil {
		return 0, "", "", err
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, "", "", err
	}
	return res.StatusCode, res.Headers["X-Webhook-Outcome"], res.Headers["X-Webhook-Event-Id"], nil
}
