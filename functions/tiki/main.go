// Command tiki is the Lambda function behind /webhooks/tiki/{kind}.
package main

import (
	"webhooks/shared/lambdamain"
	"webhooks/shared/providers/tiki"
)

func main() { lambdamain.Main(tiki.New()) }
