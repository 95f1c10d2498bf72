package oslpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/verify"
)

var (
	keysOnce sync.Once
	keyA     *rsa.PrivateKey
	keyB     *rsa.PrivateKey
)

// keys generates two real 2048-bit key pairs once per test binary.
func keys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if keyA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keyB, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return keyA, keyB
}

func pkixPEM(t testing.TB, pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func secretJSON(t testing.TB, pub *rsa.PublicKey, extra string) []byte {
	b, _ := json.Marshal(pkixPEM(t, pub))
	return []byte(`{"appId":"app-1","publicKey":` + string(b) + extra + `}`)
}

func mustSecret(t testing.TB, raw []byte) Secret {
	t.Helper()
	s, err := New().ParseSecret(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

const orderBody = `{"type":"order_status_change","data":{"orderId":"O1","state":"PROCESSING","updateTime":"1795341600000","appid":"app-1","privateSecret":"s3cr3t-value"}}`

func request(headers map[string]string, body string) *apigw.Request {
	h := apigw.Headers{}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return &apigw.Request{Method: http.MethodPost, Headers: h, Body: []byte(body), Received: now, PathParams: map[string]string{}}
}

func TestParseSecret(t *testing.T) {
	a, _ := keys(t)
	der1 := x509.MarshalPKCS1PublicKey(&a.PublicKey)
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der1}))
	derPKIX, _ := x509.MarshalPKIXPublicKey(&a.PublicKey)
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }

	for name, raw := range map[string]string{
		"pkix":                 string(secretJSON(t, &a.PublicKey, "")),
		"pkcs1":                `{"appId":"app-1","publicKey":` + q(pkcs1) + `}`,
		"bare base64 pkix":     `{"appId":"app-1","publicKey":` + q(base64.StdEncoding.EncodeToString(derPKIX)) + `}`,
		"escaped newlines":     `{"appId":"app-1","publicKey":` + q(strings.ReplaceAll(pkixPEM(t, &a.PublicKey), "\n", `\n`)) + `}`,
		"hash and tolerance":   string(secretJSON(t, &a.PublicKey, `,"hash":"SHA512","toleranceSeconds":60`)),
		"hash spelled sha-384": string(secretJSON(t, &a.PublicKey, `,"hash":"sha-384"`)),
		"null optional fields": string(secretJSON(t, &a.PublicKey, `,"hash":null,"toleranceSeconds":null`)),
	} {
		s, err := New().ParseSecret([]byte(raw))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !s.PublicKey.Equal(&a.PublicKey) || s.AppID != "app-1" {
			t.Errorf("%s: parsed %+v", name, s)
		}
	}
	s := mustSecret(t, secretJSON(t, &a.PublicKey, ""))
	if s.Hash != crypto.SHA256 || s.Tolerance != 300*time.Second {
		t.Errorf("defaults: hash %v tolerance %v", s.Hash, s.Tolerance)
	}
	s = mustSecret(t, secretJSON(t, &a.PublicKey, `,"hash":"SHA384","toleranceSeconds":60`))
	if s.Hash != crypto.SHA384 || s.Tolerance != time.Minute {
		t.Errorf("explicit: hash %v tolerance %v", s.Hash, s.Tolerance)
	}

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWt5tq4yJ3Nq6kqYpdNwAqc8Tu0lP\nFm0FqvN4OnFTgiXOKyaY6VQz7YkF0q2j5mLTtBR0Bv8VKX6SxKqOGtL4cw==\n-----END PUBLIC KEY-----\n"
	for name, raw := range map[string]string{
		"empty":                 ``,
		"not an object":         `"x"`,
		"placeholder":           `{"placeholder":"set me"}`,
		"no appId":              `{"publicKey":` + q(pkixPEM(t, &a.PublicKey)) + `}`,
		"empty appId":           `{"appId":" ","publicKey":` + q(pkixPEM(t, &a.PublicKey)) + `}`,
		"no key":                `{"appId":"app-1"}`,
		"garbage key":           `{"appId":"app-1","publicKey":"not a key"}`,
		"private key":           `{"appId":"app-1","publicKey":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`,
		"EC key":                `{"appId":"app-1","publicKey":` + q(ecPEM) + `}`,
		"1024-bit key":          string(secretJSON(t, &small.PublicKey, "")),
		"SHA1":                  string(secretJSON(t, &a.PublicKey, `,"hash":"SHA1"`)),
		"MD5":                   string(secretJSON(t, &a.PublicKey, `,"hash":"MD5"`)),
		"zero tolerance":        string(secretJSON(t, &a.PublicKey, `,"toleranceSeconds":0`)),
		"negative tolerance":    string(secretJSON(t, &a.PublicKey, `,"toleranceSeconds":-5`)),
		"fractional tolerance":  string(secretJSON(t, &a.PublicKey, `,"toleranceSeconds":1.5`)),
		"string tolerance":      string(secretJSON(t, &a.PublicKey, `,"toleranceSeconds":"300"`)),
		"appId of wrong type":   `{"appId":7,"publicKey":` + q(pkixPEM(t, &a.PublicKey)) + `}`,
		"hash of wrong type":    string(secretJSON(t, &a.PublicKey, `,"hash":256`)),
		"huge tolerance":        string(secretJSON(t, &a.PublicKey, `,"toleranceSeconds":1e12`)),
		"publicKey wrong type":  `{"appId":"app-1","publicKey":{"n":1}}`,
		"publicKey empty":       `{"appId":"app-1","publicKey":""}`,
		"appId only whitespace": `{"appId":"\t","publicKey":"x"}`,
	} {
		_, err := New().ParseSecret([]byte(raw))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "MIIB") || strings.Contains(err.Error(), "app-1") {
			t.Errorf("%s: error echoes the secret: %v", name, err)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	a, _ := keys(t)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		s := Secret{AppID: "app-1", PublicKey: &a.PublicKey, Hash: h, Tolerance: time.Minute}
		hd, err := SignedHeaders(a, h, "app-1", now)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(hd[HeaderAppID], hd[HeaderTimestamp], hd[HeaderSignature], s, now); err != nil {
			t.Errorf("%v: %v", h, err)
		}
		if hd[HeaderTimestamp] != strconv.FormatInt(now.UnixMilli(), 10) {
			t.Errorf("timestamp header %s", hd[HeaderTimestamp])
		}
	}
}

