// Package loadtest is the reliability and performance tooling: it drives many
// webhooks through the real handlers (the soak), injects faults between them
// and AWS (a fault proxy), counts the AWS calls and billed units a client makes
// and prices them (the cost model). Local tooling only: never deployed.
package loadtest
