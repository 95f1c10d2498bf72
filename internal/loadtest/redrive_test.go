package loadtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"webhooks/internal/localrun"
)

// scripted answers each invocation with the next reply and records the payloads.
type scripted struct {
	replies  []string
	errs     []error
	payloads []string
}

func (s *scripted) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	i := len(s.payloads)
	s.payloads = append(s.payloads, string(payload))
	var err error
	if i < len(s.errs) {
		err = s.errs[i]
	}
	return []byte(s.replies[i]), err
}

func TestRedrive(t *testing.T) {
	ok := &scripted{replies: []string{`{"found": 7, "sent": 7, "failed": 0}`}}
	r := redrive(context.Background(), ok)
	if r.Err != nil || r.Found != 7 || r.Sent != 7 || r.Runs != 1 {
		t.Errorf("%+v", r)
	}
	if len(ok.payloads) != 1 || ok.payloads[0] != `{"redrive":{"olderThan":"0s","sweep":true}}` {
		t.Errorf("sent %q", ok.payloads)
	}

	// A run with failures is followed by another (the faults are off by then).
	retry := &scripted{replies: []string{`{"found": 5, "sent": 3, "failed": 2}`, `{"found": 2, "sent": 2, "failed": 0}`}}
	if r := redrive(context.Background(), retry); r.Err != nil || r.Runs != 2 || r.Sent != 5 || r.Failed != 2 {
		t.Errorf("%+v", r)
	}
	stuck := &scripted{replies: []string{`{"found":1,"sent":0,"failed":1}`, `{"found":1,"sent":0,"failed":1}`, `{"found":1,"sent":0,"failed":1}`}}
	if r := redrive(context.Background(), stuck); !errors.Is(r.Err, ErrRedrive) || r.Runs != 3 {
		t.Errorf("failing every run: %+v", r)
	}

	// A build without the command: the pipeline's function error.
	old := &scripted{replies: []string{""}, errs: []error{&localrun.FunctionError{Type: "errorString", Message: `invoke: unknown command "redrive" (commands: reprocess)`}}}
	r = redrive(context.Background(), old)
	if !errors.Is(r.Err, ErrRedrive) || !strings.Contains(r.Err.Error(), "unknown command") || !strings.Contains(r.Err.Error(), "redrive command in this build") {
		t.Errorf("unknown command: %v", r.Err)
	}
	for _, reply := range []string{`{"found":1,"sent":1}`, `{"statusCode":400}`, `not json`} {
		if r := redrive(context.Background(), &scripted{replies: []string{reply}}); !errors.Is(r.Err, ErrRedrive) {
			t.Errorf("reply %s: %v", reply, r.Err)
		}
	}
}
