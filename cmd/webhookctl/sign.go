package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"time"

	"webhooks/internal/localrun"
	"webhooks/internal/signer"
)

// signFlags select a provider, its secret and the body to sign.
type signFlags struct {
	provider    string
	kind        string
	event       string
	secret      string
	secretsFile string
	keyFile     string
	bodyFile    string
	data        string
	timestamp   int64
	secretKey   bool
}

func addSignFlags(fs *flag.FlagSet) *signFlags {
	f := &signFlags{}
	fs.StringVar(&f.provider, "provider", "", "tiki, apigift, alchemypay or oslpay")
	fs.StringVar(&f.kind, "kind", "", "tiki: order, stock or aftersale")
	fs.StringVar(&f.event, "event", "", "apigift: event slug for /webhooks/apigift/{token}/{event} (optional)")
	fs.StringVar(&f.secret, "secret", "", "the provider's secret JSON (default: its entry in -secrets)")
	fs.StringVar(&f.secretsFile, "secrets", "events/dev-secrets.json", "development secrets file")
	fs.StringVar(&f.keyFile, "key", "events/oslpay/dev-private-key.pem", "oslpay: RSA private key (PEM, PKCS#8 or PKCS#1)")
	fs.StringVar(&f.bodyFile, "body", "", "file holding the body, - for stdin")
	fs.StringVar(&f.data, "data", "", "the body itself")
	fs.Int64Var(&f.timestamp, "timestamp", 0, "oslpay: timestamp in ms (default now)")
	fs.BoolVar(&f.secretKey, "secret-key-header", false, "apigift: also send the account's secretKey in the secret-key header")
	return f
}

// signed is a request as the provider would send it.
type signed struct {
	Path    string
	Headers [][2]string // in a stable order, as sent
	Body    []byte
}

func (f *signFlags) body() ([]byte, error) {
	switch {
	case f.data != "" && f.bodyFile != "":
		return nil, errors.New("give -body or -data, not both")
	case f.data != "":
		return []byte(f.data), nil
	case f.bodyFile == "-":
		return io.ReadAll(os.Stdin)
	case f.bodyFile != "":
		return os.ReadFile(f.bodyFile)
	}
	return nil, errors.New("no body: give -body FILE, -body - or -data JSON")
}

func (f *signFlags) secretJSON() ([]byte, error) {
	if f.secret != "" {
		return []byte(f.secret), nil
	}
	raw, err := os.ReadFile(f.secretsFile)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w (give -secret JSON or -secrets FILE)", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("secrets %s: %w", f.secretsFile, err)
	}
	s, ok := all[f.provider]
	if !ok {
		return nil, fmt.Errorf("secrets %s has no %q entry", f.secretsFile, f.provider)
	}
	return s, nil
}

// sign builds the provider's request for the body, signed with its secret
// (internal/signer: the same code the soak and load runs sign with).
func (f *signFlags) sign(now time.Time) (signed, error) {
	body, err := f.body()
	if err != nil {
		return signed{}, err
	}
	secretRaw, err := f.secretJSON()
	if err != nil {
		return signed{}, err
	}
	var keyPEM []byte
	if f.provider == "oslpay" {
		if keyPEM, err = os.ReadFile(f.keyFile); err != nil {
			return signed{}, fmt.Errorf("oslpay key: %w", err)
		}
		if f.timestamp != 0 {
			now = time.UnixMilli(f.timestamp)
		}
	}
	keys, err := signer.FromSecrets(map[string]json.RawMessage{f.provider: secretRaw}, keyPEM)
	if err != nil {
		return signed{}, err
	}
	keys.APIGiftSendSecretKey = f.secretKey
	variant := f.kind
	if f.provider == "apigift" {
		variant = f.event
	}
	req, err := keys.Request(f.provider, variant, body, now)
	if err != nil {
		return signed{}, err
	}
	out := signed{Path: req.Path, Body: body, Headers: [][2]string{{"Content-Type", "application/json"}}}
	names := make([]string, 0, len(req.Headers))
	for name := range req.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out.Headers = append(out.Headers, [2]string{name, req.Headers[name]})
	}
	return out, nil
}

func runSign(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	f := addSignFlags(fs)
	format := fs.String("format", "http", "http (the raw request), curl (a command), or event (the payload-2.0 event the gateway sends the function, for tests or sam local invoke -e)")
	base := fs.String("url", "http://127.0.0.1:3000", "gateway base URL used in the output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := f.sign(time.Now())
	if err != nil {
		return err
	}
	return printSigned(w, s, *format, strings.TrimSuffix(*base, "/"))
}

func printSigned(w io.Writer, s signed, format, base string) error {
	switch format {
	case "http":
		fmt.Fprintf(w, "POST %s HTTP/1.1\n", s.Path)
		for _, h := range s.Headers {
			fmt.Fprintf(w, "%s: %s\n", h[0], h[1])
		}
		fmt.Fprintf(w, "\n%s\n", s.Body)
	case "curl":
		fmt.Fprintf(w, "curl -sS -i -X POST %s", shellQuote(base+s.Path))
		for _, h := range s.Headers {
			fmt.Fprintf(w, " \\\n  -H %s", shellQuote(h[0]+": "+h[1]))
		}
		fmt.Fprintf(w, " \\\n  --data-binary %s\n", shellQuote(string(s.Body)))
	case "event":
		req := httptest.NewRequest(http.MethodPost, base+s.Path, strings.NewReader(string(s.Body)))
		for _, h := range s.Headers {
			req.Header.Set(h[0], h[1])
		}
		route, params, ok := localrun.Match(http.MethodPost, req.URL.EscapedPath())
		if !ok {
			return fmt.Errorf("no route for %s", s.Path)
		}
		ev := localrun.BuildEvent(req, s.Body, route, params, "webhookctl", time.Now())
		b, err := json.MarshalIndent(ev, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\n", b)
	default:
		return fmt.Errorf("unknown -format %q (http, curl, event)", format)
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
