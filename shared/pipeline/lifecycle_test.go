package pipeline

import (
	"testing"

	"webhooks/shared/eventstore"
)

// Every combination of stored state, finding and trigger, against the rules
// of the event's life: nothing queued is sent again, nothing unprocessable is
// sent, a quarantine is left only by a release, data not kept is never sent.
func TestTransitionRules(t *testing.T) {
	statuses := []eventstore.Status{eventstore.StatusStored, eventstore.StatusQueued, eventstore.StatusQuarantined}
	for _, isNew := range []bool{false, true} {
		for _, st := range statuses {
			for _, dropped := range []bool{false, true} {
				for _, unprocessable := range []bool{false, true} {
					for _, by := range []trigger{byWebhook, byOperator, byRedrive} {
						it := &eventstore.Item{Status: st, DataDropped: dropped}
						var q *QuarantineError
						if unprocessable {
							q = &QuarantineError{Reason: "x"}
						}
						got := transition(it, isNew, q, by)
						bad := ""
						switch {
						case isNew && got != stepStore:
							bad = "a new event is stored first"
						case isNew:
						case st == eventstore.StatusQueued && got != stepStay:
							bad = "a queued event is never sent or changed again"
						case (got == stepSend || got == stepRelease) && unprocessable:
							bad = "an unprocessable event is never sent"
						case (got == stepSend || got == stepRelease) && dropped:
							bad = "an event whose data was not kept is never sent"
						case got == stepSend && st != eventstore.StatusStored:
							bad = "only a stored event is sent (a quarantined one is released first)"
						case dropped && got != stepStay:
							bad = "an event whose data was not kept stays as it is"
						case dropped:
						case st == eventstore.StatusStored && !unprocessable && got != stepSend:
							bad = "a stored, processable event is sent"
						case st == eventstore.StatusStored && unprocessable && got != stepQuarantine:
							bad = "a stored, unprocessable event is quarantined"
						case st == eventstore.StatusQuarantined && by == byRedrive && got != stepStay:
							bad = "a redrive never touches a quarantined event (reprocess is its path)"
						case st == eventstore.StatusQuarantined && by == byRedrive:
						case st == eventstore.StatusQuarantined && !unprocessable && !dropped && got != stepRelease:
							bad = "a quarantined event whose cause is fixed is released"
						case st == eventstore.StatusQuarantined && unprocessable && by == byWebhook && got != stepStay:
							bad = "a webhook's redelivery leaves a quarantine as it is"
						}
						if bad != "" {
							t.Errorf("new=%v status=%s dropped=%v unprocessable=%v by=%v: step %v: %s", isNew, st, dropped, unprocessable, by, got, bad)
						}
					}
				}
			}
		}
	}
}
