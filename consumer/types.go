package consumer

import "encoding/json"

// Event types: the CloudEvent "type" of every event the receivers send, one
// schema each under schemas/<type>.json.
const (
	TypeAPIGiftSellReviewRequestCreated = "apigift.sell_review_request.created"
	TypeAPIGiftSupportTicketUpdated     = "apigift.support_ticket.updated"
	TypeAPIGiftOrderInvoiceStatus       = "apigift.order_invoice.status_changed"
	TypeAPIGiftProductStatus            = "apigift.product.status_changed"
	TypeAPIGiftInventoryItemDelivered   = "apigift.inventory_item.delivered"
	TypeAPIGiftInventoryItemRefunded    = "apigift.inventory_item.refunded"
	TypeAPIGiftDepositStatus            = "apigift.deposit.status_changed" // deprecated

	TypeTikiOrder     = "tiki.order.status_changed"
	TypeTikiStock     = "tiki.stock.changed"
	TypeTikiAftersale = "tiki.aftersale.status_changed"

	TypeAlchemyPayCardOrder = "alchemypay.card_order.status_changed"

	TypeOSLPayOrder           = "oslpay.order.status_changed"
	TypeOSLPayKYC             = "oslpay.kyc.status_changed"
	TypeOSLPayDefiAccountBind = "oslpay.defi_account.bind_status"
	TypeOSLPayDefiAccountAuth = "oslpay.defi_account.auth_status"
)

// The data of each event type. Field names and JSON names are the
// provider's; the `ce` tag says what the receivers guarantee of a field:
//
//	required  always present (for a string, not null; for an object, an object)
//	nonblank  a required string with something other than white space
//	card      a masked card number: no more than its first 6 and last 4 digits
//	asis      not redacted: the decrypted goods, exactly as decrypted
//
// A field without "required" may be missing or null. Strings are strings and
// numbers are numbers exactly as the provider sent them (json.Number keeps
// every digit); a json.RawMessage field is any JSON value the provider sent.
// Fields the provider adds beyond these are kept in the message (read them
// from Message.Event.Data); a field named like a card number, at any depth,
// is always masked.

// APIGiftSellReviewRequestCreated is the data of apigift.sell_review_request.created:
// a buyer asked for a sell review of an order. Subject: sourceOrderNumber, or
// the event id when that is absent or empty.
type APIGiftSellReviewRequestCreated struct {
	Source             string `json:"source" doc:"source system or platform where the order was created"`
	SourceOrderNumber  string `json:"sourceOrderNumber" doc:"order number in the source system (the subject when present)"`
	RequestDescription string `json:"requestDescription" ce:"required" doc:"the buyer's message (free text: card numbers masked)"`
}

// APIGiftSupportTicketUpdated is the data of apigift.support_ticket.updated.
// Subject: supportTicketId.
type APIGiftSupportTicketUpdated struct {
	SupportTicketID       string        `json:"supportTicketId" ce:"required,nonblank" doc:"the support ticket (the subject)"`
	UnderMediationChanged *bool         `json:"underMediationChanged" doc:"true if the ticket entered mediation"`
	Closed                *bool         `json:"closed" doc:"true if the ticket was closed"`
	NewReply              *APIGiftReply `json:"newReply" doc:"the new reply, if any"`
}

// APIGiftReply is a support ticket's new reply.
type APIGiftReply struct {
	ReplyID        string    `json:"replyId" ce:"required,nonblank" doc:"the reply's id"`
	CreateAt       string    `json:"createAt" doc:"when the reply was written (RFC 3339): the event's time when it parses"`
	Text           string    `json:"text" doc:"the reply (free text: card numbers masked)"`
	Replier        string    `json:"replier" doc:"who replied"`
	AttachmentURLs []*string `json:"attachmentUrls" doc:"attachment URLs"`
}

// APIGiftOrderInvoiceStatusChanged is the data of apigift.order_invoice.status_changed.
// Subject: orderId.
type APIGiftOrderInvoiceStatusChanged struct {
	OrderID string      `json:"orderId" ce:"required,nonblank" doc:"the order (the subject)"`
	Status  json.Number `json:"status" ce:"required" doc:"0 Pending, 1 Done, 2 Payment, 3 Canceled, 4 Refund, 7 Supply"`
	Price   json.Number `json:"price" doc:"final invoice price, exactly as sent"`
}

// APIGiftProductStatusChanged is the data of apigift.product.status_changed.
// Subject: id.
type APIGiftProductStatusChanged struct {
	ID     string      `json:"id" ce:"required,nonblank" doc:"the product (the subject)"`
	Status json.Number `json:"status" ce:"required" doc:"0 Available, 1 AvailableWithDelay, 2 Unavailable"`
	Price  json.Number `json:"price" doc:"updated price, exactly as sent"`
}

