package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/internal/awskit"
	"webhooks/internal/localrun"
	"webhooks/shared/providers"
)

func runTail(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	provider := fs.String("provider", "", strings.Join(providers.Names(), ", "))
	queue := fs.String("queue", "", "queue URL (default: the provider's queue of the running make run)")
	dlq := fs.Bool("dlq", false, "read the provider's dead-letter queue instead")
	follow := fs.Bool("f", false, "keep waiting for new messages; what is printed is consumed (deleted), like a consumer")
	del := fs.Bool("delete", false, "delete what is printed (without -f, messages are only peeked)")
	raw := fs.Bool("raw", false, "print message bodies as they are")
	state := fs.String("state", ".run/local.json", "state file written by webhooks-local")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *provider == "" && *queue == "" {
		return errors.New("tail needs -provider (or -queue URL)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env := localrun.AWSEnvFromEnvironment(os.Getenv)
	st, stErr := localrun.LoadState(*state)
	if stErr == nil {
		env = st.AWS
	}
	if env.Endpoint == "" && stErr != nil {
		return fmt.Errorf("no running make run (%v) and AWS_ENDPOINT_URL is not set", stErr)
	}
	cfg, err := env.Config(ctx)
	if err != nil {
		return err
	}
	client := sqs.NewFromConfig(cfg)
	url := *queue
	if url == "" {
		if *dlq {
			url = st.DLQs[*provider]
		} else {
			url = st.Queues[*provider]
		}
	}
	if url == "" {
		name := "webhooks-local-" + *provider
		if *dlq {
			name += "-dlq"
		}
		out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name + ".fifo")})
		if err != nil {
			return fmt.Errorf("queue of %s: %w", *provider, err)
		}
		url = aws.ToString(out.QueueUrl)
	}
	name := url[strings.LastIndex(url, "/")+1:]
	if !*follow {
		msgs, err := awskit.ReadQueue(ctx, client, url, awskit.ReadOptions{Consume: *del})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			printMessage(w, m, *raw)
		}
		fmt.Fprintf(w, "%d message(s) on %s%s\n", len(msgs), name, map[bool]string{true: " (deleted)", false: " (peeked: still there)"}[*del])
		return nil
	}
	fmt.Fprintf(w, "following %s at %s (messages are consumed); Ctrl-C to stop\n", name, env.Endpoint)
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

func printMessage(w io.Writer, m awskit.Message, raw bool) {
	if raw || m.Event.SpecVersion == "" {
		fmt.Fprintf(w, "%s\n", m.Body)
		return
	}
	e := m.Event
	fmt.Fprintf(w, "── %s  subject %s\n", e.Type, e.Subject)
	fmt.Fprintf(w, "   id %s  source %s  time %s  group %s\n", e.ID, e.Source, e.Time, m.GroupID)
	var data bytes.Buffer
	if json.Indent(&data, e.Data, "   ", "  ") == nil {
		fmt.Fprintf(w, "   data %s\n", data.String())
	} else {
		fmt.Fprintf(w, "   data %s\n", e.Data)
	}
}
