// Package localrun runs the whole webhook system on one machine, as
// `sam local start-api` would run the deployed stack: a local AWS API
// (moto_server, or whatever AWS_ENDPOINT_URL points at) with the table, queues
// and secrets the functions need (Start, Stack), each function's real
// bootstrap under the official AWS Lambda Runtime Interface Emulator
// (StartFunction, Function), and the local HTTP API gateway in front of them
// (Gateway), which also serves the Lambda Invoke API on its address, for
// operator commands (`aws lambda invoke --endpoint-url`, as `sam local
// start-lambda`). On request it also runs the example consumer, fed by a
// local SQS event source mapping on each queue (Stack.StartConsumer, Poller).
// `make run` (cmd/webhooks-local), `make demo`, the end-to-end tests, the soak
// and `make bench` use it. Local tooling only: never deployed.
package localrun
