package awstest

import (
	"testing"

	"webhooks/internal/awskit"
)

// SerialEndpoint returns the endpoint of a Serial proxy in front of the test
// binary's moto_server, stopped when the test ends (the test is skipped
// without moto_server, as Endpoint does).
func SerialEndpoint(t testing.TB) string {
	t.Helper()
	s, err := awskit.NewSerial(Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("serial proxy: %v", err)
		}
	})
	return s.Endpoint
}
