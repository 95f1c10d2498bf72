// Command webhookctl is the local webhook toolbox: sign a body the way a
// provider would, send it to the local gateway (or any URL), tail a
// provider's queue printing the CloudEvents readably, regenerate the sample
// events and re-sign them. It finds the running `make run` through
// .run/local.json. Local tooling only: never deployed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"webhooks/shared/providers"
)

const usageText = `webhookctl: sign, send and tail webhooks on the local run (make run).

  webhookctl sign -provider P [flags]   print the signed request (-format http|curl|event)
  webhookctl send -provider P [flags]   sign and POST it to the gateway, print the answer
  webhookctl send -sample FILE          POST a payload-2.0 sample file as it is
  webhookctl tail -provider P [-f]      print the CloudEvents on P's queue
  webhookctl gen-events [-dir events]   regenerate the sample events from the development secrets
  webhookctl resign FILE...             print sample events signed again now

Providers:
%s
Secrets come from events/dev-secrets.json unless -secret gives the secret JSON
(the Secrets Manager shape); a provider that signs with a private key uses its
development key beside that file unless -key says otherwise. The body is
-body FILE, -body - for stdin, or -data 'JSON'.

Run "webhookctl <command> -h" for every flag.
`

// errUsage is a usage error already explained on stderr.
var errUsage = errors.New("usage")

func usage() string {
	var b strings.Builder
	for _, k := range providers.All {
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
		err = runSign(args[1:], stdout)
	case "send":
		err = runSend(args[1:], stdout)
	case "tail":
		err = runTail(args[1:], stdout)
	case "gen-events":
		err = runGenEvents(args[1:], stdout)
	case "resign":
		err = runResign(args[1:], stdout)
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
