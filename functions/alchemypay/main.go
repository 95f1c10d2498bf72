// Command alchemypay is the Lambda function behind /webhooks/alchemypay/{token}.
package main

import (
	"webhooks/shared/lambdamain"
	"webhooks/shared/providers/alchemypay"
)

func main() { lambdamain.Main(alchemypay.New()) }
