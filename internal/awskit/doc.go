// Package awskit is the kit for a real AWS API on this machine: it starts
// moto_server on a free loopback port, creates the contract's resources
// (table, FIFO queues, secrets), reads queues, and proxies calls (one at a
// time, or recorded). The local run, webhookctl, the soak and perfreport use
// it at run time, so it does not link the testing package: the helpers that
// take a testing.TB are in awskit/awstest. It is never deployed.
package awskit