// APIGiftInventoryItemDelivered is the data of apigift.inventory_item.delivered.
// Subject: inventoryId. VirtualCollections is the decrypted goods: treat it
// as money (never log it).
type APIGiftInventoryItemDelivered struct {
	TakeoutInventoryID string          `json:"takeoutInventoryId" ce:"required,nonblank" doc:"the takeout action"`
	InventoryID        string          `json:"inventoryId" ce:"required,nonblank" doc:"the inventory item (the subject)"`
	EntryPrice         json.Number     `json:"entryPrice" ce:"masked" doc:"purchase price, exactly as sent; a price whose digits hold a 13–19-digit Luhn-valid run is not kept as sent: it is masked like a card number and arrives as a string, '*' for each hidden digit"`
	VirtualCollections json.RawMessage `json:"virtualCollections" ce:"required,asis" doc:"the decrypted goods: the plaintext parsed as JSON when it is JSON, else the string. As valuable as money: never log it"`
	DeliveryKey        string          `json:"deliveryKey" doc:"key used during the withdrawal request"`
	ProductID          string          `json:"productId" doc:"the product"`

	_ absent `absent:"encryptedVirtualCollections"` // replaced by virtualCollections
}

// APIGiftInventoryItemRefunded is the data of apigift.inventory_item.refunded.
// Subject: inventoryId.
type APIGiftInventoryItemRefunded struct {
	InventoryID string `json:"inventoryId" ce:"required,nonblank" doc:"the refunded inventory item (the subject)"`
}

// APIGiftDepositStatusChanged is the data of the deprecated
// apigift.deposit.status_changed: APIGift documents no fields, so any object
// (read it from Message.Event.Data). Subject: the event id.
type APIGiftDepositStatusChanged struct{}

// TikiOrderStatusChanged is the data of tiki.order.status_changed: Tiki's
// "data" object. Subject: order_code.
type TikiOrderStatusChanged struct {
	Date         string          `json:"date" doc:"when the status changed (RFC 3339): the event's time when it parses"`
	RefCode      string          `json:"ref_code" doc:"the partner's order code"`
	OrderCode    string          `json:"order_code" ce:"required,nonblank" doc:"Tiki's order code (the subject)"`
	MainState    string          `json:"main_state" ce:"required,nonblank" doc:"the order's state"`
	MainSubstate string          `json:"main_substate" doc:"the order's sub-state"`
	Reason       string          `json:"reason" doc:"why a delivery failed (free text: card numbers masked)"`
	ReasonCode   string          `json:"reason_code" doc:"failed delivery reason code"`
	ExtraInfo    json.RawMessage `json:"extra_info" doc:"cancellation details (cancel_reason_code, cancel_reason), as sent but for masked card numbers"`
}

// TikiStockChanged is the data of tiki.stock.changed. Subject: warehouse/sku.
type TikiStockChanged struct {
	Date              string          `json:"date" doc:"when the stock changed (RFC 3339): the event's time when it parses"`
	SKU               string          `json:"sku" ce:"required,nonblank" doc:"Tiki's SKU"`
	Warehouse         string          `json:"warehouse" ce:"required,nonblank" doc:"the warehouse code"`
	QtySalable        json.Number     `json:"qty_salable" ce:"required" doc:"salable quantity, exactly as sent"`
	SellerProductCode string          `json:"seller_product_code" doc:"the seller's product code"`
	PartnerID         json.RawMessage `json:"partner_id" doc:"the partner: as sent when a string, number, true, false or null; an object or array is redacted like any other value"`
}

// TikiAftersaleStatusChanged is the data of tiki.aftersale.status_changed
// (failed deliveries and customer returns). Subject: order_code.
type TikiAftersaleStatusChanged struct {
	Date      string `json:"date" doc:"when the status changed (RFC 3339): the event's time when it parses"`
	RefCode   string `json:"ref_code" doc:"the FD or CR code"`
	OrderCode string `json:"order_code" ce:"required,nonblank" doc:"Tiki's order code (the subject)"`
	Status    string `json:"status" ce:"required,nonblank" doc:"the aftersale status"`
	Type      string `json:"type" doc:"fd (failed delivery) or cr (customer return)"`
}

