// Command infra is the CDK app of the webhook receivers. Run it through the CDK CLI
// (`npx cdk synth`, `npx cdk deploy`); cdk.json builds the function binaries first.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"webhooks/infra/stack"
)

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	cfg, err := stack.ConfigFromContext(func(key string) any {
		return app.Node().TryGetContext(jsii.String(key))
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "infra: invalid context:\n%v\n", err)
		os.Exit(2)
	}
	stack.NewWebhooksStack(app, cfg.StackName, &stack.WebhooksStackProps{
		StackProps: awscdk.StackProps{
			// Environment-agnostic unless the CLI's account and region are known; deploy
			// targets whatever `cdk deploy` resolves (profile, AWS_REGION, ...).
			Env: env(),
		},
		Config: cfg,
	})
	stack.AddNagChecks(app, true)
	app.Synth(nil)
}

// env pins the stack to the CLI's default account and region when they are known, so
// lookups and ARNs resolve; otherwise the template stays environment-agnostic.
func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
