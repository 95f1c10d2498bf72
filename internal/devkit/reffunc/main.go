// Command reffunc is the cold-start reference of cmd/perfreport, never
// deployed: the least a function like the receivers must do before its first
// response. At init it loads the AWS SDK's default configuration
// (config.LoadDefaultConfig, as a stock aws-lambda-go function does) and reads
// one secret (AWSCURRENT of WEBHOOKS_SECRET_ID) from the same local API; every
// invocation answers 200 with an empty body. perfreport runs it under the same
// emulator, with the same environment, interleaved with each receiver's
// bootstrap, and reports the receivers' cold start as a ratio to it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reffunc: load AWS configuration:", err)
		os.Exit(1)
	}
	_, err = secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(os.Getenv("WEBHOOKS_SECRET_ID")), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "reffunc: read the secret:", err)
		os.Exit(1)
	}
	lambda.Start(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	})
}
