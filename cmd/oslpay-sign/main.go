// Command oslpay-sign signs OSL Pay webhook headers with a private key, the way
// OSL Pay does: RSA PKCS#1 v1.5 over "appId=<appId>&timestamp=<ms>". Local
// tooling only (the development key is events/oslpay/dev-private-key.pem).
//
// Without arguments it prints the three headers as JSON. With sample event files
// it prints each event re-signed at the current time (one JSON document per
// file, in order), so a sample can be sent to a receiver whose tolerance is the
// production default of 5 minutes:
//
//	go run ./cmd/oslpay-sign
//	go run ./cmd/oslpay-sign events/oslpay/order-processing.json > /tmp/ev.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/shared/providers/oslpay"
)

func main() {
	key := flag.String("key", "events/oslpay/dev-private-key.pem", "PEM RSA private key")
	app := flag.String("app", "dev-oslpay-app", "appId")
	hash := flag.String("hash", "SHA256", "hash: SHA256, SHA384 or SHA512")
	at := flag.String("at", "now", `signing time: "now" or milliseconds since the epoch`)
	flag.Parse()
	if err := run(*key, *app, *hash, *at, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "oslpay-sign:", err)
		os.Exit(1)
	}
}

func run(keyFile, app, hashName, at string, files []string) error {
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	priv, err := oslpay.ParsePrivateKey(pemBytes)
	if err != nil {
		return err
	}
	h, err := oslpay.ParseHash(hashName)
	if err != nil {
		return err
	}
	t := time.Now()
	if at != "now" {
		ms, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return fmt.Errorf("-at must be now or milliseconds: %w", err)
		}
		t = time.UnixMilli(ms)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if len(files) == 0 {
		hd, err := oslpay.SignedHeaders(priv, h, app, t)
		if err != nil {
			return err
		}
		return enc.Encode(hd)
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &ev); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		// One millisecond apart: a signed appId/timestamp pair carries one body.
		hd, err := oslpay.SignedHeaders(priv, h, app, t.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			return err
		}
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		for k, v := range hd {
			delete(ev.Headers, k)
			ev.Headers[strings.ToLower(k)] = v
		}
		ev.RequestContext.TimeEpoch = t.UnixMilli()
		if err := enc.Encode(ev); err != nil {
			return err
		}
	}
	return nil
}
