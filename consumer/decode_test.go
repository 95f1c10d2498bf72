package consumer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/consumer"
)

const testID = "0123456789abcdef0123456789abcdef"

func TestEveryTypeDecodesItsMinimalData(t *testing.T) {
	if len(consumer.EventTypes()) != 15 || len(minimalData) != 15 {
		t.Fatalf("%d event types, %d minimal data", len(consumer.EventTypes()), len(minimalData))
	}
	for _, typ := range consumer.EventTypes() {
		m, err := consumer.DecodeBody(validEnvelope(typ, testID).body())
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if reflect.TypeOf(m.Data) != reflect.TypeOf(consumer.NewData(typ)) {
			t.Errorf("%s: data %T, NewData %T", typ, m.Data, consumer.NewData(typ))
		}
		if m.Event.Provider() != consumer.ProviderOf(typ) || m.Event.IsReplay() {
			t.Errorf("%s: provider %q, replay %v", typ, m.Event.Provider(), m.Event.IsReplay())
		}
		if !bytes.Equal(m.Event.Data, []byte(minimalData[typ])) {
			t.Errorf("%s: Event.Data %s, want it exactly as sent", typ, m.Event.Data)
		}
	}
	if consumer.NewData("tiki.nothing") != nil || consumer.ProviderOf("tiki.nothing") != "" {
		t.Error("an unknown type has data or a provider")
	}
}

