package pipeline

import (
	"encoding/json"
	"unicode/utf8"

	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pan"
)

// Redaction is how a provider makes an authenticated body storable
// (Provider.Classify): the policy of package pan, and the part of the body it
// applies to, which is what is stored and queued. The pipeline applies it
// once, from the tokens of its one parse of the body.
type Redaction struct {
	// Type is what the provider classified the body as (its event type),
	// for its Decode to read back; "" when Decode decides alone.
	Type string
	// Policy keeps as sent exactly the scalar fields that form the event's
	// key, entity, subject or message group (and documented times), and
	// redacts the rest like free text (docs/CONTRACT.md lists them).
	Policy pan.Policy
	// Data is the part of the body that is stored: its top-level object, or
	// a value inside it (an envelope's data). An absent value is stored as
	// null.
	Data jsonx.Value
}

// Body is an authenticated body as the pipeline hands it to Decode: parsed
// once, redacted once.
type Body struct {
	Redaction
	// Sent is the body's top-level object as sent: for what redaction could
	// hide from a check. Nothing stored may be read from it.
	Sent jsonx.Value
	// Stored is Data redacted: the event's data, byte for byte its text. Key,
	// entity, subject and time are read from it.
	Stored jsonx.Value
}

// storedNull is the stored form of an absent Data.
var storedNull = func() *jsonx.Doc {
	d, err := jsonx.ParseValue([]byte("null"))
	if err != nil {
		panic(err)
	}
	return d
}()

// decode runs the provider's steps on a body parsed once (sent: its
// top-level object): Classify, the redaction, Decode. It returns the event,
// whose Data is the redacted document's text, and that document, which the
// caller releases when done (Release on nil is allowed).
func decode[C any](p Provider[C], req *apigw.Request, sent jsonx.Value, cfg C) (*Event, *jsonx.Doc, error) {
	red, err := p.Classify(req, sent, cfg)
	if err != nil {
		return nil, nil, err
	}
	red.Type = redactedType(red.Type)
	stored := storedNull
	if red.Data.Exists() {
		stored = red.Policy.RedactValue(red.Data)
	}
	ev, err := p.Decode(req, Body{Redaction: red, Sent: sent, Stored: stored.Root()}, cfg)
	if stored == storedNull {
		stored = nil // shared: never released
	}
	if err != nil {
		stored.Release()
		return nil, nil, err
	}
	if ev != nil {
		ev.Type = redactedType(ev.Type)
	}
	switch {
	case ev == nil:
	case stored != nil:
		ev.Data = stored.Body()
	default:
		ev.Data = json.RawMessage("null")
	}
	return ev, stored, nil
}

// redactedType masks a card number an event type may carry (a provider that
// passes undocumented types on reads them from the body): the type is
// stored, sent as a message attribute and part of the event id.
func redactedType(t string) string {
	if plainASCII(t) { // no digit: nothing to mask (the documented types, most others)
		return t
	}
	return pan.Text(t)
}

// plainASCII reports whether s is printable ASCII without a digit: a string
// that redaction leaves as it is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c-'0' <= 9 {
			return false
		}
	}
	return true
}

// parseStored parses an event's stored data (the redacted text, always one
// valid JSON value) for an Enricher; data that does not parse (written by
// something else) cannot be processed: a quarantine.
func parseStored(data json.RawMessage) (*jsonx.Doc, *QuarantineError) {
	d, err := jsonx.ParseValue(data)
	if err != nil {
		return nil, &QuarantineError{Reason: "the stored data is not valid JSON", Err: err}
	}
	return d, nil
}

// DecodeBody runs the steps of the request path from an authenticated request
// to its event, without any AWS call: the route (Router: req.Variant is set;
// a route error or NotFound is returned), the strict parse (jsonx.Parse; a
// refused body is the *Error the pipeline answers) and DecodeDoc. For tests,
// fuzz targets and tools that run a provider on its own.
func DecodeBody[C any](p Provider[C], req *apigw.Request, cfg C) (*Event, error) {
	if r, ok := any(p).(Router); ok {
		route, err := r.Route(req)
		req.Variant = route.Variant
		switch {
		case err != nil:
			return nil, err
		case route.NotFound != nil:
			return nil, route.NotFound
		}
	}
	doc, err := jsonx.Parse(req.Body)
	if err != nil {
		return nil, malformedJSON(err)
	}
	defer doc.Release()
	return DecodeDoc(p, req, doc, cfg)
}

// DecodeDoc is the provider's part of the request path on a parsed body
// (req.Variant already set): Classify, the one redaction, Decode; the event's
// Data is the redacted data.
func DecodeDoc[C any](p Provider[C], req *apigw.Request, doc *jsonx.Doc, cfg C) (*Event, error) {
	ev, stored, err := decode(p, req, doc.Root(), cfg)
	stored.Release()
	return ev, err
}

// EnrichData is what the pipeline queues for a stored event of an Enricher:
// its stored data parsed, then Enrich with cfg. For tests and tools.
func EnrichData[C any](e Enricher[C], ev *Event, cfg C) (json.RawMessage, error) {
	d, q := parseStored(ev.Data)
	if q != nil {
		return nil, q
	}
	defer d.Release()
	return e.Enrich(ev, d.Root(), cfg)
}
