package awskit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
)

// What infra/stack's least-privilege test relies on, as moto does it (iam.go):
// after the administrator, a request is authorised by its signer's policy;
// actions are matched everywhere, queue ARNs for SQS, only "*" for DynamoDB
// and Secrets Manager; conditions are not evaluated; a refusal is read off
// the wire by Calls.
func TestIAMEnforced(t *testing.T) {
	moto := awstest.MotoOrSkipWith(t, awskit.MotoOptions{Env: awskit.IAMEnforced()})
	ctx := context.Background()
	admin, err := awskit.CreateAdmin(ctx, moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := awskit.NewCalls(moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer calls.Close()
	anon, err := awskit.EnvWithCredentials(ctx, calls.Endpoint, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{})
	if c := calls.Take(); err == nil || len(c) != 1 || c[0].Code != "InvalidClientTokenId" || c[0].Status != 403 {
		t.Errorf("a request signed by no IAM user after the administrator's: %v, %+v, want 403 InvalidClientTokenId", err, c)
	}
	if err := admin.CreateTable(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	q, err := admin.CreateQueue(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	other, err := admin.CreateQueue(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	secretARN, err := admin.PutSecret(ctx, "s", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	tableARN := "arn:aws:dynamodb:us-east-1:123456789012:table/t"

	user := func(name string, statements ...string) *awskit.Env {
		t.Helper()
		creds, err := admin.CreateUser(ctx, name, `{"Version":"2012-10-17","Statement":[`+strings.Join(statements, ",")+`]}`)
		if err != nil {
			t.Fatal(err)
		}
		env, err := awskit.EnvWithCredentials(ctx, calls.Endpoint, creds)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	put := func(e *awskit.Env, pk string) error {
		_, err := e.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]ddb.AttributeValue{
			"pk": &ddb.AttributeValueMemberS{Value: pk}, "sk": &ddb.AttributeValueMemberS{Value: "event"}}})
		return err
	}
	send := func(e *awskit.Env, url string) error {
		_, err := e.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
			MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String(awskit.Unique("d"))})
		return err
	}
	read := func(e *awskit.Env) error {
		_, err := e.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
		return err
	}
	allow := func(actions, resource string) string {
		return fmt.Sprintf(`{"Effect":"Allow","Action":%s,"Resource":%q}`, actions, resource)
	}
	// want checks the one call an operation made: refused by IAM (403
	// AccessDenied, naming the user and the action) or answered.
	want := func(what string, err error, denied bool) {
		t.Helper()
		c := calls.Take()
		switch {
		case len(c) != 1:
			t.Errorf("%s: %d calls, want 1 (%v)", what, len(c), err)
		case denied && (!c[0].Denied() || c[0].Status != 403 || !strings.Contains(c[0].Message, "is not authorized to perform: "+c[0].Action) || err == nil):
			t.Errorf("%s: %+v, error %v; want 403 AccessDenied", what, c[0], err)
		case !denied && err != nil:
			t.Errorf("%s: %v (%+v)", what, err, c[0])
		}
	}

	calls.Take()
	star := user("star", allow(`["dynamodb:PutItem","sqs:SendMessage","secretsmanager:GetSecretValue"]`, "*"))
	want("PutItem on *", put(star, "tiki#1"), false)
	want("SendMessage on *", send(star, q.URL), false)
	want("GetSecretValue on *", read(star), false)
	_, err = star.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: map[string]ddb.AttributeValue{
		"pk": &ddb.AttributeValueMemberS{Value: "tiki#1"}, "sk": &ddb.AttributeValueMemberS{Value: "event"}}})
	want("GetItem, not granted", err, true)

	arns := user("arns", allow(`"dynamodb:PutItem"`, tableARN), allow(`"sqs:SendMessage"`, q.ARN), allow(`"secretsmanager:GetSecretValue"`, secretARN))
	want("SendMessage to the granted queue", send(arns, q.URL), false)
	want("SendMessage to another queue", send(arns, other.URL), true)
	// moto names no resource for these two services: a statement on an ARN never allows.
	want("PutItem on the table's ARN (moto matches only *)", put(arns, "tiki#1"), true)
	want("GetSecretValue on the secret's ARN (moto matches only *)", read(arns), true)

	cond := user("cond", `{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"*","Condition":{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["tiki#*"]}}}`,
		`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"StringEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:123456789012:rule/none"}}}`)
	want("PutItem of another provider's key under a LeadingKeys condition (not evaluated)", put(cond, "apigift#1"), false)
	want("SendMessage under a condition that cannot hold (not evaluated)", send(cond, q.URL), false)

	// Replacing the policy takes effect at once: the negative checks rely on it.
	if err := admin.PutUserPolicy(ctx, "star", `{"Version":"2012-10-17","Statement":[`+allow(`"dynamodb:PutItem"`, "*")+`]}`); err != nil {
		t.Fatal(err)
	}
	want("SendMessage once the policy no longer grants it", send(star, q.URL), true)
}