// Each envelope rule, on one valid message changed in one way.
func TestDecodeEnvelopeRules(t *testing.T) {
	base := validEnvelope(consumer.TypeTikiOrder, testID)
	with := func(f func(*envelope)) []byte { e := base; f(&e); return e.body() }
	replace := func(old, new string) []byte {
		b := base.body()
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s not in %s", old, b)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	valid := map[string][]byte{
		"as sent":               base.body(),
		"time without fraction": with(func(e *envelope) { e.Time = "2024-05-06T07:08:09Z" }),
		"time with .1":          with(func(e *envelope) { e.Time = "2024-05-06T07:08:09.1Z" }),
		"replayid":              with(func(e *envelope) { e.ReplayID = "rp_1-" + strings.Repeat("x", 59) }),
		"members in any order":  []byte(`{"data":{"order_code":"S","main_state":"x"},"time":"2024-05-06T07:08:09Z","id":"` + testID + `","subject":"S","type":"tiki.order.status_changed","specversion":"1.0","source":"webhooks/tiki","datacontenttype":"application/json"}`),
		"white space":           []byte(" \n" + strings.ReplaceAll(string(base.body()), ",", " ,\n ") + "\n"),
	}
	for name, body := range valid {
		if _, err := consumer.DecodeBody(body); err != nil {
			t.Errorf("%s: %v\n%s", name, err, body)
		}
	}
	invalid := []struct {
		name, want string
		body       []byte
	}{
		{"specversion 0.3", `specversion`, with(func(e *envelope) { e.SpecVersion = "0.3" })},
		{"specversion a number", `"specversion" must be a string`, replace(`"specversion":"1.0"`, `"specversion":1.0`)},
		{"no specversion", `"specversion" is required`, replace(`"specversion":"1.0",`, ``)},
		{"id upper case", `id must be`, with(func(e *envelope) { e.ID = strings.ToUpper(testID) })},
		{"id 31", `id must be`, with(func(e *envelope) { e.ID = testID[1:] })},
		{"id 33", `id must be`, with(func(e *envelope) { e.ID = testID + "0" })},
		{"id not hex", `id must be`, with(func(e *envelope) { e.ID = strings.Repeat("g", 32) })},
		{"id a number", `"id" must be a string`, replace(`"id":"`+testID+`"`, `"id":12345678901234567890123456789012`)},
		{"source of another provider", `source must be "webhooks/tiki"`, with(func(e *envelope) { e.Source = "webhooks/apigift" })},
		{"source without prefix", `source must be`, with(func(e *envelope) { e.Source = "tiki" })},
		{"type of another provider", `source must be "webhooks/apigift"`, with(func(e *envelope) { e.Type = consumer.TypeAPIGiftProductStatus })},
		{"unknown type", `unknown event type`, with(func(e *envelope) { e.Type = "tiki.order.created" })},
		{"empty subject", `subject must not be empty`, with(func(e *envelope) { e.Subject = "" })},
		{"datacontenttype", `datacontenttype`, with(func(e *envelope) { e.DataContentType = "text/json" })},
		{"time with offset", `time must be`, with(func(e *envelope) { e.Time = "2024-05-06T07:08:09+07:00" })},
		{"time in microseconds", `time must be`, with(func(e *envelope) { e.Time = "2024-05-06T07:08:09.1234Z" })},
		{"time lower-case z", `time must be`, with(func(e *envelope) { e.Time = "2024-05-06T07:08:09z" })},
		{"time with a space", `time must be`, with(func(e *envelope) { e.Time = "2024-05-06 07:08:09Z" })},
		{"time not a date", `time must be`, with(func(e *envelope) { e.Time = "2024-02-30T07:08:09Z" })},
		{"time hour 24", `time must be`, with(func(e *envelope) { e.Time = "2024-05-06T24:08:09Z" })},
		{"replayid empty", `replayid must not be empty`, replace(`"data"`, `"replayid":"","data"`)},
		{"replayid 65", `replayid must be`, with(func(e *envelope) { e.ReplayID = strings.Repeat("r", 65) })},
		{"replayid with a space", `replayid must be`, with(func(e *envelope) { e.ReplayID = "r 1" })},
		{"replayid a number", `"replayid" must be a string`, replace(`"data"`, `"replayid":7,"data"`)},
		{"replayid null", `"replayid" must be a string`, replace(`"data"`, `"replayid":null,"data"`)},
		{"unknown member", `unexpected member "dataschema"`, replace(`"data"`, `"dataschema":"x","data"`)},
		{"repeated member", `appears twice`, replace(`"subject":"S"`, `"subject":"S","subject":"T"`)},
		{"repeated data member", `appears twice`, replace(`"main_state":"processing"`, `"main_state":"processing","main_state":"x"`)},
		{"no data", `"data" is required`, []byte(strings.Replace(string(base.body()), `,"data":{"order_code":"S","main_state":"processing"}`, ``, 1))},
		{"data an array", `data must be a JSON object`, with(func(e *envelope) { e.Data = `[]` })},
		{"data null", `data must be a JSON object`, with(func(e *envelope) { e.Data = `null` })},
		{"data a string", `data must be a JSON object`, with(func(e *envelope) { e.Data = `"{}"` })},
		{"a required data member missing", `data.main_state is required`, with(func(e *envelope) { e.Data = `{"order_code":"S"}` })},
		{"a required data member null", `data.order_code is required`, with(func(e *envelope) { e.Data = `{"order_code":null,"main_state":"x"}` })},
		{"a blank required member", `data.order_code must not be blank`, with(func(e *envelope) { e.Data = `{"order_code":" \u00a0","main_state":"x"}` })},
		{"a string member a number", `data.order_code must be a string`, with(func(e *envelope) { e.Data = `{"order_code":12,"main_state":"x"}` })},
		{"a full card number", `data.note.cardNumber must be a masked card number`, with(func(e *envelope) {
			e.Data = `{"order_code":"S","main_state":"x","note":{"cardNumber":"4111111111111111"}}`
		})},
		{"not JSON", `not a JSON object`, []byte(`{"specversion":"1.0",`)},
		{"an array", `not a JSON object`, []byte(`[` + string(base.body()) + `]`)},
		{"two objects", `not a JSON object`, append(base.body(), base.body()...)},
		{"a letter after the object", `not a JSON object`, append(base.body(), " x"...)},
		{"a bracket after the object", `not a JSON object`, append(base.body(), "]"...)},
		{"a brace after the object", `not a JSON object`, append(base.body(), "}"...)},
		{"a comma after the object", `not a JSON object`, append(base.body(), ","...)},
		{"half a string after the object", `not a JSON object`, append(base.body(), `"abc`...)},
		{"a NUL after the object", `not a JSON object`, append(base.body(), 0)},
		{"empty", `not a JSON object`, nil},
	}
	for _, c := range invalid {
		_, err := consumer.DecodeBody(c.body)
		var ie *consumer.InvalidError
		switch {
		case err == nil:
			t.Errorf("%s: accepted\n%s", c.name, c.body)
		case !errors.Is(err, consumer.ErrInvalid) || !errors.As(err, &ie):
			t.Errorf("%s: %v is not an *InvalidError wrapping ErrInvalid", c.name, err)
		case !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: %q, want it to say %q", c.name, err, c.want)
		case errors.Is(err, consumer.ErrUnknownType) != (c.name == "unknown type"):
			t.Errorf("%s: errors.Is(ErrUnknownType) = %v", c.name, errors.Is(err, consumer.ErrUnknownType))
		}
	}
}

