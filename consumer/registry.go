package consumer

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// Providers: the CloudEvent source of an event is "webhooks/" + its provider.
const (
	ProviderAPIGift    = "apigift"
	ProviderTiki       = "tiki"
	ProviderAlchemyPay = "alchemypay"
	ProviderOSLPay     = "oslpay"
)

// SourcePrefix starts every CloudEvent source.
const SourcePrefix = "webhooks/"

// eventType is what the package knows of one event type.
type eventType struct {
	name     string
	provider string
	subject  string       // what the subject is, for the schema's description
	data     reflect.Type // the data struct

	// Worked out once, for DecodeBody.
	source string      // SourcePrefix + provider
	drops  bool        // the provider drops secret members
	info   *structInfo // the data struct's
}

// provider is what the receivers do to every event of one provider. (The
// ids a receiver keeps as sent need no entry: they are strings, numbers,
// true, false or null, where there is no card-number member to look for,
// and an object or array under such a name is redacted like any other.)
type provider struct {
	// dropsSecrets: every member named like a secret is removed, at any depth.
	dropsSecrets bool
}

var providers = map[string]provider{
	ProviderAPIGift:    {},
	ProviderTiki:       {},
	ProviderAlchemyPay: {},
	ProviderOSLPay:     {dropsSecrets: true},
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

var eventTypes = map[string]*eventType{}

func init() {
	for _, t := range []struct {
		name, provider, subject string
		data                    reflect.Type
	}{
		{TypeAPIGiftSellReviewRequestCreated, ProviderAPIGift, "data.sourceOrderNumber, or the event id when it is absent or empty", typeOf[APIGiftSellReviewRequestCreated]()},
		{TypeAPIGiftSupportTicketUpdated, ProviderAPIGift, "data.supportTicketId", typeOf[APIGiftSupportTicketUpdated]()},
		{TypeAPIGiftOrderInvoiceStatus, ProviderAPIGift, "data.orderId", typeOf[APIGiftOrderInvoiceStatusChanged]()},
		{TypeAPIGiftProductStatus, ProviderAPIGift, "data.id", typeOf[APIGiftProductStatusChanged]()},
		{TypeAPIGiftInventoryItemDelivered, ProviderAPIGift, "data.inventoryId", typeOf[APIGiftInventoryItemDelivered]()},
		{TypeAPIGiftInventoryItemRefunded, ProviderAPIGift, "data.inventoryId", typeOf[APIGiftInventoryItemRefunded]()},
		{TypeAPIGiftDepositStatus, ProviderAPIGift, "the event id", typeOf[APIGiftDepositStatusChanged]()},
		{TypeTikiOrder, ProviderTiki, "data.order_code", typeOf[TikiOrderStatusChanged]()},
		{TypeTikiStock, ProviderTiki, "data.warehouse + \"/\" + data.sku", typeOf[TikiStockChanged]()},
		{TypeTikiAftersale, ProviderTiki, "data.order_code", typeOf[TikiAftersaleStatusChanged]()},
		{TypeAlchemyPayCardOrder, ProviderAlchemyPay, "data.orderNo", typeOf[AlchemyPayCardOrderStatusChanged]()},
		{TypeOSLPayOrder, ProviderOSLPay, "data.orderId", typeOf[OSLPayOrderStatusChanged]()},
		{TypeOSLPayKYC, ProviderOSLPay, "data.userId", typeOf[OSLPayUserStatus]()},
		{TypeOSLPayDefiAccountBind, ProviderOSLPay, "data.userId", typeOf[OSLPayUserStatus]()},
		{TypeOSLPayDefiAccountAuth, ProviderOSLPay, "data.userId", typeOf[OSLPayUserStatus]()},
	} {
		eventTypes[t.name] = &eventType{
			name: t.name, provider: t.provider, subject: t.subject, data: t.data,
			source: SourcePrefix + t.provider, drops: providers[t.provider].dropsSecrets, info: structInfoOf(t.data),
		}
	}
}

// EventTypes lists every event type the package knows, sorted.
func EventTypes() []string {
	out := make([]string, 0, len(eventTypes))
	for name := range eventTypes {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// ProviderOf returns the provider of a known event type ("tiki" for
// "tiki.stock.changed"), or "" for an unknown one.
func ProviderOf(eventType string) string {
	if t, ok := eventTypes[eventType]; ok {
		return t.provider
	}
	return ""
}

// NewData returns a pointer to a new zero value of the data struct of a known
// event type (*TikiOrderStatusChanged for tiki.order.status_changed), or nil.
func NewData(eventType string) any {
	t, ok := eventTypes[eventType]
	if !ok {
		return nil
	}
	return reflect.New(t.data).Interface()
}

// field is one documented member of a data object, read from its struct field.
type field struct {
	name     string
	index    int
	doc      string
	required bool
	nonblank bool
	card     bool // a masked card number
	masked   bool // kindNumber: a number, or the masked form of one (a string)
	asis     bool // not redacted by the receiver (decrypted after storage)
	kind     fieldKind
	object   reflect.Type // kindObject: the struct
	nullable bool         // kindObject: may be null; kindStrings: elements may be null
}

type fieldKind int

const (
	kindString fieldKind = iota
	kindNumber
	kindBool
	kindObject
	kindStrings
	kindAny
	kindAbsent
)

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf reads the documented members of a data struct from its tags.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	f := readFields(t)
	fieldCache.Store(t, f)
	return f
}

func readFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Type == reflect.TypeFor[absent]() {
			name = sf.Tag.Get("absent")
		}
		if name == "" || name == "-" {
			continue
		}
		f := field{name: name, index: i, doc: sf.Tag.Get("doc")}
		for _, opt := range strings.Split(sf.Tag.Get("ce"), ",") {
			switch opt {
			case "required":
				f.required = true
			case "nonblank":
				f.nonblank = true
			case "card":
				f.card = true
			case "asis":
				f.asis = true
			case "masked":
				f.masked = true
			case "":
			default:
				panic("consumer: unknown ce tag option " + opt + " on " + t.Name() + "." + sf.Name)
			}
		}
		switch ft := sf.Type; {
		case ft == reflect.TypeFor[absent]():
			f.kind = kindAbsent
		case ft == reflect.TypeFor[json.Number]():
			f.kind = kindNumber
		case ft == reflect.TypeFor[json.RawMessage]():
			f.kind = kindAny
		case ft.Kind() == reflect.String:
			f.kind = kindString
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool:
			f.kind = kindBool
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			f.kind, f.object, f.nullable = kindObject, ft.Elem(), true
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Pointer && ft.Elem().Elem().Kind() == reflect.String:
			f.kind, f.nullable = kindStrings, true
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			f.kind = kindStrings
		default:
			panic("consumer: unsupported field type " + ft.String() + " on " + t.Name() + "." + sf.Name)
		}
		out = append(out, f)
	}
	return out
}
