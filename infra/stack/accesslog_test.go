package stack

import (
	"encoding/json"
	"testing"
)

// senderFreeVariables are the HTTP API context variables whose value the client cannot fill
// with text of its choosing: set by API Gateway, measured by it, or the network peer's address.
// Anything else (the path, headers such as the user agent or host, query strings, the domain
// name, authorizer output) may carry what a sender wrote: URL tokens, card numbers, forged log
// lines.
var senderFreeVariables = map[string]string{
	"$context.requestId":               "assigned by API Gateway",
	"$context.extendedRequestId":       "assigned by API Gateway",
	"$context.requestTime":             "API Gateway's clock",
	"$context.requestTimeEpoch":        "API Gateway's clock",
	"$context.routeKey":                "one of the API's own route keys, or '-'",
	"$context.status":                  "the answer's status code",
	"$context.responseLength":          "a byte count",
	"$context.responseLatency":         "measured by API Gateway",
	"$context.integrationStatus":       "Lambda's invoke status",
	"$context.integrationLatency":      "measured by API Gateway",
	"$context.integrationErrorMessage": "written by API Gateway",
	"$context.error.message":           "written by API Gateway",
	"$context.error.responseType":      "an enumeration",
	"$context.identity.sourceIp":       "the TCP peer's address",
	"$context.apiId":                   "the API's id",
	"$context.stage":                   "the stage's name",
}

func TestAccessLogHoldsNoClientText(t *testing.T) {
	// GIVEN the allow-list, WHEN asked about variables a client writes THEN none is in it (the
	// list itself is checked, so a careless addition fails here)
	for _, v := range []string{
		"$context.identity.userAgent", "$context.path", "$context.domainName", "$context.domainPrefix",
		"$context.customDomain.basePathMatched", "$context.authorizer.claims.sub", "$request.header.user-agent", "$request.querystring.token",
	} {
		if _, ok := senderFreeVariables[v]; ok {
			t.Errorf("%s is client-controlled but allowed", v)
		}
	}
	needsSynth(t) // the list above is checked without it
	for _, s := range everyStack() {
		for id, st := range s.resources("AWS::ApiGatewayV2::Stage") {
			// WHEN the access log format of each synthesised stage is read
			als, _ := props(st)["AccessLogSettings"].(map[string]any)
			var format map[string]any
			if err := json.Unmarshal([]byte(als["Format"].(string)), &format); err != nil {
				t.Fatalf("%s: access log format is not JSON: %v", id, err)
			}
			// THEN every field is exactly one variable from the allow-list (no literal text
			// around it, no nesting)
			for field, v := range format {
				str, ok := v.(string)
				if _, allowed := senderFreeVariables[str]; !ok || !allowed {
					t.Errorf("%s %s: access log field %s=%v is not one sender-free variable", *s.stack.StackName(), id, field, v)
				}
			}
			// AND it keeps what operators need
			for _, field := range []string{"requestId", "requestTime", "routeKey", "status", "integrationStatus", "integrationLatency", "integrationError", "sourceIp"} {
				if format[field] == nil {
					t.Errorf("%s %s: access log lacks %s", *s.stack.StackName(), id, field)
				}
			}
		}
	}
}
