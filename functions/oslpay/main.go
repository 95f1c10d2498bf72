// Command oslpay is the Lambda function behind /webhooks/oslpay.
package main

import (
	"webhooks/shared/lambdamain"
	"webhooks/shared/providers/oslpay"
)

func main() { lambdamain.Main(oslpay.New()) }