// AlchemyPayCardOrderStatusChanged is the data of
// alchemypay.card_order.status_changed: a card creation (orderType 1) or
// recharge (2) changed status. Every field is a string, as Alchemy Pay sends
// it. Subject: orderNo.
type AlchemyPayCardOrderStatusChanged struct {
	OrderNo                    string `json:"orderNo" ce:"required,nonblank" doc:"the order (the subject), as sent"`
	Email                      string `json:"email" doc:"the card holder's email: personal data"`
	CardNumber                 string `json:"cardNumber" ce:"card" doc:"the card number, masked to its first 6 and last 4 digits"`
	CardID                     string `json:"cardId" doc:"the card, as sent"`
	CryptoAddress              string `json:"cryptoAddress"`
	Network                    string `json:"network"`
	OrderType                  string `json:"orderType" doc:"1 card creation, 2 recharge"`
	CardType                   string `json:"cardType"`
	OrderAmount                string `json:"orderAmount"`
	PaymentAmount              string `json:"paymentAmount"`
	CryptoCurrency             string `json:"cryptoCurrency"`
	ApplyFee                   string `json:"applyFee"`
	RechargeFee                string `json:"rechargeFee"`
	VoucherCode                string `json:"voucherCode"`
	RechargeMarkup             string `json:"rechargeMarkup"`
	DeliveryFee                string `json:"deliveryFee"`
	CardAmount                 string `json:"cardAmount"`
	CardCurrency               string `json:"cardCurrency"`
	CurrencyExchangeRate       string `json:"currencyExchangeRate"`
	CryptoCurrencyExchangeRate string `json:"cryptoCurrencyExchangeRate"`
	OrderTime                  string `json:"orderTime"`
	FailReason                 string `json:"failReason" doc:"free text: card numbers masked"`
	Status                     string `json:"status" ce:"required,nonblank" doc:"SUCCESS, FAIL, CANCEL, INIT, REFUNDING or any other"`
}

// OSLPayOrderStatusChanged is the data of oslpay.order.status_changed: the
// envelope's data, with every field named like a secret removed. Every field
// is a string, as OSL Pay documents it. Subject: orderId.
type OSLPayOrderStatusChanged struct {
	MerchantOrderID      string `json:"merchantOrderId"`
	OrderID              string `json:"orderId" ce:"required,nonblank" doc:"the order (the subject), as sent"`
	UserID               string `json:"userId" doc:"the user, as sent"`
	FiatCurrency         string `json:"fiatCurrency"`
	CryptoCurrency       string `json:"cryptoCurrency"`
	FiatAmount           string `json:"fiatAmount"`
	CryptoAmount         string `json:"cryptoAmount"`
	OrderFee             string `json:"orderFee"`
	Price                string `json:"price"`
	PayWayCode           string `json:"payWayCode"`
	State                string `json:"state" ce:"required,nonblank" doc:"CREATEED, CREATED, PROCESSING, FAILED, SUCCESSED, CHAIN_WITHDRAW_WAIT, COMPLETED, CONVERSION_FAILED or any other"`
	ErrorCode            string `json:"errorCode"`
	ErrorMessage         string `json:"errorMessage"`
	CompletedTime        string `json:"completedTime"`
	CreateTime           string `json:"createTime"`
	UpdateTime           string `json:"updateTime" doc:"ms or s since the epoch, or RFC 3339: the event's time when it parses"`
	Network              string `json:"network"`
	Address              string `json:"address"`
	Tag                  string `json:"tag"`
	MerchantUser         string `json:"merchantUser"`
	TxID                 string `json:"txId"`
	NetworkFee           string `json:"networkFee"`
	ChainArrivalTime     string `json:"chainArrivalTime"`
	ActualReceivedAmount string `json:"actualReceivedAmount"`
	ThreeDSRedirectURL   string `json:"threeDsRedirectUrl"`
	OrderCallBackURL     string `json:"orderCallBackUrl"`
	AppID                string `json:"appid" doc:"equal to the configured appId when present"`
}

// OSLPayUserStatus is the data of oslpay.kyc.status_changed,
// oslpay.defi_account.bind_status and oslpay.defi_account.auth_status: OSL
// Pay documents only the user; the status fields it sends (kycStatus,
// bindStatus, authStatus, ...) are in Message.Event.Data. Subject: userId.
type OSLPayUserStatus struct {
	UserID     string `json:"userId" ce:"required,nonblank" doc:"the user (the subject), as sent"`
	UpdateTime string `json:"updateTime" doc:"ms or s since the epoch, or RFC 3339: the event's time when it parses"`
	AppID      string `json:"appid" doc:"equal to the configured appId when present"`
}

// absent marks a member the receivers never send: a blank field of this type
// names it in its "absent" tag.
type absent struct{}