func strp(s string) *string { return &s }

// Decode of an SQS record: the body, checked against the message attributes
// when present; the record's id, group and receive count.
func TestDecodeRecord(t *testing.T) {
	typ := consumer.TypeAlchemyPayCardOrder
	body := string(validEnvelope(typ, testID).body())
	attrs := func(p, ty *string) map[string]events.SQSMessageAttribute {
		out := map[string]events.SQSMessageAttribute{}
		if p != nil {
			out["provider"] = events.SQSMessageAttribute{DataType: "String", StringValue: p}
		}
		if ty != nil {
			out["type"] = events.SQSMessageAttribute{DataType: "String", StringValue: ty}
		}
		return out
	}
	rec := events.SQSMessage{MessageId: "m-1", Body: body, MessageAttributes: attrs(strp("alchemypay"), strp(typ)),
		Attributes: map[string]string{"MessageGroupId": "S", "ApproximateReceiveCount": "3"}}
	m, err := consumer.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageID != "m-1" || m.GroupID != "S" || m.ReceiveCount != 3 {
		t.Errorf("MessageID %q GroupID %q ReceiveCount %d", m.MessageID, m.GroupID, m.ReceiveCount)
	}
	for name, a := range map[string]map[string]events.SQSMessageAttribute{
		"no attributes":      nil,
		"only provider":      attrs(strp("alchemypay"), nil),
		"an attribute more":  {"provider": {StringValue: strp("alchemypay")}, "trace": {StringValue: strp("x")}},
		"binary is not read": {"type": {StringValue: strp(typ), BinaryValue: []byte("x")}},
	} {
		rec := rec
		rec.MessageAttributes = a
		if _, err := consumer.Decode(rec); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, a := range map[string]map[string]events.SQSMessageAttribute{
		"provider of another":     attrs(strp("tiki"), strp(typ)),
		"type of another":         attrs(strp("alchemypay"), strp(consumer.TypeTikiOrder)),
		"type with other case":    attrs(strp("alchemypay"), strp(strings.ToUpper(typ))),
		"provider without string": {"provider": {DataType: "Binary", BinaryValue: []byte("alchemypay")}},
	} {
		rec := rec
		rec.MessageAttributes = a
		_, err := consumer.Decode(rec)
		if !errors.Is(err, consumer.ErrInvalid) || !strings.Contains(err.Error(), "message attribute") {
			t.Errorf("%s: %v, want a message attribute mismatch", name, err)
		}
	}
	rec.Body = "{"
	if _, err := consumer.Decode(rec); !errors.Is(err, consumer.ErrInvalid) {
		t.Errorf("a broken body: %v", err)
	}
}

// Typed data is filled exactly: numbers keep every digit, raw members keep
// their bytes, booleans and nullable strings keep null apart from "".
func TestDecodeFillsTypedData(t *testing.T) {
	decode := func(typ, data string) *consumer.Message {
		t.Helper()
		e := validEnvelope(typ, testID)
		e.Data = data
		m, err := consumer.DecodeBody(e.body())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return m
	}
	m := decode(consumer.TypeAPIGiftOrderInvoiceStatus, `{"orderId":"S","status":7,"price":12345678901234567890.000100,"extra":"kept"}`)
	inv, ok := consumer.DataAs[consumer.APIGiftOrderInvoiceStatusChanged](m)
	if !ok || inv.OrderID != "S" || inv.Status != "7" || inv.Price != "12345678901234567890.000100" {
		t.Errorf("invoice: %+v %v", inv, ok)
	}
	if _, ok := consumer.DataAs[consumer.APIGiftProductStatusChanged](m); ok {
		t.Error("DataAs of another type is true")
	}
	if !bytes.Contains(m.Event.Data, []byte(`"extra":"kept"`)) {
		t.Error("a member beyond the documented ones is not kept in Event.Data")
	}

	m = decode(consumer.TypeAPIGiftSupportTicketUpdated, `{"supportTicketId":"S","closed":false,"underMediationChanged":null,"newReply":{"replyId":"r","text":"","attachmentUrls":[null,"https://x/a"]}}`)
	st, _ := consumer.DataAs[consumer.APIGiftSupportTicketUpdated](m)
	if st.Closed == nil || *st.Closed || st.UnderMediationChanged != nil || st.NewReply == nil || st.NewReply.ReplyID != "r" ||
		len(st.NewReply.AttachmentURLs) != 2 || st.NewReply.AttachmentURLs[0] != nil || *st.NewReply.AttachmentURLs[1] != "https://x/a" {
		t.Errorf("ticket: %+v reply %+v", st, st.NewReply)
	}

	vc := `{"codes": [ "ABCD-1234" , {"pin":"0000"} ], "n": 1.50}`
	m = decode(consumer.TypeAPIGiftInventoryItemDelivered, `{"takeoutInventoryId":"t","inventoryId":"S","entryPrice":-0.10,"virtualCollections":`+vc+`}`)
	del, _ := consumer.DataAs[consumer.APIGiftInventoryItemDelivered](m)
	if string(del.VirtualCollections) != vc || del.EntryPrice != "-0.10" || del.TakeoutInventoryID != "t" {
		t.Errorf("delivered: %+v", del)
	}
	m = decode(consumer.TypeAPIGiftInventoryItemDelivered, `{"takeoutInventoryId":"t","inventoryId":"S","virtualCollections":"plain text 4111111111111111"}`)
	if del, _ := consumer.DataAs[consumer.APIGiftInventoryItemDelivered](m); string(del.VirtualCollections) != `"plain text 4111111111111111"` {
		t.Errorf("delivered as a string: %s", del.VirtualCollections)
	}

	m = decode(consumer.TypeTikiStock, `{"sku":"k","warehouse":"w","qty_salable":1E+3,"partner_id":[1,{"a":null}],"date":"2024-01-01T00:00:00+07:00"}`)
	sk, _ := consumer.DataAs[consumer.TikiStockChanged](m)
	if sk.QtySalable != "1E+3" || string(sk.PartnerID) != `[1,{"a":null}]` || sk.Date != "2024-01-01T00:00:00+07:00" {
		t.Errorf("stock: %+v", sk)
	}

	m = decode(consumer.TypeAlchemyPayCardOrder, `{"orderNo":"100217","status":"SUCCESS","cardNumber":"555474******2345","email":"a@b.c","orderAmount":"10.00"}`)
	ap, _ := consumer.DataAs[consumer.AlchemyPayCardOrderStatusChanged](m)
	if ap.CardNumber != "555474******2345" || ap.Email != "a@b.c" || ap.OrderAmount != "10.00" || ap.OrderNo != "100217" {
		t.Errorf("alchemypay: %+v", ap)
	}

	m = decode(consumer.TypeOSLPayKYC, `{"userId":"u1","kycStatus":"PASSED","updateTime":"1714979289000"}`)
	os, _ := consumer.DataAs[consumer.OSLPayUserStatus](m)
	if os.UserID != "u1" || os.UpdateTime != "1714979289000" {
		t.Errorf("oslpay: %+v", os)
	}
	if !m.Event.Time.Equal(time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)) {
		t.Errorf("time %v", m.Event.Time)
	}
}

