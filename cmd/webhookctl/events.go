package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
)

// runGenEvents regenerates events/<provider>/*.json from the development
// secrets (events/dev-secrets.json) with each provider's sample generator.
func runGenEvents(args []string, w, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "events", "events directory (holds dev-secrets.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dev, err := devkit.LoadDevSecrets(*dir)
	if err != nil {
		return err
	}
	for _, k := range kits.All {
		list, err := k.Samples(*dir, dev)
		if err != nil {
			return fmt.Errorf("%s: %w", k.Name, err)
		}
		if err := os.MkdirAll(filepath.Join(*dir, k.Name), 0o755); err != nil {
			return err
		}
		for _, s := range list {
			b, err := devkit.Encode(s)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(*dir, k.Name, s.Name+".json"), b, 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "%s: %d samples\n", k.Name, len(list))
	}
	return nil
}

// runResign prints sample event files signed again at the given time (one
// JSON document per file, in order), so a sample can be sent to a receiver
// whose time tolerance the committed signature has outlived. Files of a
// provider whose signature does not depend on time come out unchanged but
// for their request time.
func runResign(args []string, w, stderr io.Writer) error {
	fs := flag.NewFlagSet("resign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secretsFile := fs.String("secrets", "events/dev-secrets.json", "development secrets file (its folder holds the development keys)")
	at := fs.String("at", "now", `signing time: "now" or milliseconds since the epoch`)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webhookctl resign [-at MS] [-secrets FILE] SAMPLE.json...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	t := time.Now()
	if *at != "now" {
		ms, err := strconv.ParseInt(*at, 10, 64)
		if err != nil {
			return fmt.Errorf("-at must be now or milliseconds: %w", err)
		}
		t = time.UnixMilli(ms)
	}
	dev, err := devkit.ReadDevSecrets(*secretsFile)
	if err != nil {
		return err
	}
	keys, err := devkit.NewSigners(kits.All, dev, filepath.Dir(*secretsFile), devkit.SignOptions{})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	for i, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &ev); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		kit, ok := kitOfRoute(ev.RouteKey)
		if !ok {
			return fmt.Errorf("%s: no provider has route %q", f, ev.RouteKey)
		}
		body := []byte(ev.Body)
		if ev.IsBase64Encoded {
			return fmt.Errorf("%s: base64 bodies are not re-signed", f)
		}
		// One millisecond apart: a signature over a time carries one body.
		when := t.Add(time.Duration(i) * time.Millisecond)
		r, err := keys.Request(kit.Name, ev.PathParameters[kit.Variant], body, when)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if ev.Headers == nil {
			ev.Headers = map[string]string{}
		}
		for k, v := range r.Headers {
			ev.Headers[strings.ToLower(k)] = v
		}
		ev.RequestContext.TimeEpoch = when.UnixMilli()
		if err := enc.Encode(ev); err != nil {
			return err
		}
	}
	return nil
}

// kitOfRoute finds the provider serving an API Gateway route key.
func kitOfRoute(routeKey string) (devkit.Kit, bool) {
	for _, k := range kits.All {
		for _, rk := range k.RouteKeys() {
			if rk == routeKey {
				return k, true
			}
		}
	}
	return devkit.Kit{}, false
}
