package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit/kits"
)

func runTail(args []string, w, stderr io.Writer) error {
	fs := newFlagSet("tail", "tail -provider P (-consume | -f | -dlq) [-raw]", `
Prints the CloudEvents on a provider's queue. Reading the queue counts toward
its dead-letter queue (SQS moves a message there after 5 receives), so tail
reads it only as a consumer does, deleting what it prints: -consume once, -f
to follow. Without either it refuses (exit status 2): to see where an event
is, use webhookctl status EVENT_ID (it reads the table) or webhookctl
quarantine list. -dlq peeks at the dead-letter queue, which has no redrive
policy (checked first), so receiving there moves nothing; it stays as it is.`, stderr)
	tf := addTargetFlags(fs)
	provider := fs.String("provider", "", strings.Join(kits.Names(), ", "))
	queue := fs.String("queue", "", "queue URL (default: the provider's queue of the target)")
	dlq := fs.Bool("dlq", false, "read the provider's dead-letter queue instead (a peek unless -consume)")
	follow := fs.Bool("f", false, "keep waiting for new messages; what is printed is consumed (deleted), like a consumer")
	consume := fs.Bool("consume", false, "delete what is printed, like a consumer (required to read a queue with a redrive policy)")
	raw := fs.Bool("raw", false, "print message bodies as they are")
	if _, err := parseExactly(fs, args, 0, ""); err != nil {
		return err
	}
	if *provider == "" && *queue == "" {
		return usageErr(fs, "tail needs -provider (or -queue URL)")
	}
	if *provider != "" {
		if _, err := kits.Get(*provider); err != nil {
			return usageErr(fs, "%v", err)
		}
	}
	consuming := *consume || *follow
	if !consuming && *queue == "" && !*dlq {
		return refuseTail(fs, *provider+"'s queue", *provider)
	}
	ctx, stop := commandContext()
	defer stop()

	var client *sqs.Client
	t, err := tf.resolve(ctx)
	switch {
	case err == nil:
		client = t.sqs
	case *queue != "" && tf.stack == "":
		// A queue URL without a make run: the SDK's standard configuration
		// (AWS_ENDPOINT_URL and friends).
		cfg, cerr := config.LoadDefaultConfig(ctx)
		if cerr != nil {
			return cerr
		}
		client = sqs.NewFromConfig(cfg)
	default:
		return err
	}
	url := *queue
	if url == "" {
		if *dlq {
			url, err = t.deadLetterQueue(*provider)
		} else {
			url, err = t.queue(*provider)
		}
		if err != nil {
			return err
		}
	}
	name := queueName(url)
	if !consuming {
		// -dlq or -queue: peek only where receiving moves nothing.
		if err := checkNoRedrivePolicy(ctx, client, url); errors.Is(err, ErrRedrivePolicy) {
			return refuseTail(fs, name, *provider)
		} else if err != nil {
			return err
		}
	}
	if !*follow {
		msgs, err := awskit.ReadQueue(ctx, client, url, awskit.ReadOptions{Consume: consuming, Settle: true})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			printMessage(w, m, *raw)
		}
		how := " (peeked: still there; no redrive policy, so nothing moved)"
		if consuming {
			how = " (consumed: deleted)"
		}
		fmt.Fprintf(w, "%d message(s) on %s%s\n", len(msgs), name, how)
		return nil
	}
	fmt.Fprintf(w, "following %s (messages are consumed); Ctrl-C to stop\n", name)
	for ctx.Err() == nil {
		msgs, err := awskit.ReadQueue(ctx, client, url, awskit.ReadOptions{Consume: true, Wait: 10})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			fmt.Fprintf(w, "receive: %v (retrying)\n", err)
			select {
			case <-time.After(2 * time.Second):
			case <-ctx.Done():
			}
			continue
		}
		for _, m := range msgs {
			printMessage(w, m, *raw)
		}
	}
	return nil
}

// refuseTail explains why tail does not peek at a queue with a redrive
// policy, and what to do instead.
func refuseTail(fs *flag.FlagSet, queue, provider string) error {
	p := provider
	if p == "" {
		p = "P"
	}
	fmt.Fprintf(fs.Output(), `webhookctl tail: not reading %s: every receive there counts toward moving a
message to the dead-letter queue (after 5 receives), even a peek.
  where is an event?      webhookctl status EVENT_ID   (reads the table)
  quarantined events:     webhookctl quarantine list -provider %s
  the dead-letter queue:  webhookctl tail -provider %s -dlq   (safe to peek)
  read it as a consumer:  webhookctl tail -provider %s -consume   (deletes what it prints; -f follows)
`, queue, p, p, p)
	return errUsage
}

func printMessage(w io.Writer, m awskit.Message, raw bool) {
	if raw || m.Event.SpecVersion == "" {
		fmt.Fprintf(w, "%s\n", m.Body)
		return
	}
	e := m.Event
	fmt.Fprintf(w, "── %s  subject %s\n", e.Type, e.Subject)
	replay := ""
	if e.ReplayID != "" { // the CloudEvents extension a replay's copy carries
		replay = "  replayid " + e.ReplayID
	}
	fmt.Fprintf(w, "   id %s%s  source %s  time %s  group %s\n", e.ID, replay, e.Source, e.Time, m.GroupID)
	var data bytes.Buffer
	if json.Indent(&data, e.Data, "   ", "  ") == nil {
		fmt.Fprintf(w, "   data %s\n", data.String())
	} else {
		fmt.Fprintf(w, "   data %s\n", e.Data)
	}
}
