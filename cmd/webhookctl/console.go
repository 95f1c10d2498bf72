package main

// webhookctl console: the events console (cmd/webhookctl/console) over this
// command's targets. The console reads the table through shared/eventstore;
// its actions are the operator commands as the other subcommands run them
// (Lambda Invoke on the provider's function, the dead-letter redrive over
// SQS), and its chart reads CloudWatch (a deployed stack) or the function logs
// of make run.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/cmd/webhookctl/console"
	"webhooks/infra/spec"
	"webhooks/internal/awskit"
	"webhooks/internal/devkit/kits"
	"webhooks/shared/pipeline"
)

// consoleBackend runs the console's actions on a target.
type consoleBackend struct {
	t         *target
	logs      string // make run's function logs (local target)
	namespace string // CloudWatch namespace (deployed stack)
	cw        console.MetricDataAPI
}

var _ console.Backend = (*consoleBackend)(nil)

func (b *consoleBackend) Invoke(ctx context.Context, provider string, cmd pipeline.Command, reply any) error {
	err := b.t.invoke(ctx, provider, cmd, reply)
	var fe *FunctionError
	if errors.As(err, &fe) {
		return &console.CommandError{Function: fe.Function, ErrorType: fe.ErrorType, Message: fe.Message}
	}
	return err
}

// dlqMessage is one message a dead-letter dry run lists: never its data.
type dlqMessage struct {
	Group     string `json:"group"`
	MessageID string `json:"messageId"`
	Type      string `json:"type,omitempty"`
	EventID   string `json:"eventId,omitempty"`
}

// dlqGroup is one message group's part of a dead-letter redrive.
type dlqGroup struct {
	Group   string `json:"group"`
	Moved   int    `json:"moved"`
	Left    int    `json:"left,omitempty"`
	Stopped string `json:"stoppedAt,omitempty"`
	Error   string `json:"error,omitempty"`
}

// dlqReply is POST /api/dlq/redrive's answer.
type dlqReply struct {
	DryRun   bool         `json:"dryRun"`
	Queue    string       `json:"queue"`
	Messages []dlqMessage `json:"messages,omitempty"` // dry run
	Count    int          `json:"count"`              // dry run: messages listed
	Moved    int          `json:"moved"`
	Groups   []dlqGroup   `json:"groups,omitempty"`
	Error    string       `json:"error,omitempty"`
}

func (b *consoleBackend) RedriveDLQ(ctx context.Context, provider string, limit int, dryRun bool) (any, error) {
	dlq, err := b.t.deadLetterQueue(provider)
	if err != nil {
		return nil, err
	}
	rep := dlqReply{DryRun: dryRun, Queue: queueName(dlq)}
	if dryRun {
		if err := checkNoRedrivePolicy(ctx, b.t.sqs, dlq); err != nil {
			return nil, err
		}
		msgs, err := awskit.ReadQueue(ctx, b.t.sqs, dlq, awskit.ReadOptions{Settle: true})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			rep.Messages = append(rep.Messages, dlqMessage{Group: m.GroupID, MessageID: m.MessageID, Type: m.Event.Type, EventID: m.Event.ID})
		}
		rep.Count = len(msgs)
		return rep, nil
	}
	src, err := b.t.queue(provider)
	if err != nil {
		return nil, err
	}
	r, err := redriveDLQ(ctx, b.t.sqs, dlq, src, limit)
	rep.Moved = r.Moved
	for _, g := range r.Groups {
		dg := dlqGroup{Group: g.Group, Moved: g.Moved, Left: g.Left, Stopped: g.Stopped}
		if g.Err != nil {
			dg.Error = g.Err.Error()
		}
		rep.Groups = append(rep.Groups, dg)
	}
	if err != nil {
		if r.Moved == 0 && len(r.Groups) == 0 {
			return nil, err
		}
		rep.Error = err.Error()
	}
	return rep, nil
}

func (b *consoleBackend) DeadLettered(ctx context.Context, provider string) (int, error) {
	dlq, err := b.t.deadLetterQueue(provider)
	if err != nil {
		return 0, err
	}
	out, err := b.t.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(dlq),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		return 0, fmt.Errorf("attributes of %s: %w", queueName(dlq), err)
	}
	total := 0
	for _, a := range []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
		n, _ := strconv.Atoi(out.Attributes[string(a)])
		total += n
	}
	return total, nil
}

func (b *consoleBackend) Rates(ctx context.Context, providers []string, from, to time.Time) (*console.Rates, error) {
	if b.cw != nil {
		return console.CloudWatchRates(ctx, b.cw, b.namespace, providers, from, to)
	}
	return console.LogRates(b.logs, providers, from, to)
}

// defaultConsoleAddr is where the console listens unless -addr says otherwise.
const defaultConsoleAddr = "127.0.0.1:8080"

func runConsole(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("console", "console [-addr 127.0.0.1:8080] [-stack NAME]", `
Serves the events console on a loopback address (any other address is
refused): a page to search events (by provider, subject, type, status and
time window, newest first, with the items each search read), read an event's
timeline and stored data, see quarantined, stranded and dead-lettered counts
and webhooks per minute, and run the operator commands (reprocess, redrive,
replay with a dry-run preview, dead-letter redrive). It works on the running
make run, or on a deployed stack with -stack, with your own AWS credentials,
and stores nothing. Stop it with Ctrl-C. docs/OPERATIONS.md describes it.`, stderr)
	tf := addTargetFlags(fs)
	addr := fs.String("addr", defaultConsoleAddr, "loopback address to listen on (127.0.0.1:PORT, [::1]:PORT or localhost:PORT; port 0 picks a free one)")
	stage := fs.String("stage", spec.DefaultStage, "with -stack: the stage whose CloudWatch namespace (Webhooks/<stage>) the chart reads")
	logs := fs.String("logs", "", "without -stack: make run's function log directory, for the chart (default: logs beside the state file)")
	if _, err := parseExactly(fs, args, 0, ""); err != nil {
		return err
	}
	listen, err := console.CheckAddr(*addr)
	if err != nil {
		return usageErr(fs, "%v", err)
	}
	ctx, stop, t, err := tf.open()
	if err != nil {
		return err
	}
	defer stop()
	srv, err := newConsole(t, tf.state, *logs, *stage, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return serveConsole(ctx, ln, srv, t.desc, stdout)
}

// newConsole is the console over a resolved target: the chart reads make
// run's function logs (logs, or "logs" beside the state file) or the stack's
// CloudWatch namespace for the stage.
func newConsole(t *target, state, logs, stage string, stderr io.Writer) (*console.Server, error) {
	b := &consoleBackend{t: t}
	if t.local {
		b.logs = logs
		if b.logs == "" {
			b.logs = filepath.Join(filepath.Dir(state), "logs")
		}
	} else {
		b.cw = cloudwatch.NewFromConfig(t.cfg)
		b.namespace = spec.MetricsNamespace(stage)
	}
	return console.New(console.Config{
		Target: t.desc, Providers: kits.Names(), DynamoDB: t.ddb, Table: t.table, Backend: b,
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
	})
}

// serveConsole serves until ctx ends (Ctrl-C), then stops.
func serveConsole(ctx context.Context, ln net.Listener, h http.Handler, desc string, stdout io.Writer) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "Events console on http://%s/ (working on %s). Ctrl-C stops it.\n", ln.Addr(), desc)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
