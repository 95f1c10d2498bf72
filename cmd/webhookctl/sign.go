package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"webhooks/internal/localgw"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/tiki"
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

// sign builds the provider's request for the body, signed with its secret.
func (f *signFlags) sign(now time.Time) (signed, error) {
	body, err := f.body()
	if err != nil {
		return signed{}, err
	}
	secretRaw, err := f.secretJSON()
	if err != nil {
		return signed{}, err
	}
	out := signed{Body: body, Headers: [][2]string{{"Content-Type", "application/json"}}}
	switch f.provider {
	case "tiki":
		var sec map[string]string
		if err := json.Unmarshal(secretRaw, &sec); err != nil {
			return out, fmt.Errorf("tiki secret: %w", err)
		}
		switch f.kind {
		case "order", "stock", "aftersale":
		default:
			return out, fmt.Errorf("tiki needs -kind order, stock or aftersale (got %q)", f.kind)
		}
		key := sec[f.kind]
		if key == "" {
			return out, fmt.Errorf("tiki secret has no %q key", f.kind)
		}
		out.Path = "/webhooks/tiki/" + f.kind
		out.Headers = append(out.Headers, [2]string{"X-Signature", tiki.Sign(key, body)})
	case "apigift", "alchemypay":
		var sec struct {
			URLToken  string `json:"urlToken"`
			SecretKey string `json:"secretKey"`
		}
		if err := json.Unmarshal(secretRaw, &sec); err != nil {
			return out, fmt.Errorf("%s secret: %w", f.provider, err)
		}
		if sec.URLToken == "" {
			return out, fmt.Errorf("%s secret has no urlToken", f.provider)
		}
		out.Path = "/webhooks/" + f.provider + "/" + sec.URLToken
		if f.provider == "apigift" && f.event != "" {
			out.Path += "/" + f.event
		}
		if f.provider == "apigift" && f.secretKey {
			if sec.SecretKey == "" {
				return out, errors.New("apigift secret has no secretKey")
			}
			out.Headers = append(out.Headers, [2]string{apigift.SecretKeyHeader, sec.SecretKey})
		}
	case "oslpay":
		var sec struct {
			AppID string `json:"appId"`
			Hash  string `json:"hash"`
		}
		if err := json.Unmarshal(secretRaw, &sec); err != nil {
			return out, fmt.Errorf("oslpay secret: %w", err)
		}
		if sec.AppID == "" {
			return out, errors.New("oslpay secret has no appId")
		}
		key, err := loadRSAKey(f.keyFile)
		if err != nil {
			return out, err
		}
		ts := f.timestamp
		if ts == 0 {
			ts = now.UnixMilli()
		}
		sig, err := oslpaySignature(key, sec.Hash, sec.AppID, ts)
		if err != nil {
			return out, err
		}
		out.Path = "/webhooks/oslpay"
		out.Headers = append(out.Headers,
			[2]string{"appId", sec.AppID},
			[2]string{"timestamp", strconv.FormatInt(ts, 10)},
			[2]string{"signature", sig})
	default:
		return out, fmt.Errorf("unknown -provider %q (tiki, apigift, alchemypay, oslpay)", f.provider)
	}
	return out, nil
}

// oslpaySignature is OSL Pay's scheme (PROVIDERS.md): RSA PKCS#1 v1.5 over
// "appId=<appId>&timestamp=<ms>", base64; SHA-256 unless the secret's hash says otherwise.
func oslpaySignature(key *rsa.PrivateKey, hashName, appID string, ts int64) (string, error) {
	var h crypto.Hash
	switch strings.ToUpper(strings.ReplaceAll(hashName, "-", "")) {
	case "", "SHA256":
		h = crypto.SHA256
	case "SHA1":
		h = crypto.SHA1
	case "SHA384":
		h = crypto.SHA384
	case "SHA512":
		h = crypto.SHA512
	default:
		return "", fmt.Errorf("oslpay: unsupported hash %q", hashName)
	}
	d := h.New()
	fmt.Fprintf(d, "appId=%s&timestamp=%d", appID, ts)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, d.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("oslpay: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func loadRSAKey(path string) (*rsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("oslpay key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("oslpay key %s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("oslpay key %s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("oslpay key %s is not an RSA key", path)
	}
	return rk, nil
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
		route, params, ok := localgw.Match(http.MethodPost, req.URL.EscapedPath())
		if !ok {
			return fmt.Errorf("no route for %s", s.Path)
		}
		ev := localgw.BuildEvent(req, s.Body, route, params, "webhookctl", time.Now())
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
