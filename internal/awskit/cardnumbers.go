package awskit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/cardref"
	"webhooks/shared/eventstore"
)

// Card numbers at rest, in queues and in logs, looked for with the project's
// one reference reader (cardref.CardRuns): every 13–19-digit Luhn-valid run,
// digits of any script, whatever separates them, outside what the contract
// keeps as sent (the provider's Kit.Kept, written from docs/CONTRACT.md).
// Values the system makes itself (event ids, digests, request and message
// ids, epoch timestamps a log format requires) are not webhook data
// (shared/DESIGN.md): such a value counts as one letter.

// Leak is a card number found where none may be, or a planted number that
// survives (Luhn-valid or not), or a text the reader could not read.
type Leak struct {
	Where  string // "item <provider>#…/event data", "message <id> data", "log line 12"
	Number string // its digits (ASCII); "" when the text could not be read
	Text   string // where it was found, shortened
}

func (l Leak) String() string {
	if l.Number == "" {
		return fmt.Sprintf("%s: unreadable: %s", l.Where, l.Text)
	}
	return fmt.Sprintf("%s: card number %s in %s", l.Where, l.Number, l.Text)
}

// systemToken is a value the system makes: a UUID (request, message and
// secret version ids) or a run of 32 or more hex digits (event ids, SHA-256
// digests, HMACs), holding at least one letter: an all-digit token is read
// as digits.
var systemToken = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|[0-9a-f]{32,}`)

// neutral replaces in s the system's tokens by a letter.
func neutral(s string) string {
	return systemToken.ReplaceAllStringFunc(s, func(tok string) string {
		if strings.Trim(strings.ToLower(tok), "0123456789-") == "" {
			return tok
		}
		return "x"
	})
}

// subjectLeaks reads a subject (or message group): made of values the
// contract keeps — one, or several joined by "/" ("<warehouse>/<sku>") — it
// holds nothing to look for; else it is read as text.
func subjectLeaks(where, s string, kept, planted []string) []Leak {
	parts := strings.Split(s, "/")
	all := s != ""
	for _, p := range parts {
		all = all && slices.Contains(kept, p)
	}
	if all {
		return nil
	}
	return textLeaks(where, neutral(s), planted)
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 160 {
		return string(r[:160]) + "…"
	}
	return s
}

// textLeaks reads s as the characters of one string.
func textLeaks(where, s string, planted []string) []Leak {
	doc, _ := json.Marshal(s)
	runs, err := cardref.CardRuns(doc, cardref.CardReading{})
	if err != nil {
		return []Leak{{Where: where, Text: err.Error()}}
	}
	return leaksOf(where, s, runs, planted)
}

func leaksOf(where, text string, runs, planted []string) []Leak {
	var out []Leak
	for _, n := range cardref.LuhnWindows(runs) {
		out = append(out, Leak{Where: where, Number: n, Text: shorten(text)})
	}
	for _, p := range cardref.RunsContaining(runs, planted...) {
		if !slices.ContainsFunc(out, func(l Leak) bool { return strings.Contains(l.Number, p) }) {
			out = append(out, Leak{Where: where, Number: p, Text: shorten(text)})
		}
	}
	return out
}

// dataLeaks reads data, an event's data, with what the contract keeps as
// sent for its type (k.Kept); it also returns the texts of the kept values.
func dataLeaks(k devkit.Kit, where, eventType string, data []byte, queued bool, planted []string) ([]Leak, []string) {
	if k.Kept == nil {
		return []Leak{{Where: where, Text: "the " + k.Name + " kit does not say what the contract keeps (Kit.Kept)"}}, nil
	}
	kept := k.Kept(eventType, data, queued).Member()
	var texts []string
	spy := func(name string, v any) bool {
		ok := kept(name, v)
		if ok {
			switch x := v.(type) {
			case string:
				texts = append(texts, x)
			case json.Number:
				texts = append(texts, string(x))
			}
		}
		return ok
	}
	runs, err := cardref.CardRuns(data, cardref.CardReading{Kept: spy})
	if err != nil {
		return []Leak{{Where: where, Text: err.Error() + ": " + shorten(string(data))}}, nil
	}
	return leaksOf(where, string(data), runs, planted), texts
}

// attrText renders an attribute value, whatever its type, as text.
func attrText(av ddb.AttributeValue) string {
	switch v := av.(type) {
	case *ddb.AttributeValueMemberS:
		return v.Value
	case *ddb.AttributeValueMemberN:
		return v.Value
	case *ddb.AttributeValueMemberB:
		return string(v.Value)
	case *ddb.AttributeValueMemberSS:
		return strings.Join(v.Value, "\n")
	case *ddb.AttributeValueMemberNS:
		return strings.Join(v.Value, "\n")
	case *ddb.AttributeValueMemberBS:
		var b strings.Builder
		for _, x := range v.Value {
			b.Write(x)
			b.WriteByte('\n')
		}
		return b.String()
	case *ddb.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k + "=" + attrText(v.Value[k]) + "\n")
		}
		return b.String()
	case *ddb.AttributeValueMemberL:
		var b strings.Builder
		for _, x := range v.Value {
			b.WriteString(attrText(x) + "\n")
		}
		return b.String()
	case *ddb.AttributeValueMemberBOOL:
		return fmt.Sprint(v.Value)
	}
	return ""
}

// ItemLeaks reads every attribute of a stored item: its data as the event's
// data (what the contract keeps for its type counts as a letter), every
// other attribute as text, where the system's ids and digests count as
// letters; a subject made of values data keeps holds nothing to look for.
func ItemLeaks(k devkit.Kit, item map[string]ddb.AttributeValue, planted ...string) []Leak {
	where := "item " + attrText(item["pk"]) + "/" + attrText(item["sk"])
	var out []Leak
	var kept []string
	// The names are the event store's (either layout): which attribute
	// holds data is all this reads from it; every attribute is read.
	isData := func(a string) bool { return slices.Contains(eventstore.DataAttributes, a) }
	for _, a := range eventstore.DataAttributes {
		if data := Str(item, a); data != "" {
			var l []Leak
			typ := ""
			if ev, err := eventstore.Decode(item); err == nil {
				typ = ev.Type // which fields the type keeps as sent
			}
			l, kept = dataLeaks(k, where+" "+a, typ, []byte(data), false, planted)
			out = append(out, l...)
		}
	}
	names := make([]string, 0, len(item))
	for k := range item {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case isData(k):
		case slices.Contains(eventstore.SubjectAttributes, k):
			out = append(out, subjectLeaks(where+" "+k, attrText(item[k]), kept, planted)...)
		default:
			out = append(out, textLeaks(where+" "+k, neutral(attrText(item[k])), planted)...)
		}
	}
	return out
}

// MessageLeaks reads a queued message: the CloudEvent's data as the event's
// data as queued (where the contract may keep more: decrypted goods), every
// other member of the body, the group and de-duplication ids and the message
// attributes as text, where the system's ids count as letters; a subject or
// group made of values data keeps holds nothing to look for.
func MessageLeaks(k devkit.Kit, m Message, planted ...string) []Leak {
	where := "message " + m.MessageID
	var env map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m.Body), &env); err != nil {
		return append([]Leak{{Where: where + " body", Text: err.Error()}}, textLeaks(where+" body", neutral(m.Body), planted)...)
	}
	var typ string
	_ = json.Unmarshal(env["type"], &typ)
	var out []Leak
	var kept []string
	if data, ok := env["data"]; ok {
		out, kept = dataLeaks(k, where+" data", typ, data, true, planted)
	}
	names := make([]string, 0, len(env))
	for k := range env {
		if k != "data" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		var s string
		if json.Unmarshal(env[k], &s) != nil {
			s = string(env[k])
		}
		if k == "subject" {
			out = append(out, subjectLeaks(where+" "+k, s, kept, planted)...)
			continue
		}
		out = append(out, textLeaks(where+" "+k, neutral(s), planted)...)
	}
	out = append(out, subjectLeaks(where+" group", m.GroupID, kept, planted)...)
	out = append(out, textLeaks(where+" deduplication id", neutral(m.DeduplicationID), planted)...)
	attrs := make([]string, 0, len(m.Attributes))
	for k, v := range m.Attributes {
		attrs = append(attrs, k+"="+v)
	}
	sort.Strings(attrs)
	return append(out, textLeaks(where+" attributes", neutral(strings.Join(attrs, "\n")), planted)...)
}

// logSystem are the members of a log line that the system makes: the time
// (slog's "time", or "timestamp" as the Lambda log format writes it, to the
// nanosecond: its digits run to 15), the Embedded Metric Format's metadata
// (_aws: a Timestamp in epoch milliseconds, namespace, dimension and metric
// names) and ids.
var logSystem = map[string]bool{"time": true, "timestamp": true, "_aws": true, "eventId": true, "requestId": true, "replayId": true, "messageId": true}

// LogLeaks reads every line of logs: a JSON object as a document whose
// system members count as letters; any other line as text. In both, the
// system's ids and digests count as letters wherever they stand (an error
// text may name an item's key, which holds an event id).
func LogLeaks(logs string, planted ...string) []Leak {
	var out []Leak
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		where := fmt.Sprintf("log line %d", n)
		if strings.HasPrefix(strings.TrimSpace(line), "{") && json.Valid([]byte(line)) {
			// A token of hex digits and dashes never holds a quote or a
			// backslash: replaced by a letter, the line stays JSON.
			runs, err := cardref.CardRuns([]byte(neutral(line)), cardref.CardReading{Kept: func(name string, _ any) bool { return logSystem[name] }})
			if err != nil {
				out = append(out, Leak{Where: where, Text: err.Error() + ": " + shorten(line)})
				continue
			}
			out = append(out, leaksOf(where, line, runs, planted)...)
			continue
		}
		out = append(out, textLeaks(where, neutral(line), planted)...)
	}
	return out
}
