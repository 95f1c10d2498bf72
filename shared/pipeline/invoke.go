package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/jsonx"
)

// Command is an operator command: the payload an operator sends to the
// function directly (aws lambda invoke --payload '{"reprocess":{...}}'),
// never through API Gateway. Exactly one field is set.
type Command struct {
	Reprocess *ReprocessCommand `json:"reprocess,omitempty"`
	Redrive   *RedriveCommand   `json:"redrive,omitempty"`
	Replay    *ReplayCommand    `json:"replay,omitempty"`
}

// ReprocessCommand re-processes a quarantined (or stored, unqueued) event
// after the operator fixed its cause.
type ReprocessCommand struct {
	EventID string `json:"eventId"`
}

// ReprocessResult is the answer to a ReprocessCommand.
type ReprocessResult struct {
	EventID string `json:"eventId"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
}

// Reprocess re-runs the transform of a stored event that was not queued
// (quarantined, or stored when the queue failed) with the current secret, and
// queues it when it now succeeds.
func (h *Handler[C]) Reprocess(ctx context.Context, eventID string) (ReprocessResult, error) {
	it, err := h.store.Get(ctx, h.p.Name(), eventID)
	if err != nil {
		return ReprocessResult{EventID: eventID}, err
	}
	if it.Status == eventstore.StatusQueued {
		return ReprocessResult{EventID: eventID, Status: string(it.Status)}, ErrNoReprocess
	}
	if it.DataDropped {
		return ReprocessResult{EventID: eventID, Status: string(it.Status), Reason: it.Reason}, ErrDataNotKept
	}
	// The operator has just fixed the secret: read it now rather than from cache.
	// Not Refresh: its once-a-minute limit may have been used up by requests that
	// failed authentication (or by a previous reprocess), which would serve the
	// stale secret and leave the event quarantined.
	if _, err := h.secrets.Reload(ctx); err != nil {
		return ReprocessResult{EventID: eventID, Status: string(it.Status)}, err
	}
	data, q, err := h.storedData(ctx, it, "")
	if err != nil {
		return ReprocessResult{EventID: eventID, Status: string(it.Status)}, err
	}
	res := h.advance(ctx, it, false, data, q, byOperator)
	if res.status >= 300 {
		return ReprocessResult{EventID: eventID, Status: string(it.Status)}, res.err
	}
	h.opt.Metrics.Webhook(h.p.Name(), res.outcome, it.Type, 0)
	h.log.InfoContext(ctx, "reprocessed", slog.String("eventId", eventID), slog.String("eventType", it.Type), slog.String("status", string(it.Status)))
	return ReprocessResult{EventID: eventID, Status: string(it.Status), Reason: it.Reason}, nil
}

// CheckSecret reads the secret's AWSCURRENT version (filling the cache) and
// reports whether it is usable: secrets.ErrNotConfigured when it is missing or
// invalid. AWSPREVIOUS is left to the request that needs it.
func (h *Handler[C]) CheckSecret(ctx context.Context) error {
	_, err := h.secrets.Current(ctx)
	return err
}

// Invoke implements lambda.Handler. The payload is either an API Gateway HTTP
// API event (payload format 2.0: served as a webhook) or one operator Command;
// which one is decided by the payload's top-level fields, never by searching
// its bytes.
func (h *Handler[C]) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	kind, err := payloadKind(payload)
	if err != nil {
		return nil, err
	}
	if kind == kindHTTP {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, invalidCommand("invoke: API Gateway event: %w", err)
		}
		return json.Marshal(h.HandleHTTP(ctx, ev))
	}
	cmd, err := ParseCommand(payload)
	if err != nil {
		return nil, err
	}
	out, err := h.Run(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// Run executes an operator command and returns its reply.
func (h *Handler[C]) Run(ctx context.Context, cmd Command) (any, error) {
	switch {
	case cmd.Reprocess != nil:
		if cmd.Reprocess.EventID == "" {
			return nil, invalidCommand("reprocess: eventId is required")
		}
		res, err := h.Reprocess(ctx, cmd.Reprocess.EventID)
		if err != nil {
			return nil, fmt.Errorf("reprocess %s: %w", cmd.Reprocess.EventID, err)
		}
		return res, nil
	case cmd.Redrive != nil:
		return h.Redrive(ctx, *cmd.Redrive)
	case cmd.Replay != nil:
		return h.Replay(ctx, *cmd.Replay)
	}
	return nil, invalidCommand("command: no command given")
}

type payloadKindT int

const (
	kindHTTP payloadKindT = iota
	kindCommand
)

// payloadKind tells an API Gateway HTTP API event from an operator command by
// the payload's top-level fields: any field of the payload-2.0 event makes it
// an event; otherwise it must be an object of exactly one command field.
func payloadKind(payload []byte) (payloadKindT, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return 0, invalidCommand("invoke: payload is not a JSON object: %w", err)
	}
	for name := range top {
		if httpEventFields[name] {
			return kindHTTP, nil
		}
	}
	if len(top) == 1 {
		for name := range top {
			if commandNames[name] {
				return kindCommand, nil
			}
			return 0, invalidCommand("invoke: unknown command %q (commands: %s, %s, %s)", name, contract.CommandReprocess, contract.CommandRedrive, contract.CommandReplay)
		}
	}
	return 0, invalidCommand("invoke: payload is neither an API Gateway HTTP API event (payload format 2.0) nor one operator command such as {\"reprocess\": {\"eventId\": \"...\"}}")
}

// httpEventFields are the top-level fields of a payload-2.0 event.
var httpEventFields = map[string]bool{
	"version": true, "routeKey": true, "rawPath": true, "rawQueryString": true, "cookies": true,
	"headers": true, "queryStringParameters": true, "pathParameters": true, "stageVariables": true,
	"requestContext": true, "body": true, "isBase64Encoded": true,
}

var commandNames = map[string]bool{contract.CommandReprocess: true, contract.CommandRedrive: true, contract.CommandReplay: true}

// InvalidCommandError is a payload the function refuses as an operator
// command: not JSON, not one known command, or a command with a missing or
// invalid field. Nothing was done. Lambda reports it as a function error of
// type InvalidCommandError; any other function error is a command that
// failed while running (an event not found, AWS unavailable).
type InvalidCommandError struct {
	msg string
	err error
}

func (e *InvalidCommandError) Error() string { return e.msg }
func (e *InvalidCommandError) Unwrap() error { return e.err }

// invalidCommand formats an InvalidCommandError (%w keeps the cause).
func invalidCommand(format string, a ...any) error {
	err := fmt.Errorf(format, a...)
	return &InvalidCommandError{msg: err.Error(), err: errors.Unwrap(err)}
}

// ParseCommand decodes one operator command strictly: unknown fields are an
// error, so a misspelt option is never silently ignored.
func ParseCommand(payload []byte) (Command, error) {
	// encoding/json alone would match field names in any case and let a
	// repeated key win: {"olderThan":"1h","olderThan":"0s"} must not run as 0s.
	doc, err := jsonx.Parse(payload)
	if err != nil {
		return Command{}, invalidCommand("command: %w", err)
	}
	doc.Release()
	if err := exactFields(payload, reflect.TypeFor[Command](), "command"); err != nil {
		return Command{}, err
	}
	var cmd Command
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cmd); err != nil {
		return Command{}, invalidCommand("command: %w", err)
	}
	if dec.More() {
		return Command{}, invalidCommand("command: trailing data after the command")
	}
	return cmd, nil
}

// exactFields checks that every key of the JSON object raw, and of the
// objects in its struct-typed fields, is one of t's field names exactly as
// spelt (encoding/json would take "DRYRUN" for "dryRun").
func exactFields(raw []byte, t reflect.Type, where string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil // not an object: the decoder says what is wrong
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields[name] = f.Type
	}
	for k, v := range obj {
		ft, ok := fields[k]
		if !ok {
			return invalidCommand("%s: unknown field %q", where, k)
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			if err := exactFields(v, ft, k); err != nil {
				return err
			}
		}
	}
	return nil
}

var _ lambda.Handler = (*Handler[struct{}])(nil)
