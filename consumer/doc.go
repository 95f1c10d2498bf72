// Package consumer reads the events the webhook receivers put on their SQS
// FIFO queues: it decodes a message into its CloudEvent and the typed data of
// its event type (Decode), and handles the batches of a Lambda event source
// mapping with partial batch failures that keep each entity's order
// (Handler). Optionally it processes each event id once (Idempotency).
//
// Every event type has a JSON Schema (schemas/<type>.json in the repository,
// or Schema here); Decode applies the same rules, so a message Decode accepts
// meets its schema and one it refuses does not.
//
// The package is its own Go module: it depends on the AWS Lambda Go library
// and the AWS SDK's DynamoDB client only, never on the receivers or the CDK.
package consumer
