package consumer_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/consumer"
)

// minimalData is, per event type, the smallest data object the receivers can
// send: its required members only. The subject of each is "S".
var minimalData = map[string]string{
	consumer.TypeAPIGiftSellReviewRequestCreated: `{"requestDescription":"please review"}`,
	consumer.TypeAPIGiftSupportTicketUpdated:     `{"supportTicketId":"S"}`,
	consumer.TypeAPIGiftOrderInvoiceStatus:       `{"orderId":"S","status":1}`,
	consumer.TypeAPIGiftProductStatus:            `{"id":"S","status":0}`,
	consumer.TypeAPIGiftInventoryItemDelivered:   `{"takeoutInventoryId":"t","inventoryId":"S","virtualCollections":[{"code":"c"}]}`,
	consumer.TypeAPIGiftInventoryItemRefunded:    `{"inventoryId":"S"}`,
	consumer.TypeAPIGiftDepositStatus:            `{}`,
	consumer.TypeTikiOrder:                       `{"order_code":"S","main_state":"processing"}`,
	consumer.TypeTikiStock:                       `{"sku":"sku","warehouse":"w","qty_salable":3}`,
	consumer.TypeTikiAftersale:                   `{"order_code":"S","status":"done"}`,
	consumer.TypeAlchemyPayCardOrder:             `{"orderNo":"S","status":"SUCCESS"}`,
	consumer.TypeOSLPayOrder:                     `{"orderId":"S","state":"COMPLETED"}`,
	consumer.TypeOSLPayKYC:                       `{"userId":"S"}`,
	consumer.TypeOSLPayDefiAccountBind:           `{"userId":"S"}`,
	consumer.TypeOSLPayDefiAccountAuth:           `{"userId":"S"}`,
}

// envelope is a message body with every member the receivers write; fields
// are written in the receivers' order, replayid only when set.
type envelope struct {
	SpecVersion, ID, Source, Type, Subject, Time, DataContentType, ReplayID string
	Data                                                                    string
}

func (e envelope) body() []byte {
	var b strings.Builder
	q := func(s string) string { v, _ := json.Marshal(s); return string(v) }
	fmt.Fprintf(&b, `{"specversion":%s,"id":%s,"source":%s,"type":%s,"subject":%s,"time":%s,"datacontenttype":%s,`,
		q(e.SpecVersion), q(e.ID), q(e.Source), q(e.Type), q(e.Subject), q(e.Time), q(e.DataContentType))
	if e.ReplayID != "" {
		fmt.Fprintf(&b, `"replayid":%s,`, q(e.ReplayID))
	}
	fmt.Fprintf(&b, `"data":%s}`, e.Data)
	return []byte(b.String())
}

// validEnvelope is a valid message of type typ with its minimal data.
func validEnvelope(typ, id string) envelope {
	return envelope{
		SpecVersion: "1.0", ID: id, Source: "webhooks/" + consumer.ProviderOf(typ), Type: typ,
		Subject: "S", Time: "2024-05-06T07:08:09.123Z", DataContentType: "application/json",
		Data: minimalData[typ],
	}
}

func eventID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return hex.EncodeToString(b[:])
}

// record is an SQS record of a FIFO queue (group "" = no MessageGroupId, as on
// a standard queue), with the message attributes the receivers set.
func record(id, group string, body []byte, typ string) events.SQSMessage {
	rec := events.SQSMessage{MessageId: id, Body: string(body), Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
	if group != "" {
		rec.Attributes["MessageGroupId"] = group
	}
	if p := consumer.ProviderOf(typ); p != "" {
		rec.MessageAttributes = map[string]events.SQSMessageAttribute{
			"provider": {DataType: "String", StringValue: &p},
			"type":     {DataType: "String", StringValue: &typ},
		}
	}
	return rec
}

// seed returns the test's random seed: CONSUMER_TEST_SEED when set, else a
// new one, logged so that a failure can be replayed.
func seed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("CONSUMER_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := rand.Uint64()
	t.Logf("seed %d (CONSUMER_TEST_SEED=%d replays it)", v, v)
	return v
}
