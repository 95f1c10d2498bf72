// Command webhookctl is the local webhook toolbox: sign a body the way a
// provider would, send it to the local gateway (or any URL), and tail a
// provider's queue printing the CloudEvents readably. It finds the running
// `make run` through .run/local.json. Local tooling only: never deployed.
//
//	webhookctl sign -provider tiki -kind order -body order.json
//	webhookctl send -provider oslpay -body kyc.json
//	webhookctl send -sample events/tiki/order-processing.json
//	webhookctl tail -provider tiki -f
package main

import (
	"fmt"
	"os"
)

const usage = `webhookctl: sign, send and tail webhooks on the local run (make run).

  webhookctl sign -provider P [flags]   print the signed request (-format http|curl|event)
  webhookctl send -provider P [flags]   sign and POST it to the gateway, print the answer
  webhookctl send -sample FILE          POST a payload-2.0 sample file as it is
  webhookctl tail -provider P [-f]      print the CloudEvents on P's queue

Providers: tiki (-kind order|stock|aftersale), apigift (-event SLUG optional),
alchemypay, oslpay. Secrets come from events/dev-secrets.json unless -secret
gives the secret JSON (the Secrets Manager shape); OSL Pay signs with
events/oslpay/dev-private-key.pem unless -key says otherwise. The body is
-body FILE, -body - for stdin, or -data 'JSON'.

Run "webhookctl <command> -h" for every flag.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "sign":
		err = runSign(os.Args[2:], os.Stdout)
	case "send":
		err = runSend(os.Args[2:], os.Stdout)
	case "tail":
		err = runTail(os.Args[2:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "webhookctl: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhookctl:", err)
		os.Exit(1)
	}
}