// digitRun is a run of 5 or more digits: a card number, an amount, a phone.
var digitRun = regexp.MustCompile(`[0-9]{5,}`)

// leaksInput reports a value of the input that an error text repeats: one of
// the markers, or a digit run of the input.
func leaksInput(errText string, input []byte, markers []string) string {
	for _, m := range markers {
		if strings.Contains(errText, m) {
			return m
		}
	}
	for _, run := range digitRun.FindAllString(errText, -1) {
		if bytes.Contains(input, []byte(run)) {
			return run
		}
	}
	return ""
}

// Errors name members, never a value of the message: on generated messages
// whose values and member names are random markers and digit runs, changed
// to break one rule each, no error text repeats a marker or a digit run.
func TestDecodeErrorsNameNoValue(t *testing.T) {
	r := rand.New(rand.NewPCG(seed(t), 5))
	word := func() string {
		const letters = "bcdfghjkmnpqrstvwxz"
		b := make([]byte, 10)
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		return "v" + string(b)
	}
	digits := func() string {
		b := make([]byte, 13+r.IntN(7))
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		if b[0] == '0' {
			b[0] = '4'
		}
		return string(b)
	}
	types := consumer.EventTypes()
	checked, refused := 0, 0
	for range 4000 {
		typ := types[r.IntN(len(types))]
		e := validEnvelope(typ, eventID(r))
		var data map[string]any
		_ = json.Unmarshal([]byte(minimalData[typ]), &data)
		var markers []string
		// A value breaking one rule, placed at a random member.
		breakers := []func() (string, any){
			func() (string, any) { w := word(); markers = append(markers, w); return w, w },                        // a new member with a marker value
			func() (string, any) { d := digits(); return "cardNumber", d },                                         // a full card number
			func() (string, any) { d := digits(); return "note", map[string]any{"cardNumber": json.Number(d)} },    // a card number as a number
			func() (string, any) { d := digits(); return "x" + d, map[string]any{"pan": d} },                       // a name with digits
			func() (string, any) { d := digits(); return "x" + d, map[string]any{"password": "p", "y" + d: true} }, // a secret
			func() (string, any) { d := digits(); return "x" + d, map[string]any{"secret": d} },
		}
		if len(data) > 0 {
			// Or a documented member retyped to hold a marker or a number.
			for name := range data {
				breakers = append(breakers, func() (string, any) { return name, []any{word(), json.Number(digits())} })
				breakers = append(breakers, func() (string, any) { d := digits(); return name, json.Number(d) })
				breakers = append(breakers, func() (string, any) { w := word(); markers = append(markers, w); return name, map[string]any{w: w} })
			}
		}
		name, v := breakers[r.IntN(len(breakers))]()
		data[name] = v
		b, _ := json.Marshal(data)
		e.Data = string(b)
		body := e.body()
		// Or the envelope broken with a value of its own.
		switch r.IntN(6) {
		case 0:
			d := digits()
			body = bytes.Replace(body, []byte(`"data"`), []byte(`"x`+d+`":1,"data"`), 1)
		case 1:
			d := digits()
			body = bytes.Replace(body, []byte(`"data"`), []byte(`"replayid":"r `+d+`","data"`), 1)
		case 2:
			d := digits()
			body = bytes.Replace(body, []byte(`"data"`), []byte(`"data":{"`+d+`":1,"`+d+`":2},"data"`), 1)
		}
		_, err := consumer.DecodeBody(body)
		checked++
		if err == nil {
			continue
		}
		refused++
		if leak := leaksInput(err.Error(), body, markers); leak != "" {
			t.Fatalf("the error repeats %q from the message: %v\n%s", leak, err, body)
		}
	}
	if refused < checked/2 {
		t.Fatalf("only %d of %d generated messages refused", refused, checked)
	}
	t.Logf("%d generated messages, %d refused: no error repeats a value", checked, refused)
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// FuzzDecodeBody: DecodeBody never panics; what it accepts is a message the
// receivers could send (a known type from its provider, an id of 32
// lowercase hex, a subject, a data object, typed data of the type), and it
// accepts it again once re-encoded, with the same envelope and typed data;
// what it refuses is an *InvalidError whose text repeats no digit run of the
// input.
func FuzzDecodeBody(f *testing.F) {
	for _, typ := range consumer.EventTypes() {
		e := validEnvelope(typ, testID)
		f.Add(e.body())
		e.ReplayID = "rp-1"
		f.Add(e.body())
	}
	f.Add([]byte(`{"specversion":"1.0","id":"` + testID + `","source":"webhooks/tiki","type":"tiki.order.status_changed","subject":"S","time":"2024-05-06T07:08:09Z","datacontenttype":"application/json","data":{"order_code":"S","main_state":"x","note":{"cardNumber":"411111******1111","x":[{"pan":null}]}}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"` + testID + `","source":"webhooks/oslpay","type":"oslpay.order.status_changed","subject":"S","time":"2024-05-06T07:08:09Z","datacontenttype":"application/json","data":{"orderId":"S","state":"x","a":{"b":[{"secretKey":1}]}}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := consumer.DecodeBody(body)
		if err != nil {
			var ie *consumer.InvalidError
			if m != nil || !errors.As(err, &ie) || !errors.Is(err, consumer.ErrInvalid) {
				t.Fatalf("refused with %T %v and message %v", err, err, m)
			}
			if leak := leaksInput(err.Error(), body, nil); leak != "" {
				t.Fatalf("the error repeats %q from the message: %v", leak, err)
			}
			return
		}
		ev := m.Event
		p := consumer.ProviderOf(ev.Type)
		switch {
		case p == "":
			t.Fatalf("accepted an unknown type %q", ev.Type)
		case ev.Source != consumer.SourcePrefix+p:
			t.Fatalf("accepted source %q for type %q", ev.Source, ev.Type)
		case !hexID.MatchString(ev.ID):
			t.Fatalf("accepted id %q", ev.ID)
		case ev.Subject == "" || ev.SpecVersion != "1.0" || ev.DataContentType != "application/json":
			t.Fatalf("accepted envelope %+v", ev)
		case len(ev.Data) == 0 || ev.Data[0] != '{':
			t.Fatalf("accepted data %s", ev.Data)
		case reflect.TypeOf(m.Data) != reflect.TypeOf(consumer.NewData(ev.Type)):
			t.Fatalf("data %T for type %s", m.Data, ev.Type)
		case ev.Time.Location() != time.UTC || ev.Time.Nanosecond()%int(time.Millisecond) != 0:
			t.Fatalf("accepted time %v", ev.Time)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(ev.Data, &obj) != nil {
			t.Fatalf("accepted data that is not an object: %s", ev.Data)
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := consumer.DecodeBody(again)
		if err != nil {
			t.Fatalf("refused once re-encoded: %v\n%s\n%s", err, body, again)
		}
		e2 := m2.Event
		if e2.ID != ev.ID || e2.Type != ev.Type || e2.Subject != ev.Subject || e2.ReplayID != ev.ReplayID || !e2.Time.Equal(ev.Time) {
			t.Fatalf("re-encoded envelope %+v, was %+v", e2, ev)
		}
		d1, _ := json.Marshal(m.Data)
		d2, _ := json.Marshal(m2.Data)
		if !bytes.Equal(d1, d2) {
			t.Fatalf("re-encoded data %s, was %s", d2, d1)
		}
	})
}

func ExampleDataAs() {
	body := []byte(`{"specversion":"1.0","id":"0123456789abcdef0123456789abcdef","source":"webhooks/tiki","type":"tiki.stock.changed","subject":"WH1/SKU-1","time":"2024-05-06T07:08:09Z","datacontenttype":"application/json","data":{"sku":"SKU-1","warehouse":"WH1","qty_salable":12}}`)
	m, err := consumer.DecodeBody(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	if d, ok := consumer.DataAs[consumer.TikiStockChanged](m); ok {
		fmt.Println(m.Event.Subject, d.QtySalable)
	}
	// Output: WH1/SKU-1 12
}

// A member the receiver keeps as sent is kept only when it is a string,
// number, true, false or null: an object or array under its name is redacted
// like any other value, and Decode checks it so.
func TestDecodeKeptMembersOnlyScalars(t *testing.T) {
	for _, c := range []struct {
		typ, data string
		ok        bool
	}{
		{consumer.TypeAPIGiftSellReviewRequestCreated, `{"requestDescription":"x","status":"4111111111111111"}`, true},
		{consumer.TypeAPIGiftSellReviewRequestCreated, `{"requestDescription":"x","status":{"cardNumber":"4111111111111111"}}`, false},
		{consumer.TypeAPIGiftSellReviewRequestCreated, `{"requestDescription":"x","status":{"cardNumber":"411111******1111"}}`, true},
		{consumer.TypeTikiStock, `{"sku":"sku","warehouse":"w","qty_salable":3,"partner_id":4111111111111111}`, true},
		{consumer.TypeTikiStock, `{"sku":"sku","warehouse":"w","qty_salable":3,"partner_id":{"pan":"4111111111111111"}}`, false},
		{consumer.TypeTikiStock, `{"sku":"sku","warehouse":"w","qty_salable":3,"partner_id":[{"x":{"card_no":4111111111111111}}]}`, false},
		{consumer.TypeAlchemyPayCardOrder, `{"orderNo":"S","status":"SUCCESS","cardId":"4111111111111111"}`, true},
		{consumer.TypeAlchemyPayCardOrder, `{"orderNo":"S","status":"SUCCESS","cardId":{"cardNumber":"4111111111111111"}}`, false},
		{consumer.TypeOSLPayKYC, `{"userId":"S","orderId":{"password":"p"}}`, false},
	} {
		e := validEnvelope(c.typ, testID)
		e.Data = c.data
		_, err := consumer.DecodeBody(e.body())
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.data, err)
		}
		if !c.ok && !errors.Is(err, consumer.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.data, err)
		}
	}
}

// A documented number the receivers do not keep as sent (APIGift's
// entryPrice) arrives masked, as a string, when its digits held a
// 13–19-digit Luhn-valid run (a price such as 19.990000000000002): Decode
// takes that masked literal, and refuses any other string.
func TestDecodeMaskedNumber(t *testing.T) {
	for price, ok := range map[string]bool{
		`19.99`:                 true,
		`"19.99000*******0002"`: true,
		`"411111******1111"`:    true,
		`"-1.5e1*"`:             true,
		`"19.99"`:               false, // a number as a string: never sent
		`"4111111111111111"`:    false, // a full card number
		`"abc*"`:                false,
		`"*"`:                   true,
	} {
		e := validEnvelope(consumer.TypeAPIGiftInventoryItemDelivered, testID)
		e.Data = `{"takeoutInventoryId":"t","inventoryId":"S","entryPrice":` + price + `,"virtualCollections":"x"}`
		m, err := consumer.DecodeBody(e.body())
		if (err == nil) != ok {
			t.Errorf("entryPrice %s: %v, want ok %v", price, err, ok)
			continue
		}
		if !ok {
			continue
		}
		if del, _ := consumer.DataAs[consumer.APIGiftInventoryItemDelivered](m); string(del.EntryPrice) != strings.Trim(price, `"`) {
			t.Errorf("entryPrice %s read as %q", price, del.EntryPrice)
		}
	}
}
