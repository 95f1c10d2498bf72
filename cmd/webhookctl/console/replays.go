package console

import (
	"slices"
	"sync"
	"time"

	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
)

// replayRun is a replay this console ran (not a dry run): its window and
// filters, so an event's timeline can say which replays sent it again. Kept in
// memory only, for the console's life: the console stores nothing; replays run
// elsewhere are in the function's log under their replay id.
type replayRun struct {
	Provider string
	ReplayID string
	At       time.Time
	From, To time.Time
	Types    []string
	Subjects []string
}

type replayLog struct {
	mu   sync.Mutex
	runs []replayRun
}

func (l *replayLog) add(provider string, cmd pipeline.ReplayCommand, replayID string, at time.Time) {
	from, _ := time.Parse(time.RFC3339Nano, cmd.From)
	to, _ := time.Parse(time.RFC3339Nano, cmd.To)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, replayRun{Provider: provider, ReplayID: replayID, At: at, From: from, To: to, Types: cmd.Types, Subjects: cmd.Subjects})
}

// matching lists the replays whose window and filters take the event.
func (l *replayLog) matching(it *eventstore.Item) []replayRun {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []replayRun
	for _, r := range l.runs {
		if r.Provider != it.Provider || it.ReceivedAt.Before(r.From) || !it.ReceivedAt.Before(r.To) {
			continue
		}
		if len(r.Types) > 0 && !slices.Contains(r.Types, it.Type) {
			continue
		}
		if len(r.Subjects) > 0 && !slices.Contains(r.Subjects, it.Subject) {
			continue
		}
		out = append(out, r)
	}
	return out
}
