// Command apigift is the Lambda function behind /webhooks/apigift/{token} and
// /webhooks/apigift/{token}/{event}.
package main

import (
	"webhooks/shared/lambdamain"
	"webhooks/shared/providers/apigift"
)

func main() { lambdamain.Main(apigift.New()) }
