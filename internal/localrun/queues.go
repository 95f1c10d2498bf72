package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"webhooks/infra/spec"
	"webhooks/internal/awskit"
)

// ReadQueue receives every message available on url (see awskit.ReadQueue):
// with consume it deletes them, otherwise it only peeks.
func (s *Stack) ReadQueue(ctx context.Context, url string, consume bool) ([]awskit.Message, error) {
	return awskit.ReadQueue(ctx, s.SQS, url, awskit.ReadOptions{Consume: consume})
}

// State is what a running webhooks-local tells other local tools
// (webhookctl): where the gateway, the Lambda Invoke API and the AWS endpoint
// are, and the names of the resources.
type State struct {
	Gateway string `json:"gateway"`
	// Lambda is the Lambda Invoke API's endpoint (aws lambda invoke
	// --endpoint-url, or the SDK's BaseEndpoint): the gateway's URL.
	Lambda string            `json:"lambda"`
	AWS    AWSEnv            `json:"aws"`
	Table  string            `json:"table"`
	Queues map[string]string `json:"queues"`
	DLQs   map[string]string `json:"dlqs"`
	// Functions gives, by provider, the function name the Invoke API knows
	// (--function-name).
	Functions map[string]string `json:"functions"`
	// MetricsNamespace is the EMF namespace the functions emit in (the stack's
	// for its stage: spec.MetricsNamespace).
	MetricsNamespace string `json:"metricsNamespace"`
	Pid              int    `json:"pid"`
}

// State describes this stack with its gateway at gatewayURL.
func (s *Stack) State(gatewayURL string) State {
	st := State{Gateway: gatewayURL, Lambda: gatewayURL, AWS: s.AWS, Table: s.Table,
		Queues: map[string]string{}, DLQs: map[string]string{}, Functions: map[string]string{}, MetricsNamespace: spec.MetricsNamespace(s.Stage), Pid: os.Getpid()}
	for name, p := range s.Providers {
		st.Queues[name] = p.QueueURL
		st.DLQs[name] = p.DLQURL
		st.Functions[name] = name // the Invoke API knows each function by its provider's name
	}
	return st
}

// WriteState writes st as JSON to path, in one step: a reader sees the
// old file or the new one, never half of it.
func WriteState(path string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// LoadState reads a state file written by WriteState.
func LoadState(path string) (State, error) {
	var st State
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("localrun: state %s: %w", path, err)
	}
	return st, nil
}
