package pipeline_test

// What the request path makes of a body is part of the contract: the stored
// data, the event's key and id (stored events de-duplicate on the id), type,
// subject, time and the queue message, and for a rejected body the status,
// code and message. TestGolden runs the CPU steps of the request path on every
// sample under events/, on many generated webhooks per provider
// (internal/hookgen) and on thousands of variations of the samples (fields
// removed, nulled, retyped, renamed, escaped, added), and compares with
// testdata/golden, first written by the code as it was before parsing was
// reworked. Regenerate only for an intended change of behaviour
// (go test -run TestGolden -update), and review the diff: the samples' and
// generated webhooks' outcomes are in full and in plain text, and beside the
// variations' digests a readable subset says what each variation was and what
// became of it (TestGolden's comment lists the files).

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/shared/apigw"
	"webhooks/shared/eventstore"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/alchemypay"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
	"webhooks/shared/queue"
	"webhooks/shared/verify"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current code")

// outcome is what the CPU steps of the request path make of one request.
type outcome struct {
	Name string `json:"name"`
	// Rejected (or failed before any AWS call).
	Status  int    `json:"status,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// Decoded.
	Type       string `json:"type,omitempty"`
	Subject    string `json:"subject,omitempty"`
	Key        string `json:"key,omitempty"`
	Entity     string `json:"entity,omitempty"`
	Time       string `json:"time,omitempty"`
	Deprecated bool   `json:"deprecated,omitempty"`
	ID         string `json:"id,omitempty"` // "" for entity events (their id is recorded state)
	Data       string `json:"data,omitempty"`
	DataSHA256 string `json:"dataSha256,omitempty"`
	Quarantine string `json:"quarantine,omitempty"`
	GroupID    string `json:"groupId,omitempty"`
	Body       string `json:"body,omitempty"` // the encoded queue message
}

// goldenRun runs the pipeline's CPU steps (Handler.serve without its AWS
// calls) for one provider with one secret version.
type goldenRun func(ev events.APIGatewayV2HTTPRequest, now time.Time) outcome

func golden[C any](p pipeline.Provider[C], cfg C) goldenRun {
	return func(ev events.APIGatewayV2HTTPRequest, now time.Time) outcome {
		reject := func(status int, code, msg string) outcome { return outcome{Status: status, Code: code, Message: msg} }
		fromErr := func(e *pipeline.Error) outcome { return reject(e.Status, e.Code, e.Message) }
		req, err := apigw.Adapt(ev, 0, now)
		switch {
		case errors.Is(err, apigw.ErrBodyTooLarge):
			return reject(http.StatusRequestEntityTooLarge, pipeline.CodePayloadTooLarge, "")
		case err != nil:
			return reject(http.StatusBadRequest, pipeline.CodeInvalidEncoding, "")
		}
		if req.Method != http.MethodPost {
			return reject(http.StatusMethodNotAllowed, pipeline.CodeMethodNotAllowed, "")
		}
		var route pipeline.Route
		var routeErr error
		if r, ok := any(p).(pipeline.Router); ok {
			route, routeErr = r.Route(req)
			req.Variant = route.Variant
		}
		authErr := func() error {
			if routeErr != nil {
				return routeErr
			}
			if sc, ok := any(p).(pipeline.SourceChecker[C]); ok {
				if err := sc.CheckSource(req, cfg); err != nil {
					return err
				}
			}
			return p.Authenticate(req, cfg)
		}()
		if authErr != nil {
			var pe *pipeline.Error
			switch {
			case errors.As(authErr, &pe):
				return fromErr(pe)
			case errors.Is(authErr, verify.ErrSourceNotAllowed):
				return reject(http.StatusForbidden, pipeline.CodeForbidden, "")
			default:
				return reject(http.StatusUnauthorized, pipeline.CodeUnauthorized, "")
			}
		}
		if route.NotFound != nil {
			return fromErr(route.NotFound)
		}
		if ct := req.Headers.Get("content-type"); strings.TrimSpace(ct) != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && mt != "text/json" && mt != "text/plain" && !strings.HasSuffix(mt, "+json")) {
				return reject(http.StatusUnsupportedMediaType, pipeline.CodeUnsupportedMedia, "")
			}
		}
		doc, err := jsonx.Parse(req.Body)
		if err != nil {
			return fromErr(pipeline.MalformedJSON(err))
		}
		e, err := pipeline.DecodeDoc(p, req, doc, cfg)
		doc.Release()
		if err != nil {
			var pe *pipeline.Error
			if errors.As(err, &pe) {
				return fromErr(pe)
			}
			return reject(http.StatusBadRequest, pipeline.CodeMalformedJSON, "body could not be parsed")
		}
		if err := e.Validate(); err != nil {
			return reject(http.StatusInternalServerError, pipeline.CodeInternal, err.Error())
		}
		e.Time = pipeline.EventTime(e.Time, req.Received)
		o := outcome{Type: e.Type, Subject: e.Subject, Key: e.Key, Entity: e.Entity, Time: e.Time.Format(time.RFC3339Nano),
			Deprecated: e.Deprecated, Data: string(e.Data), DataSHA256: eventstore.Digest(e.Data)}
		id := "entity-event"
		if e.Entity == "" {
			id = pipeline.EventID(p.Name(), e.Key)
			o.ID = id
		}
		data := json.RawMessage(e.Data)
		if en, ok := any(p).(pipeline.Enricher[C]); ok {
			if data, err = pipeline.EnrichData(en, e, cfg); err != nil {
				var q *pipeline.QuarantineError
				if !errors.As(err, &q) {
					return reject(http.StatusInternalServerError, pipeline.CodeInternal, err.Error())
				}
				o.Quarantine = q.Reason
				return o
			}
		}
		m := queue.NewMessage(p.Name(), queue.NewCloudEvent(p.Name(), id, e.Type, e.Subject, e.Time, data))
		o.GroupID, o.Body = m.GroupID, string(m.Body)
		return o
	}
}

func goldenRuns(t *testing.T) map[string]goldenRun {
	t.Helper()
	runs := map[string]goldenRun{}
	add := func(name string, r goldenRun) { runs[name] = r }
	{
		p := tiki.New()
		add(tiki.Name, golden(p, mustSecret(t, p)))
	}
	{
		p := apigift.New()
		add(apigift.Name, golden(p, mustSecret(t, p)))
	}
	{
		p := alchemypay.New()
		add(alchemypay.Name, golden(p, mustSecret(t, p)))
	}
	{
		p := oslpay.New()
		add(oslpay.Name, golden(p, mustSecret(t, p)))
	}
	return runs
}

// goldenCase is one request of the golden set.
type goldenCase struct {
	provider, name string
	ev             events.APIGatewayV2HTTPRequest
	// For a variation: the sample it varies, and what was done to it (kind
	// "route" for the sample on another route).
	sample, kind, label string
	path                []string
}

var goldenNow = devkit.SampleTime.Add(time.Second)

func goldenCases(t *testing.T) (full, variations []goldenCase) {
	t.Helper()
	dir := devkit.EventsDir()
	keys, err := devkit.DevSigners(kits.All, dir)
	if err != nil {
		t.Fatal(err)
	}
	var oslHeaders map[string]string // OSL Pay's signature does not cover the body: sign once
	signed := func(provider, variant string, body []byte) events.APIGatewayV2HTTPRequest {
		if provider == oslpay.Name && oslHeaders != nil {
			r, _ := keys.Request(tiki.Name, tiki.KindOrder, body, devkit.SampleTime) // route only
			r.Name, r.RouteKey, r.Path, r.PathParams, r.Headers = provider, "POST /webhooks/oslpay", "/webhooks/oslpay", nil, oslHeaders
			return devkit.HTTPEvent(r).Event
		}
		r, err := keys.Request(provider, variant, body, devkit.SampleTime)
		if err != nil {
			t.Fatal(err)
		}
		if provider == oslpay.Name {
			oslHeaders = r.Headers
		}
		return devkit.HTTPEvent(r).Event
	}
	for _, kit := range kits.All {
		provider := kit.Name
		list, err := devkit.Load(dir, provider)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			full = append(full, goldenCase{provider: provider, name: "sample/" + s.Name, ev: s.Event})
		}
		hooks, err := devkit.Generate(dir, kit, "golden", 64)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range hooks {
			full = append(full, goldenCase{provider: provider, name: fmt.Sprintf("hookgen/%d", i), ev: signed(provider, w.Variant, w.Body)})
		}
		for _, s := range list {
			if devkit.MustReject(s.Name) || s.Event.IsBase64Encoded {
				continue
			}
			variant := s.Event.PathParameters["kind"]
			if provider == apigift.Name {
				variant = s.Event.PathParameters["event"]
			}
			for i, v := range labelledVariations([]byte(s.Event.Body)) {
				variations = append(variations, goldenCase{provider: provider, name: fmt.Sprintf("variation/%s/%d", s.Name, i), ev: signed(provider, variant, v.body),
					sample: s.Name, kind: v.kind, label: v.label, path: v.path})
				if provider == apigift.Name && variant != "" && i%3 == 0 { // the same body on the generic route
					variations = append(variations, goldenCase{provider: provider, name: fmt.Sprintf("variation/%s/%d/inferred", s.Name, i), ev: signed(provider, "", v.body),
						sample: s.Name, kind: v.kind + " (generic route)", label: v.label + " (generic route)", path: v.path})
				}
			}
		}
	}
	// Route variants: every Tiki kind and APIGift slug with every sample body.
	for _, provider := range []string{tiki.Name, apigift.Name} {
		list, _ := devkit.Load(dir, provider)
		variants := []string{"order", "stock", "aftersale", "Order", "nope", ""}
		if provider == apigift.Name {
			variants = []string{""}
			for slug := range apigift.Slugs {
				variants = append(variants, slug)
			}
			sort.Strings(variants)
			variants = append(variants, "nope")
		}
		for _, s := range list {
			if devkit.MustReject(s.Name) || s.Event.IsBase64Encoded {
				continue
			}
			for _, v := range variants {
				ev := s.Event
				ev.PathParameters = map[string]string{}
				for k, x := range s.Event.PathParameters {
					ev.PathParameters[k] = x
				}
				if provider == tiki.Name {
					key := map[string]string{"order": tikiSecret.Order, "stock": tikiSecret.Stock, "aftersale": tikiSecret.Aftersale}[v]
					if key == "" {
						key = tikiSecret.Order
					}
					ev.PathParameters["kind"] = v
					ev.Headers = map[string]string{"x-signature": tiki.Sign(key, []byte(ev.Body))}
				} else {
					ev.PathParameters["event"] = v
				}
				param := map[string]string{tiki.Name: "kind", apigift.Name: "event"}[provider]
				variations = append(variations, goldenCase{provider: provider, name: "route/" + s.Name + "/" + v, ev: ev,
					sample: s.Name, kind: "route", label: fmt.Sprintf("on the route with %s %q", param, v)})
			}
		}
	}
	return full, variations
}

// tikiSecret is Tiki's development secret, for re-signing on another kind.
var tikiSecret = func() tiki.Secret {
	var sec tiki.Secret
	dev, err := devkit.LoadDevSecrets(devkit.EventsDir())
	if err == nil {
		_ = json.Unmarshal(dev[tiki.Name], &sec)
	}
	return sec
}()

func goldenFile(name string) string { return filepath.Join("testdata", "golden", name) }

func encodeOutcome(o outcome) []byte {
	b, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	return b
}

// The golden files (testdata/golden):
//
//   - outcomes.json: every sample's and generated webhook's outcome in full,
//     one indented JSON object each, so that a diff shows the fields that changed;
//   - variations.txt.gz: a digest of every variation's outcome (thousands);
//   - variations-review.txt: beside the digests, a readable line for a fixed
//     subset of the variations (reviewKinds), so that a regenerated diff
//     shows what changed and not only that something did.
func TestGolden(t *testing.T) {
	runs := goldenRuns(t)
	full, variations := goldenCases(t)
	if len(full) < 300 || len(variations) < 5000 {
		t.Fatalf("only %d full and %d variation cases", len(full), len(variations))
	}
	var fullOut, varOut, reviewOut bytes.Buffer
	for _, c := range full {
		o := runs[c.provider](c.ev, goldenNow)
		o.Name = c.provider + "/" + c.name
		b, err := json.MarshalIndent(o, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		fullOut.Write(b)
		fullOut.WriteByte('\n')
	}
	reviewed := map[string]int{}
	asIs := map[string]outcome{} // by provider and sample: the unvaried sample's outcome
	for _, c := range variations {
		o := runs[c.provider](c.ev, goldenNow)
		o.Name = c.provider + "/" + c.name
		if c.kind == "as is" {
			asIs[c.provider+"/"+c.sample] = o
		}
		sum := sha256.Sum256(encodeOutcome(o))
		// The body's own digest names the case: the names of variations may
		// shift when samples are added, their bodies do not.
		bodySum := sha256.Sum256([]byte(c.ev.Body + "\x00" + c.ev.PathParameters["kind"] + "\x00" + c.ev.PathParameters["event"]))
		fmt.Fprintf(&varOut, "%s %s %s %d %s\n", hex.EncodeToString(bodySum[:12]), hex.EncodeToString(sum[:12]), o.Name, o.Status, o.Code)
		if reviewKinds[c.kind] {
			reviewOut.WriteString(reviewLine(c, o, asIs[c.provider+"/"+c.sample]))
			reviewed[c.kind]++
		}
	}
	for k := range reviewKinds {
		if reviewed[k] == 0 {
			t.Errorf("no variation of kind %q in the review file", k)
		}
	}
	if *update {
		writeFile(t, goldenFile("outcomes.json"), fullOut.Bytes())
		writeGz(t, goldenFile("variations.txt.gz"), varOut.Bytes())
		writeFile(t, goldenFile("variations-review.txt"), reviewOut.Bytes())
		return
	}
	compareLines(t, "outcomes.json", readFile(t, goldenFile("outcomes.json")), fullOut.Bytes())
	compareLines(t, "variations.txt.gz", readGz(t, goldenFile("variations.txt.gz")), varOut.Bytes())
	compareLines(t, "variations-review.txt", readFile(t, goldenFile("variations-review.txt")), reviewOut.Bytes())
}

// reviewKinds are the variations written out in variations-review.txt: for
// every sample, each member removed, set to null or to a card number with
// spaces, renamed to upper case and spelt with escapes; a card number added as
// a member, in free text and as a name; the whole body re-spaced, wrapped,
// truncated, replaced by [] or {}; and each sample on every route.
var reviewKinds = map[string]bool{
	"as is": true, "remove": true, "set null": true, `set "4111 1111 1111 1111"`: true,
	"rename upper": true, "escape name": true,
	"add cardNumber": true, "add note": true, "add 4111111111111111": true,
	"respace": true, "wrap": true, "truncate": true, "empty array": true, "empty object": true,
	"route": true,
}

// reviewLine is one variation's outcome as a reviewer reads it: its name and
// what was done, then the rejection (status, code, message) or the event. The
// unvaried sample ("as is") shows its event in full (type, subject, key,
// quarantine, the start of the stored data); a variation shows only what
// differs from it, and the value the member it touched has in the stored data.
func reviewLine(c goldenCase, o, asIs outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s | %s | ", o.Name, c.label)
	if o.Status != 0 {
		fmt.Fprintf(&b, "%d %s", o.Status, o.Code)
		if o.Message != "" {
			fmt.Fprintf(&b, " %q", o.Message)
		}
		return b.String() + "\n"
	}
	if c.kind == "as is" || asIs.Status != 0 {
		fmt.Fprintf(&b, "%s subject=%q key=%q", o.Type, o.Subject, o.Key)
		if o.Quarantine != "" {
			fmt.Fprintf(&b, " quarantined: %s", o.Quarantine)
		}
		fmt.Fprintf(&b, " | data %s\n", clip(o.Data, 100))
		return b.String()
	}
	var diff []string
	for _, f := range []struct{ name, got, was string }{
		{"type", o.Type, asIs.Type}, {"subject", o.Subject, asIs.Subject}, {"key", o.Key, asIs.Key}, {"quarantined", o.Quarantine, asIs.Quarantine},
	} {
		if f.got != f.was {
			diff = append(diff, fmt.Sprintf("%s=%q", f.name, f.got))
		}
	}
	switch {
	case len(diff) > 0:
		b.WriteString("accepted, " + strings.Join(diff, " "))
	case o.Data == asIs.Data:
		b.WriteString("accepted, the same event and data")
	default:
		b.WriteString("accepted, the same event")
	}
	if len(c.path) > 0 {
		where, v := memberIn(o.Data, c.path)
		fmt.Fprintf(&b, " | stored %s = %s", where, v)
	} else if o.Data != asIs.Data {
		fmt.Fprintf(&b, " | data %s", clip(o.Data, 100))
	}
	return b.String() + "\n"
}

// memberIn finds the member at path in the stored data doc, which may be the
// body or an object inside it: at path, else at path without its first
// names. It returns where it looked or found it, and the member's JSON or
// "absent".
func memberIn(doc string, path []string) (string, string) {
	for skip := range path {
		v := json.RawMessage(doc)
		found := true
		for _, k := range path[skip:] {
			var obj map[string]json.RawMessage
			if json.Unmarshal(v, &obj) != nil {
				found = false
				break
			}
			if v, found = obj[k]; !found {
				break
			}
		}
		if found {
			return strings.Join(path[skip:], "."), clip(string(v), 60)
		}
	}
	return strings.Join(path, "."), "absent"
}

// clip is s cut to n bytes (at a rune boundary), marked when cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func compareLines(t *testing.T, what string, want, got []byte) {
	t.Helper()
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	if len(w) != len(g) {
		t.Errorf("%s: %d lines, golden has %d", what, len(g), len(w))
	}
	bad := 0
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			if bad++; bad <= 10 {
				t.Errorf("%s line %d:\n got  %s\n want %s", what, i+1, g[i], w[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d lines differ", what, bad)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with -update from the code before a change)", err)
	}
	return b
}

func writeGz(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readGz(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (write it with -update from the code before a change)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- Variations ----

// node is a JSON value with object members in their order.
type node struct {
	kind    byte // '{', '[', 's', 'n', 'l' (literal)
	members []member
	elems   []*node
	text    string // decoded string, number text or literal
}

type member struct {
	key    string
	rawKey string // when set, written as is (an escaped spelling)
	val    *node
}

func parseNode(dec *json.Decoder) *node {
	tok, err := dec.Token()
	if err != nil {
		panic(err)
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			n := &node{kind: '{'}
			for dec.More() {
				k, _ := dec.Token()
				n.members = append(n.members, member{key: k.(string), val: parseNode(dec)})
			}
			dec.Token()
			return n
		}
		n := &node{kind: '['}
		for dec.More() {
			n.elems = append(n.elems, parseNode(dec))
		}
		dec.Token()
		return n
	case string:
		return &node{kind: 's', text: v}
	case json.Number:
		return &node{kind: 'n', text: string(v)}
	case bool:
		return &node{kind: 'l', text: strconv.FormatBool(v)}
	default:
		return &node{kind: 'l', text: "null"}
	}
}

func (n *node) write(b *bytes.Buffer) {
	switch n.kind {
	case '{':
		b.WriteByte('{')
		for i, m := range n.members {
			if i > 0 {
				b.WriteByte(',')
			}
			if m.rawKey != "" {
				b.WriteString(m.rawKey)
			} else {
				b.Write(jsonx.AppendString(nil, m.key))
			}
			b.WriteByte(':')
			m.val.write(b)
		}
		b.WriteByte('}')
	case '[':
		b.WriteByte('[')
		for i, e := range n.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(b)
		}
		b.WriteByte(']')
	case 's':
		b.Write(jsonx.AppendString(nil, n.text))
	default:
		b.WriteString(n.text)
	}
}

func (n *node) clone() *node {
	c := *n
	c.members = make([]member, len(n.members))
	for i, m := range n.members {
		c.members[i] = member{key: m.key, rawKey: m.rawKey, val: m.val.clone()}
	}
	c.elems = make([]*node, len(n.elems))
	for i, e := range n.elems {
		c.elems[i] = e.clone()
	}
	return &c
}

func lit(kind byte, text string) *node { return &node{kind: kind, text: text} }

// replacement values tried for every member.
var replacements = []*node{
	lit('l', "null"), lit('l', "true"), lit('l', "false"), lit('n', "0"), lit('n', "-12.50"), lit('n', "1e3"), lit('n', "12345678901234567890"),
	lit('n', "4111111111111111"), lit('s', ""), lit('s', " "), lit('s', "x"), lit('s', "4111 1111 1111 1111"), lit('s', "é\u2028<>&\"\\/\u0001"),
	lit('s', "2023-05-15T15:36:37+07:00"), lit('s', "1700000000123"), lit('s', "\ufffe"), {kind: '{'}, {kind: '['},
	{kind: '{', members: []member{{key: "a", val: lit('n', "1")}}}, {kind: '[', elems: []*node{lit('s', "a"), lit('n', "1")}},
}

// extra members added to an object.
var extras = []member{
	{key: "cardNumber", val: lit('s', "4111111111111111")}, {key: "appid", val: lit('s', "someone-else")}, {key: "appId", val: lit('n', "1")},
	{key: "APPID", val: lit('s', "")}, {key: "deposit", val: lit('n', "1")}, {key: "virtualCollections", val: lit('s', "x")},
	{key: "note", val: lit('s', "card 4111-1111-1111-1111 ok")}, {key: "privateSecret", val: lit('s', "s3cr3t")},
	{key: "4111111111111111", val: lit('l', "true")}, {key: "Data", val: lit('l', "null")}, {key: "DATA", val: &node{kind: '{'}},
	{key: "Type", val: lit('s', "order_status_change")}, {key: "id", val: lit('s', "x")}, {key: "orderId", val: lit('s', "o")},
	{key: "takeoutInventoryId", val: lit('s', "t")}, {key: "supportTicketId", val: lit('n', "7")},
}

// escaped spells key with every ASCII letter as a \u escape.
func escaped(key string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range key {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		s := string(jsonx.AppendString(nil, string(r)))
		b.WriteString(s[1 : len(s)-1])
	}
	b.WriteByte('"')
	return b.String()
}

// variationsOf returns the bodies of labelledVariations(body).
func variationsOf(body []byte) [][]byte {
	vs := labelledVariations(body)
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = v.body
	}
	return out
}

// variation is one body derived from a sample, and what was done to it.
type variation struct {
	body []byte
	// kind names the mutation without its place: "remove", "set null",
	// "rename upper", "add cardNumber", "truncate", ...
	kind string
	// label says what was done, where: `set data.status = null`.
	label string
	// path is the member the mutation touched (object keys from the root),
	// as it is named in the varied body; nil for a change of the whole body.
	path []string
}

// labelledVariations returns bodies derived from body: each member of the
// top-level object and of the objects directly inside it removed, replaced by
// each of the replacement values, renamed (upper case, title case, Kelvin sign
// for k, long s for s, escaped spelling), and each extra member added to each
// such object; the body re-spaced; and the object wrapped or truncated. The
// order is fixed: the golden files name a variation by its index.
func labelledVariations(body []byte) []variation {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	root := parseNode(dec)
	var out []variation
	emit := func(n *node, kind, label string, path []string) {
		var b bytes.Buffer
		n.write(&b)
		out = append(out, variation{body: b.Bytes(), kind: kind, label: label, path: path})
	}
	emit(root, "as is", "as is", nil)
	// Every object at depth ≤ 2, addressed by a path of member indexes.
	type site struct{ path []int }
	var sites []site
	sites = append(sites, site{})
	for i, m := range root.members {
		if m.val.kind == '{' {
			sites = append(sites, site{[]int{i}})
		}
	}
	at := func(n *node, path []int) *node {
		for _, i := range path {
			n = n.members[i].val
		}
		return n
	}
	keys := func(path []int, last string) []string {
		var ks []string
		n := root
		for _, i := range path {
			ks = append(ks, n.members[i].key)
			n = n.members[i].val
		}
		return append(ks, last)
	}
	written := func(n *node) string {
		var b bytes.Buffer
		n.write(&b)
		return b.String()
	}
	for _, s := range sites {
		obj := at(root, s.path)
		for i := range obj.members {
			key := obj.members[i].key
			where := strings.Join(keys(s.path, key), ".")
			c := root.clone()
			o := at(c, s.path)
			o.members = append(o.members[:i], o.members[i+1:]...)
			emit(c, "remove", "remove "+where, keys(s.path, key))
			for _, r := range replacements {
				c := root.clone()
				at(c, s.path).members[i].val = r.clone()
				v := written(r)
				emit(c, "set "+v, "set "+where+" = "+v, keys(s.path, key))
			}
			for j, nk := range []string{strings.ToUpper(key), strings.ToUpper(key[:min(1, len(key))]) + key[min(1, len(key)):], strings.ReplaceAll(key, "k", "\u212a"), strings.ReplaceAll(key, "s", "\u017f")} {
				if nk == key {
					continue
				}
				how := []string{"upper", "title", "kelvin", "long s"}[j]
				c := root.clone()
				at(c, s.path).members[i].key = nk
				emit(c, "rename "+how, fmt.Sprintf("rename %s to %q", where, nk), keys(s.path, nk))
				c = root.clone() // both spellings
				o := at(c, s.path)
				o.members = append(o.members, member{key: nk, val: lit('l', "null")})
				emit(c, "add "+how+" spelling", fmt.Sprintf("add %q = null beside %s", nk, where), keys(s.path, key))
			}
			c = root.clone()
			at(c, s.path).members[i].rawKey = escaped(key)
			emit(c, "escape name", "escape the name of "+where, keys(s.path, key))
		}
		for _, e := range extras {
			c := root.clone()
			o := at(c, s.path)
			o.members = append(o.members, member{key: e.key, val: e.val.clone()})
			where := strings.Join(keys(s.path, e.key), ".")
			emit(c, "add "+e.key, "add "+where+" = "+written(e.val), keys(s.path, e.key))
		}
	}
	for _, w := range []struct {
		kind string
		body []byte
	}{
		{"respace", []byte(" \n\t" + string(body) + "\r\n")},
		{"wrap", []byte(`{"wrapped":` + string(body) + `}`)},
		{"truncate", body[:len(body)/2]},
		{"empty array", []byte("[]")},
		{"empty object", []byte("{}")},
	} {
		out = append(out, variation{body: w.body, kind: w.kind, label: w.kind})
	}
	return out
}
