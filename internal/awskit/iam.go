package awskit

// IAM on moto_server: a server started with IAMEnforced() authenticates every
// request after the first few and authorises it against the policies of the
// IAM user whose access key signed it. Measured on moto 5.2.1 (docs/LOCAL.md,
// "Least privilege, exercised"):
//
//   - the first IAMBootstrapActions requests to an AWS API are let through
//     unsigned-for (calls to /moto-api/ do not count); CreateAdmin spends them
//     on an administrator, whose keys then create everything else;
//   - a refused call is HTTP 403 with a query-protocol XML body, code
//     AccessDenied ("User: arn:aws:iam::123456789012:user/NAME is not
//     authorized to perform: dynamodb:PutItem"), whatever the service's own
//     protocol; an unknown key is InvalidClientTokenId, a wrong secret
//     SignatureDoesNotMatch. The SDK's JSON-protocol clients (DynamoDB, SQS,
//     Secrets Manager) cannot decode that body: their error is "StatusCode:
//     403 ... deserialization failed", which names no code, so a test reads
//     the refusal off the wire (Calls, calls.go);
//   - actions are matched (wildcards included); resources only for SQS (the
//     queue's ARN): DynamoDB and Secrets Manager requests are authorised
//     against the resource "*", so there only a statement on "*" allows;
//   - conditions in an identity policy are not evaluated: a statement applies
//     as if its condition held (an Allow allows, a Deny denies).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// MotoNoAuthActions is moto's setting: how many requests it serves before it
// enforces IAM.
const MotoNoAuthActions = "INITIAL_NO_AUTH_ACTION_COUNT"

// IAMBootstrapActions is how many requests CreateAdmin makes: CreateUser,
// PutUserPolicy, CreateAccessKey.
const IAMBootstrapActions = 3

// IAMEnforced is the moto_server environment (MotoOptions.Env) under which
// every request after CreateAdmin's is authenticated and authorised.
func IAMEnforced() map[string]string {
	return map[string]string{MotoNoAuthActions: strconv.Itoa(IAMBootstrapActions)}
}

// AdminPolicy allows everything: the administrator that creates the resources.
const AdminPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// CreateAdmin creates the IAM user "admin" with AdminPolicy on a server
// started with IAMEnforced(), as its first requests, and returns clients
// signed with the administrator's new keys.
func CreateAdmin(ctx context.Context, endpoint string) (*Env, error) {
	boot, err := NewEnv(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	creds, err := boot.CreateUser(ctx, "admin", AdminPolicy)
	if err != nil {
		return nil, fmt.Errorf("awskit: create the administrator (the server's first %d requests): %w", IAMBootstrapActions, err)
	}
	return EnvWithCredentials(ctx, endpoint, creds)
}

// EnvWithCredentials returns clients for endpoint in us-east-1 signed with
// creds; more are further SDK load options.
func EnvWithCredentials(ctx context.Context, endpoint string, creds aws.Credentials, more ...func(*config.LoadOptions) error) (*Env, error) {
	cfg, err := config.LoadDefaultConfig(ctx, append(SDKOptions(endpoint, creds), more...)...)
	if err != nil {
		return nil, err
	}
	return FromConfig(endpoint, cfg), nil
}

// SDKOptions are the SDK load options for endpoint in us-east-1 with creds
// (for lambdamain.NewHandler and devkit.HandlerFunc).
func SDKOptions(endpoint string, creds aws.Credentials) []func(*config.LoadOptions) error {
	return []func(*config.LoadOptions) error{
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")),
	}
}

// CreateUser creates an IAM user with policy (a policy document, JSON) as its
// one inline policy, and returns a new access key of the user.
func (e *Env) CreateUser(ctx context.Context, name, policy string) (aws.Credentials, error) {
	if _, err := e.iam(ctx, "CreateUser", url.Values{"UserName": {name}}); err != nil {
		return aws.Credentials{}, err
	}
	if err := e.PutUserPolicy(ctx, name, policy); err != nil {
		return aws.Credentials{}, err
	}
	body, err := e.iam(ctx, "CreateAccessKey", url.Values{"UserName": {name}})
	if err != nil {
		return aws.Credentials{}, err
	}
	var out struct {
		ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(body, &out); err != nil || out.ID == "" || out.Secret == "" {
		return aws.Credentials{}, fmt.Errorf("awskit: iam CreateAccessKey %s: no key in the answer (%v): %.300s", name, err, body)
	}
	return aws.Credentials{AccessKeyID: out.ID, SecretAccessKey: out.Secret, Source: "awskit IAM user " + name}, nil
}

// UserPolicyName is the name of the inline policy CreateUser gives a user.
const UserPolicyName = "policy"

// PutUserPolicy sets (or replaces) the user's inline policy.
func (e *Env) PutUserPolicy(ctx context.Context, user, policy string) error {
	_, err := e.iam(ctx, "PutUserPolicy", url.Values{"UserName": {user}, "PolicyName": {UserPolicyName}, "PolicyDocument": {policy}})
	return err
}

// iam calls the IAM query API (signed like any SDK request: moto tells the
// service by the signature's scope).
func (e *Env) iam(ctx context.Context, action string, params url.Values) ([]byte, error) {
	params.Set("Action", action)
	params.Set("Version", "2010-05-08")
	body := params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(e.Endpoint, "/")+"/", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := e.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("awskit: iam %s: credentials: %w", action, err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		return nil, fmt.Errorf("awskit: iam %s: sign: %w", action, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("awskit: iam %s: %w", action, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("awskit: iam %s: %w", action, err)
	}
	if resp.StatusCode/100 != 2 {
		code, msg := xmlError(out)
		return nil, fmt.Errorf("awskit: iam %s: HTTP %d %s: %s", action, resp.StatusCode, code, msg)
	}
	return out, nil
}

// xmlError reads the code and message of a query-protocol error body.
func xmlError(body []byte) (code, message string) {
	var e struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	if xml.Unmarshal(body, &e) == nil && e.Code != "" {
		return e.Code, e.Message
	}
	var nested struct {
		Code    string `xml:"Errors>Error>Code"`
		Message string `xml:"Errors>Error>Message"`
	}
	if xml.Unmarshal(body, &nested) == nil && nested.Code != "" {
		return nested.Code, nested.Message
	}
	return "", fmt.Sprintf("%.300s", body)
}
