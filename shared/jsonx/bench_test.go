package jsonx_test

import (
	"testing"

	"webhooks/internal/devkit"
	"webhooks/shared/jsonx"
)

// A realistic webhook body, and the adversarial shapes at the body limit.
var typicalBody = []byte(`{"orderNo":"100217231874691","merchantOrderNo":"M-42","cardNumber":"5554748800912345",
		"cardId":"4111111111111111111","amount":"61.91","currency":"USD","status":"SUCCESS","failReason":"",
		"createTime":"2024-08-09 15:11:09","email":"someone@example.com","cardHolder":"JOHN DOE","expiry":"12/29",
		"items":[{"sku":"A-1","qty":2,"price":12.5},{"sku":"B-2","qty":1,"price":36.91}],"note":"caf\u00e9 \"quoted\""}`)

func BenchmarkCheckObjectTypical(b *testing.B) {
	b.SetBytes(int64(len(typicalBody)))
	b.ReportAllocs()
	for b.Loop() {
		if err := jsonx.CheckObject(typicalBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTypical(b *testing.B) {
	b.SetBytes(int64(len(typicalBody)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := jsonx.Parse(typicalBody)
		if err != nil {
			b.Fatal(err)
		}
		d.Release()
	}
}

func BenchmarkParseAdversarial(b *testing.B) {
	for _, s := range devkit.Shapes {
		body := []byte(`{"x":` + s.Value(256<<10) + `}`)
		b.Run(s.Name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				d, err := jsonx.Parse(body)
				if err != nil {
					b.Fatal(err)
				}
				d.Release()
			}
		})
	}
}
