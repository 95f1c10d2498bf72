// Command webhookctl is the webhook toolbox. Locally: sign a body the way a
// provider would, send it to the local gateway (or any URL), regenerate the
// sample events and re-sign them. On the running `make run` (found through
// .run/local.json) or a deployed stack (-stack NAME: the SDK's standard
// configuration and the stack's outputs): trace an event (status), list the
// quarantine, run the operator commands (redrive, replay, reprocess) through
// the Lambda Invoke API, move dead-lettered messages back to their queue and
// read a queue as a consumer (tail). It is a tool: never deployed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"webhooks/internal/devkit/kits"
)

const usageText = `webhookctl: webhook tools for the local run (make run) and a deployed stack.

Sending (sign and send address the running make run's gateway, or -url URL):
  webhookctl sign -provider P [flags]   print the signed request (-format http|curl|event)
  webhookctl send -provider P [flags]   sign and POST it to the gateway, print the answer
  webhookctl send -sample FILE          POST a payload-2.0 sample file as it is
  webhookctl gen-events [-dir events]   regenerate the sample events from the development secrets
  webhookctl resign FILE...             print sample events signed again now

Operating (make run, or a deployed stack with -stack NAME):
  webhookctl status [-provider P] EVENT_ID        where an event is: stored, queued or quarantined,
                                                  when, message id, reason, secret version; never data
  webhookctl quarantine list [-provider P]        the quarantined events, with their reasons
  webhookctl reprocess -provider P EVENT_ID       process a quarantined event again (after the fix)
  webhookctl redrive (-provider P | -all) [-older-than 5m] [-sweep]
                                                  send the events stored but never confirmed queued
  webhookctl replay -provider P -from T -to T [-type X]... [-subject S]... [-dry-run] [-follow]
                                                  send a window of queued events again to the consumer
  webhookctl dlq redrive -provider P [-max N] [-dry-run]
                                                  move dead-lettered messages back to the queue, in order
  webhookctl tail -provider P -consume | -f       print (and consume) the CloudEvents on P's queue
  webhookctl tail -provider P -dlq                peek at P's dead-letter queue
  webhookctl console [-addr 127.0.0.1:8080]       the events console in a browser: search, an event's
                                                  timeline, counts, the commands above (loopback only)

Providers (with the variant flag sign and send take):
%s
Target: without -stack (or $` + EnvStack + `) the commands work on the running make
run, on whatever port it listens (-state .run/local.json, written while it
runs). With none running, or a stale state file whose process or port is gone,
they refuse: start make run, or give -url (sign, send) or -stack. With -stack
NAME they work on that deployed stack, through the SDK's standard configuration (-profile or $AWS_PROFILE, -region or
$AWS_REGION) and the stack's outputs (table, and per provider its function,
queue and dead-letter queue). Operator commands invoke the provider's function
(Lambda Invoke); a function error is printed and the exit status is 1.

tail never peeks at a provider's queue: every receive there counts toward its
dead-letter queue. Use status to find an event, or -consume to read as a consumer.

Secrets for sign and send come from events/dev-secrets.json unless -secret
gives the secret JSON (the Secrets Manager shape); a provider that signs with
a private key uses its development key beside that file unless -key says
otherwise. The body is -body FILE, -body - for stdin, or -data 'JSON'.

Exit status: 0 done (and -h), 1 failed, 2 usage error.
Run "webhookctl <command> -h" for every flag.
`

// errUsage is a usage error already explained on stderr.
var errUsage = errors.New("usage")

func usage() string {
	var b strings.Builder
	for _, k := range kits.All {
		fmt.Fprintf(&b, "  %-12s", k.Name)
		if k.Variant != "" {
			opt := " (optional)"
			if k.VariantRequired {
				opt = ""
			}
			fmt.Fprintf(&b, "-%s %s%s", k.Variant, strings.Join(k.Variants, "|"), opt)
		}
		b.WriteByte('\n')
	}
	return fmt.Sprintf(usageText, b.String())
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command; it returns the exit status: 0 on success and on
// -h, 2 for a usage error, 1 when the command failed.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	var err error
	switch args[0] {
	case "sign":
		err = runSign(args[1:], stdout, stderr)
	case "send":
		err = runSend(args[1:], stdout, stderr)
	case "tail":
		err = runTail(args[1:], stdout, stderr)
	case "status":
		err = runStatus(args[1:], stdout, stderr)
	case "quarantine":
		err = runQuarantine(args[1:], stdout, stderr)
	case "reprocess":
		err = runReprocess(args[1:], stdout, stderr)
	case "redrive":
		err = runRedrive(args[1:], stdout, stderr)
	case "replay":
		err = runReplay(args[1:], stdout, stderr)
	case "dlq":
		err = runDLQ(args[1:], stdout, stderr)
	case "console":
		err = runConsole(args[1:], stdout, stderr)
	case "gen-events":
		err = runGenEvents(args[1:], stdout, stderr)
	case "resign":
		err = runResign(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
		return 0
	default:
		fmt.Fprintf(stderr, "webhookctl: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(stderr, "webhookctl:", err)
		return 1
	}
}
