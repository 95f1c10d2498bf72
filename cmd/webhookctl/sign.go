package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
)

// signFlags select a provider, its secret and the body to sign.
type signFlags struct {
	provider    string
	variant     string // the kit's variant: its path parameter (-kind, -event)
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
	fs.StringVar(&f.provider, "provider", "", strings.Join(kits.Names(), ", "))
	// One flag per variant parameter the providers have, named after it.
	seen := map[string]bool{}
	for _, k := range kits.All {
		if k.Variant == "" || seen[k.Variant] {
			continue
		}
		seen[k.Variant] = true
		fs.StringVar(&f.variant, k.Variant, "", variantHelp(k.Variant))
	}
	fs.StringVar(&f.secret, "secret", "", "the provider's secret JSON (default: its entry in -secrets)")
	fs.StringVar(&f.secretsFile, "secrets", "events/dev-secrets.json", "development secrets file (its folder holds the development keys)")
	fs.StringVar(&f.keyFile, "key", "", "private key (PEM) for a provider that signs with one (default: its development key beside -secrets)")
	fs.StringVar(&f.bodyFile, "body", "", "file holding the body, - for stdin")
	fs.StringVar(&f.data, "data", "", "the body itself")
	fs.Int64Var(&f.timestamp, "timestamp", 0, "signing time in ms since the epoch (default now)")
	fs.BoolVar(&f.secretKey, "secret-key-header", false, "also send the account's shared secret in a header, where the provider allows it")
	return f
}

// variantHelp lists, for a variant parameter, each provider's values.
func variantHelp(param string) string {
	var parts []string
	for _, k := range kits.All {
		if k.Variant == param {
			req := "optional"
			if k.VariantRequired {
				req = "required"
			}
			parts = append(parts, fmt.Sprintf("%s (%s): %s", k.Name, req, strings.Join(k.Variants, ", ")))
		}
	}
	return strings.Join(parts, "; ")
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
// (the provider's kit: the same code the soak and load runs sign with).
func (f *signFlags) sign(now time.Time) (signed, error) {
	if f.provider == "" {
		return signed{}, fmt.Errorf("give -provider: one of %s", strings.Join(kits.Names(), ", "))
	}
	kit, err := kits.Get(f.provider)
	if err != nil {
		return signed{}, err
	}
	if err := kit.CheckVariant(f.variant); err != nil {
		return signed{}, err
	}
	body, err := f.body()
	if err != nil {
		return signed{}, err
	}
	secretRaw, err := f.secretJSON()
	if err != nil {
		return signed{}, err
	}
	var keyPEM []byte
	if kit.KeyFile != "" {
		file := f.keyFile
		if file == "" {
			file = filepath.Join(filepath.Dir(f.secretsFile), kit.KeyFile)
		}
		if keyPEM, err = os.ReadFile(file); err != nil {
			return signed{}, fmt.Errorf("%s key: %w", f.provider, err)
		}
	}
	if f.timestamp != 0 {
		now = time.UnixMilli(f.timestamp)
	}
	sign, err := kit.NewSigner(secretRaw, keyPEM, devkit.SignOptions{SecretHeader: f.secretKey})
	if err != nil {
		return signed{}, fmt.Errorf("%s secret: %w", f.provider, err)
	}
	req, err := sign(f.variant, body, now)
	if err != nil {
		return signed{}, err
	}
	return signedOf(req), nil
}

// signedOf orders a request's headers as sent.
func signedOf(req devkit.Request) signed {
	out := signed{Path: req.Path, Body: req.Body, Headers: [][2]string{{"Content-Type", "application/json"}}}
	names := make([]string, 0, len(req.Headers))
	for name := range req.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out.Headers = append(out.Headers, [2]string{name, req.Headers[name]})
	}
	return out
}

func runSign(args []string, w, stderr io.Writer) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := addSignFlags(fs)
	format := fs.String("format", "http", "http (the raw request), curl (a command), or event (the payload-2.0 event the gateway sends the function, for tests or sam local invoke -e)")
	flagURL := fs.String("url", "", "gateway base URL the request is addressed to (default: the running make run's, from -state; without one, sign refuses)")
	state := fs.String("state", defaultStateFile, "state file of the running make run (written by make run while it runs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := f.sign(time.Now())
	if err != nil {
		return err
	}
	if !validFormat(*format) {
		return fmt.Errorf("unknown -format %q (http, curl, event)", *format)
	}
	base, err := gatewayURL(*flagURL, *state)
	if err != nil {
		return err
	}
	return printSigned(w, s, *format, base)
}

func validFormat(f string) bool { return f == "http" || f == "curl" || f == "event" }

func printSigned(w io.Writer, s signed, format, base string) error {
	switch format {
	case "http":
		fmt.Fprintf(w, "POST %s HTTP/1.1\n", s.Path)
		if u, err := url.Parse(base); err == nil && u.Host != "" {
			fmt.Fprintf(w, "Host: %s\n", u.Host)
		}
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
