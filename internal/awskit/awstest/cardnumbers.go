package awstest

import (
	"testing"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit"
)

// CheckNoCardNumbers fails t for every card number (and every planted
// number, Luhn-valid or not: digit strings in ASCII) found in the stack's
// table, in msgs (the messages the test drained from its queue) and in its
// logs, outside what the contract keeps for k's events.
func (s *Stack) CheckNoCardNumbers(t testing.TB, k devkit.Kit, msgs []awskit.Message, planted ...string) {
	t.Helper()
	var leaks []awskit.Leak
	for _, it := range s.Items(t) {
		leaks = append(leaks, awskit.ItemLeaks(k, it, planted...)...)
	}
	for _, m := range msgs {
		leaks = append(leaks, awskit.MessageLeaks(k, m, planted...)...)
	}
	leaks = append(leaks, awskit.LogLeaks(s.Logs.String(), planted...)...)
	for _, l := range leaks {
		t.Error(l)
	}
}