// Every way the headers can be wrong, each against a valid baseline.
func TestAuthenticateHeaderFailures(t *testing.T) {
	a, b := keys(t)
	s := mustSecret(t, secretJSON(t, &a.PublicKey, `,"toleranceSeconds":300`))
	good, err := SignedHeaders(a, crypto.SHA256, "app-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := New().Authenticate(request(good, orderBody), s); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	signAt := func(key *rsa.PrivateKey, h crypto.Hash, app string, at time.Time) map[string]string {
		hd, err := SignedHeaders(key, h, app, at)
		if err != nil {
			t.Fatal(err)
		}
		return hd
	}
	with := func(k, v string) map[string]string {
		out := map[string]string{}
		for kk, vv := range good {
			out[kk] = vv
		}
		if v == "-" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	rawSig, _ := base64.StdEncoding.DecodeString(good[HeaderSignature])
	flipped := append([]byte(nil), rawSig...)
	flipped[10] ^= 0x80
	tsOf := func(at time.Time) string { return strconv.FormatInt(at.UnixMilli(), 10) }
	signedText := func(app, ts string) string {
		d := crypto.SHA256.New()
		d.Write([]byte(SignedString(app, ts)))
		sig, err := rsa.SignPKCS1v15(rand.Reader, a, crypto.SHA256, d.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(sig)
	}
	cases := []struct {
		name    string
		headers map[string]string
		body    string
		want    error
	}{
		{"missing appId", with(HeaderAppID, "-"), orderBody, verify.ErrMissingCredential},
		{"missing timestamp", with(HeaderTimestamp, "-"), orderBody, verify.ErrMissingCredential},
		{"missing signature", with(HeaderSignature, "-"), orderBody, verify.ErrMissingCredential},
		{"empty signature", with(HeaderSignature, "  "), orderBody, verify.ErrMissingCredential},
		{"appId mismatch, signed for it", signAt(a, crypto.SHA256, "app-2", now), orderBody, verify.ErrInvalidCredential},
		{"appId header changed", with(HeaderAppID, "app-2"), orderBody, verify.ErrInvalidCredential},
		{"appId differs in case", with(HeaderAppID, "APP-1"), orderBody, verify.ErrInvalidCredential},
		{"timestamp not numeric", map[string]string{HeaderAppID: "app-1", HeaderTimestamp: "2026-11-22T10:00:00Z", HeaderSignature: signedText("app-1", "2026-11-22T10:00:00Z")}, orderBody, verify.ErrMalformedCredential},
		{"timestamp negative", with(HeaderTimestamp, "-1795341600000"), orderBody, verify.ErrMalformedCredential},
		{"timestamp huge", map[string]string{HeaderAppID: "app-1", HeaderTimestamp: "99999999999999999999999", HeaderSignature: signedText("app-1", "99999999999999999999999")}, orderBody, verify.ErrMalformedCredential},
		{"timestamp in seconds", map[string]string{HeaderAppID: "app-1", HeaderTimestamp: strconv.FormatInt(now.Unix(), 10), HeaderSignature: signedText("app-1", strconv.FormatInt(now.Unix(), 10))}, orderBody, verify.ErrExpired},
		{"timestamp changed", with(HeaderTimestamp, tsOf(now.Add(time.Second))), orderBody, verify.ErrInvalidCredential},
		{"stale", signAt(a, crypto.SHA256, "app-1", now.Add(-301*time.Second)), orderBody, verify.ErrExpired},
		{"future", signAt(a, crypto.SHA256, "app-1", now.Add(301*time.Second)), orderBody, verify.ErrExpired},
		{"bad base64", with(HeaderSignature, "***not base64***"), orderBody, verify.ErrMalformedCredential},
		{"flipped bit", with(HeaderSignature, base64.StdEncoding.EncodeToString(flipped)), orderBody, verify.ErrInvalidCredential},
		{"truncated", with(HeaderSignature, base64.StdEncoding.EncodeToString(rawSig[:100])), orderBody, verify.ErrInvalidCredential},
		{"wrong key", signAt(b, crypto.SHA256, "app-1", now), orderBody, verify.ErrInvalidCredential},
		{"wrong hash (SHA-512 signed, SHA-256 configured)", signAt(a, crypto.SHA512, "app-1", now), orderBody, verify.ErrInvalidCredential},
	}
	for _, tc := range cases {
		err := New().Authenticate(request(tc.headers, tc.body), s)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "MIIB") {
			t.Errorf("%s: error echoes the key", tc.name)
		}
	}
	// The body is not looked at before it is bound to the signature: its appid
	// is checked by Decode, answered 401.
	for _, tc := range []struct{ name, body string }{
		{"body appid foreign", strings.Replace(orderBody, `"appid":"app-1"`, `"appid":"app-2"`, 1)},
		{"body appid top level", `{"appId":"app-2","type":"kyc_status_change","data":{"userId":"u"}}`},
		{"body APPID any case", `{"type":"kyc_status_change","data":{"userId":"u","AppId":"app-2"}}`},
		{"body appid not a string", `{"type":"kyc_status_change","data":{"userId":"u","appid":1}}`},
	} {
		r := request(good, tc.body)
		if err := New().Authenticate(r, s); err != nil {
			t.Errorf("%s: Authenticate looked at the body: %v", tc.name, err)
		}
		_, err := pipeline.DecodeBody(New(), r, s)
		var pe *pipeline.Error
		if !errors.As(err, &pe) || pe.Status != 401 || !errors.Is(err, verify.ErrInvalidCredential) {
			t.Errorf("%s: Decode gave %v, want a 401", tc.name, err)
		}
	}
	// The window is inclusive and holds in both directions; base64 without padding is fine.
	for _, d := range []time.Duration{-300 * time.Second, 300 * time.Second} {
		if err := New().Authenticate(request(signAt(a, crypto.SHA256, "app-1", now.Add(d)), orderBody), s); err != nil {
			t.Errorf("skew %v: %v", d, err)
		}
	}
	if err := New().Authenticate(request(with(HeaderSignature, base64.RawStdEncoding.EncodeToString(rawSig)), orderBody), s); err != nil {
		t.Errorf("unpadded base64: %v", err)
	}
	// An empty or absent body appid is not a mismatch; malformed bodies are left to Decode.
	for _, body := range []string{`{"type":"x","data":{"appid":""}}`, `{"type":"x","data":{"appid":null}}`, `{"type":"x"}`, `not json`} {
		if err := New().Authenticate(request(good, body), s); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
	}
	// With a SHA-512 secret, SHA-512 signatures pass and SHA-256 ones do not.
	s512 := mustSecret(t, secretJSON(t, &a.PublicKey, `,"hash":"SHA512"`))
	if err := New().Authenticate(request(signAt(a, crypto.SHA512, "app-1", now), orderBody), s512); err != nil {
		t.Errorf("SHA-512: %v", err)
	}
	if err := New().Authenticate(request(good, orderBody), s512); !errors.Is(err, verify.ErrInvalidCredential) {
		t.Errorf("SHA-256 against SHA-512 secret: %v", err)
	}
	// An unparsed (zero) secret never verifies.
	if err := New().Authenticate(request(good, orderBody), Secret{}); !errors.Is(err, verify.ErrNotConfigured) {
		t.Errorf("zero secret: %v", err)
	}
}

func decode(t *testing.T, body string, s Secret) (*pipeline.Event, error) {
	t.Helper()
	a, _ := keys(t)
	hd, err := SignedHeaders(a, crypto.SHA256, "app-1", now)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.DecodeBody(New(), request(hd, body), s)
}

func TestDecode(t *testing.T) {
	a, _ := keys(t)
	s := mustSecret(t, secretJSON(t, &a.PublicKey, ""))
	cases := []struct {
		body, typ, subject string
	}{
		{orderBody, TypeOrderStatus, "O1"},
		{`{"type":"kyc_status_change","data":{"userId":"U1","kycStatus":"APPROVED"}}`, TypeKYCStatus, "U1"},
		{`{"type":"defi_account_bind_status","data":{"userId":"U2","bindStatus":"BOUND"}}`, TypeDefiAccountBind, "U2"},
		{`{"type":"defi_account_auth_status","data":{"userId":"U3","authStatus":"AUTHORIZED"}}`, TypeDefiAccountAuth, "U3"},
		{`{"type":"wallet_freeze","data":{"userId":"U4"}}`, "oslpay.wallet_freeze", "U4"},
		{`{"type":"refund_status","data":{"orderId":"O9","userId":"U4"}}`, "oslpay.refund_status", "O9"},
		{`{"type":"new.kind v2!","data":{"x":1}}`, "oslpay.new_kind_v2_", ""},
		{`{"type":"order.status_changed","data":[1,2]}`, "oslpay.order_status_changed", ""},
		{`{"type":"only_type"}`, "oslpay.only_type", ""},
		{`{"type":"odd_id","data":{"orderId":7}}`, "oslpay.odd_id", ""},
		{`{"type":"order_status_change","data":{"orderId":"O2","state":"SOMETHING_NEW"}}`, TypeOrderStatus, "O2"},
		{`{"type":"order_status_change","data":{"orderId":"O3","state":"CREATED","fiatAmount":null,"txId":null,"extra":5}}`, TypeOrderStatus, "O3"},
	}
	for _, tc := range cases {
		ev, err := decode(t, tc.body, s)
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if ev.Type != tc.typ || ev.Subject != tc.subject {
			t.Errorf("%s: type %q subject %q, want %q %q", tc.body, ev.Type, ev.Subject, tc.typ, tc.subject)
		}
		if ev.Key == "" {
			t.Errorf("%s: no key", tc.body)
		}
		if strings.Contains(string(ev.Data), "s3cr3t-value") || strings.Contains(string(ev.Data), "privateSecret") {
			t.Errorf("%s: data keeps privateSecret: %s", tc.body, ev.Data)
		}
		if !json.Valid(ev.Data) {
			t.Errorf("%s: data %s", tc.body, ev.Data)
		}
	}
	ev, _ := decode(t, orderBody, s)
	if !ev.Time.Equal(time.UnixMilli(1795341600000)) {
		t.Errorf("time %v", ev.Time)
	}
	// The single-use credential is the signed string, keyed by the signature's bytes.
	a2, _ := keys(t)
	hd, _ := SignedHeaders(a2, crypto.SHA256, "app-1", now)
	cred := New().SingleUse(request(hd, orderBody), s)
	if want := SignedString("app-1", strconv.FormatInt(now.UnixMilli(), 10)); cred.ID != want || len(cred.Key) != 256 || cred.TTL < 2*s.Tolerance {
		t.Errorf("credential %q (key %d bytes, ttl %v), want %q", cred.ID, len(cred.Key), cred.TTL, want)
	}

	for _, tc := range []struct{ body, code string }{
		{`{"data":{}}`, pipeline.CodeMissingField},
		{`{"type":null,"data":{}}`, pipeline.CodeMissingField},
		{`{"type":"","data":{}}`, pipeline.CodeMissingField},
		{`{"type":5,"data":{}}`, pipeline.CodeInvalidField},
		{`{"type":"order_status_change"}`, pipeline.CodeMissingField},
		{`{"type":"order_status_change","data":null}`, pipeline.CodeMissingField},
		{`{"type":"order_status_change","data":"x"}`, pipeline.CodeInvalidField},
		{`{"type":"order_status_change","data":{"state":"PROCESSING"}}`, pipeline.CodeMissingField},
		{`{"type":"order_status_change","data":{"orderId":"","state":"PROCESSING"}}`, pipeline.CodeMissingField},
		{`{"type":"order_status_change","data":{"orderId":12,"state":"PROCESSING"}}`, pipeline.CodeInvalidField},
		{`{"type":"order_status_change","data":{"orderId":"O1"}}`, pipeline.CodeMissingField},
		{`{"type":"kyc_status_change","data":{"kycStatus":"APPROVED"}}`, pipeline.CodeMissingField},
		{`{"type":"defi_account_bind_status","data":[]}`, pipeline.CodeInvalidField},
		// Documented strings are strings (consumers read them so: schemas/).
		{`{"type":"order_status_change","data":{"orderId":"O1","state":"PROCESSING","fiatAmount":780}}`, pipeline.CodeInvalidField},
		{`{"type":"order_status_change","data":{"orderId":"O1","state":"PROCESSING","updateTime":1793520300000}}`, pipeline.CodeInvalidField},
		{`{"type":"order_status_change","data":{"orderId":"O1","state":"PROCESSING","userId":{}}}`, pipeline.CodeInvalidField},
		{`{"type":"kyc_status_change","data":{"userId":"U1","updateTime":1793520300}}`, pipeline.CodeInvalidField},
		{`[]`, pipeline.CodeMalformedJSON},
	} {
		_, err := decode(t, tc.body, s)
		var pe *pipeline.Error
		if !errors.As(err, &pe) || pe.Code != tc.code || pe.Status != 400 {
			t.Errorf("%s: got %v, want 400 %s", tc.body, err, tc.code)
		}
	}
}

// The key depends on the content only: the same event signed at another time
// (OSL re-signs retries) or re-serialised has the same key; a new state does not.
func TestDecodeKeys(t *testing.T) {
	a, _ := keys(t)
	s := mustSecret(t, secretJSON(t, &a.PublicKey, ""))
	key := func(body string, at time.Time) string {
		hd, _ := SignedHeaders(a, crypto.SHA256, "app-1", at)
		ev, err := pipeline.DecodeBody(New(), request(hd, body), s)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Key
	}
	k1 := key(orderBody, now)
	if k2 := key(orderBody, now.Add(time.Minute)); k1 != k2 {
		t.Error("re-signed retry changed the key")
	}
	reordered := `{"data":{"state":"PROCESSING","orderId":"O1","appid":"app-1","updateTime":"1795341600000"}, "type":"order_status_change"}`
	if key(reordered, now) != k1 {
		t.Error("re-serialised body changed the key")
	}
	if key(strings.Replace(orderBody, "PROCESSING", "COMPLETED", 1), now) == k1 {
		t.Error("new state, same key")
	}
	kyc := `{"type":"kyc_status_change","data":{"userId":"U1","kycStatus":"PENDING"}}`
	kyc2 := `{"data":{"kycStatus":"PENDING","userId":"U1"},"type":"kyc_status_change"}`
	if key(kyc, now) != key(kyc2, now.Add(time.Second)) {
		t.Error("kyc: same content, different key")
	}
	if key(kyc, now) == key(strings.Replace(kyc, "PENDING", "APPROVED", 1), now) {
		t.Error("kyc: new status, same key")
	}
}

func TestEventType(t *testing.T) {
	for in, want := range map[string]string{
		"order_status_change":      TypeOrderStatus,
		"kyc_status_change":        TypeKYCStatus,
		"defi_account_bind_status": TypeDefiAccountBind,
		"defi_account_auth_status": TypeDefiAccountAuth,
		"card-frozen":              "oslpay.card-frozen",
		"Order_Status_Change":      "oslpay.Order_Status_Change",
		"a.b":                      "oslpay.a_b",
		"über\n<script>":           "oslpay._ber__script_",
		"...":                      "oslpay.unknown",
		" ":                        "oslpay.unknown",
		strings.Repeat("x", 200):   "oslpay." + strings.Repeat("x", 64),
	} {
		if got := EventType(in); got != want {
			t.Errorf("EventType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSanitise(t *testing.T) {
	out, err := Sanitise([]byte(`{"privateSecret":"p","PRIVATE_SECRET":"q","clientSecret":"r","nested":[{"password":"w","privateKey":"k","keep":"v"}],
		"cardNumber":"4111111111111111","merchantOrderId":"5555555555554444","orderId":"O1"}`))
	if err != nil {
		t.Fatal(err)
	}
	// Secrets dropped at any depth; card numbers masked wherever they are (nothing is exempt).
	want := `{"nested":[{"keep":"v"}],"cardNumber":"411111******1111","merchantOrderId":"555555******4444","orderId":"O1"}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestReplies(t *testing.T) {
	p := New()
	var ok map[string]any
	if err := json.Unmarshal(p.SuccessBody(now), &ok); err != nil {
		t.Fatal(err)
	}
	if ok["code"] != "00000" || ok["msg"] != "success" || ok["data"] != nil || ok["requestTime"] != float64(now.UnixMilli()) {
		t.Errorf("success %v", ok)
	}
	if _, has := ok["data"]; !has {
		t.Error("success lacks data: null")
	}
	if string(p.SuccessBody(now)) != `{"code":"00000","msg":"success","data":null,"requestTime":`+strconv.FormatInt(now.UnixMilli(), 10)+`}` {
		t.Errorf("success body %s", p.SuccessBody(now))
	}
	for status, code := range map[int]string{400: "00002", 415: "00002", 401: "00003", 403: "00003", 404: "00004", 405: "00004", 413: "00005", 500: "00001", 503: "00001"} {
		var e map[string]any
		if err := json.Unmarshal(p.ErrorBody(status, "some_code", "message", now), &e); err != nil {
			t.Fatal(err)
		}
		if e["code"] != code || e["error"] != "some_code" || e["msg"] != "message" || e["data"] != nil || e["requestTime"] != float64(now.UnixMilli()) {
			t.Errorf("%d: %v", status, e)
		}
	}
}

// orderId and userId, the ids events and message groups are keyed on, are kept
// as sent: masked, two orders whose ids share first 6 and last 4 digits would
// be one event and the second lost.
func TestOrderIdsKeptSoOrdersNeverCollide(t *testing.T) {
	a, _ := keys(t)
	s := mustSecret(t, secretJSON(t, &a.PublicKey, ""))
	var ids []string
	for _, id := range []string{"1823456789019345678", "1823450000009005678"} {
		ev, err := decode(t, `{"type":"order_status_change","data":{"orderId":"`+id+`","state":"COMPLETED","note":"`+id+`"}}`, s)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Subject != id || strings.Contains(string(ev.Data), `"note":"`+id) {
			t.Errorf("subject %s data %s", ev.Subject, ev.Data)
		}
		ids = append(ids, pipeline.Key(ev.Entity, ev.Key))
	}
	if ids[0] == ids[1] {
		t.Error("two orders are one entity in one state")
	}
}

// IsSecretField is the rule of fieldname.IsSecret (whose tests hold it to
// the consumer's and the schemas' reading), and Sanitise drops exactly the
// members it names, at any depth.
func TestIsSecretField(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"privateSecret", true}, {"private_key", true}, {"PrivateKey", true}, {"Pass-Word", true}, {"app_secret_2", true},
		{"pass_word", true}, {"pass1word", true}, {"userId", false}, {"secre", false}, {"keyPrivate", false},
		{"SÉCRET", false}, {"sécret", false}, {"se-cr-et", true}, {"passport", false},
	} {
		if got := IsSecretField(c.name); got != c.want {
			t.Errorf("IsSecretField(%q) = %v", c.name, got)
		}
		key := string(jsonx.AppendString(nil, c.name))
		out, err := Sanitise(json.RawMessage(`{"a":{` + key + `:"v","b":1},"c":[{` + key + `:2}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if dropped := !strings.Contains(string(out), key); dropped != c.want {
			t.Errorf("Sanitise with a member %q: %s", c.name, out)
		}
	}
	long := strings.Repeat("a", 70) + "secret"
	if !IsSecretField(long) || IsSecretField(strings.Repeat("b", 100)) {
		t.Error("long names")
	}
}

// A replay's types filter accepts exactly OSL Pay's own types: the documented
// ones and every type an envelope type can become (generated envelope types,
// card numbers in them masked), never another provider's or a malformed one.
func TestIsEventTypeAcceptsWhatDecodeProduces(t *testing.T) {
	a, _ := keys(t)
	s := mustSecret(t, secretJSON(t, &a.PublicKey, ""))
	p := New()
	rng := mrand.New(mrand.NewPCG(8, 19))
	alphabet := []rune("abcXYZ019_-. /*é\u3000" + "4111111111111111")
	for i := range 2000 {
		var b strings.Builder
		for range rng.IntN(80) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		kind := b.String()
		if i%7 == 0 {
			kind = "x4111111111111111y"
		}
		body, _ := json.Marshal(map[string]any{"type": kind, "data": map[string]any{"orderId": "o1", "userId": "u1"}})
		ev, err := decode(t, string(body), s)
		if err != nil {
			continue // a blank type is refused: no event
		}
		if !p.IsEventType(ev.Type) {
			t.Fatalf("type %q (from %q) is not accepted as an oslpay type", ev.Type, kind)
		}
	}
	for typ, want := range map[string]bool{
		TypeOrderStatus: true, TypeKYCStatus: true, "oslpay.wallet_freeze": true, "oslpay.unknown": true,
		"oslpay.foo.bar": false, "oslpay.": false, "oslpay.___": false, "tiki.order.status_changed": false,
		"oslpay.order status": false, "OSLPAY.x": false, "oslpay." + strings.Repeat("a", 65): false,
	} {
		if p.IsEventType(typ) != want {
			t.Errorf("IsEventType(%q) = %v", typ, !want)
		}
	}
}

// OSL Pay's documented times are kept as sent when they are valid times
// (epoch milliseconds, even Luhn-valid ones), so the event's time is the
// body's; a 13-digit card number under a time's name is no time (every one
// starts with a 4, after 2089) and is masked.
func TestTimesKeptAsSent(t *testing.T) {
	a, _ := keys(t)
	s := mustSecret(t, secretJSON(t, &a.PublicKey, ""))
	for _, c := range []struct {
		value string
		kept  bool
	}{
		{"1723187479007", true}, // Luhn-valid milliseconds: 2024-08-09T07:11:19.007Z
		{"1723187479", true},
		{"4000000000006", false}, // a 13-digit card number: year 2096
		{"4222222222222", false},
		{"1723187479007 4111111111111111", false},
	} {
		for _, kind := range []string{KindOrderStatus, KindKYCStatus} {
			body := `{"type":"` + kind + `","data":{"orderId":"o1","userId":"u1","state":"COMPLETED","updateTime":"` + c.value + `","createTime":"` + c.value + `"}}`
			ev, err := decode(t, body, s)
			if err != nil {
				t.Fatal(err)
			}
			var data map[string]any
			_ = json.Unmarshal(ev.Data, &data)
			if (data["updateTime"] == c.value) != c.kept {
				t.Errorf("%s: updateTime %q stored as %v, want kept %v", kind, c.value, data["updateTime"], c.kept)
			}
			if kind == KindOrderStatus && (data["createTime"] == c.value) != c.kept {
				t.Errorf("createTime %q stored as %v", c.value, data["createTime"])
			}
			if want := parseTime(c.value); c.kept && !ev.Time.Equal(want) {
				t.Errorf("%s: event time %v, want the body's %v", kind, ev.Time, want)
			}
		}
	}
	for v, want := range map[string]bool{"1723187479007": true, "0946684799999": false, "3786911999999": true, "3786912000000": false,
		"172318747900x": false, "2024-08-09T07:11:19.4111111111111111Z": false, "2024-08-09 07:11:19": false, "": false, "-723187479007": false,
		"+723187479007": false, "1723187479": false} {
		if IsTime(v) != want {
			t.Errorf("IsTime(%q) = %v", v, !want)
		}
	}
}

// Sanitise is the storable form of an envelope's data that keeps no field as
// sent: every field named like a secret removed, every card number masked
// (the sanitiser of an unknown type without an id).
func Sanitise(raw json.RawMessage) (json.RawMessage, error) {
	return plainSanitiser.Redact(raw)
}
