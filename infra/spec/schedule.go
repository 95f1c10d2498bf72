package spec

// The scheduled redrive runs: their EventBridge schedule expressions and the
// commands they send (infra/stack schedules them as rules; the local run fires
// them itself).

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"webhooks/shared/contract"
)

// Schedule is a validated EventBridge schedule expression; the zero Schedule is "off".
type Schedule struct {
	Expression string        // "rate(5 minutes)", "cron(0 * * * ? *)"; "" when off
	Interval   time.Duration // a rate's interval; 0 for a cron expression or off
}

// Off reports whether the run is not scheduled.
func (s Schedule) Off() bool { return s.Expression == "" }

// ScheduleOff is the context value that turns a scheduled run off.
const ScheduleOff = "off"

var (
	rateRe = regexp.MustCompile(`^rate\(([1-9][0-9]{0,5}) (minute|minutes|hour|hours|day|days)\)$`)
	cronRe = regexp.MustCompile(`^cron\((.*)\)$`)
	// Characters each cron field may hold (EventBridge's six-field form).
	cronFieldRes = []*regexp.Regexp{
		regexp.MustCompile(`^[0-9,*/-]+$`),             // minutes
		regexp.MustCompile(`^[0-9,*/-]+$`),             // hours
		regexp.MustCompile(`^([0-9,*/LW-]+|\?)$`),      // day of month
		regexp.MustCompile(`^[0-9A-Za-z,*/-]+$`),       // month
		regexp.MustCompile(`^([0-9A-Za-z,*L#-]+|\?)$`), // day of week
		regexp.MustCompile(`^[0-9,*/-]+$`),             // year
	}
	cronFields = "minutes hours day-of-month month day-of-week year"
)

// ParseSchedule accepts an EventBridge schedule expression, "rate(<n> <unit>)" or
// "cron(<six fields>)", or "off".
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, ScheduleOff) {
		return Schedule{}, nil
	}
	if m := rateRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := strings.TrimSuffix(m[2], "s")
		if (n == 1) != (unit == m[2]) {
			return Schedule{}, fmt.Errorf("%q: EventBridge wants the singular unit for 1 and the plural otherwise (rate(1 hour), rate(5 minutes))", s)
		}
		per := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[unit]
		return Schedule{Expression: s, Interval: time.Duration(n) * per}, nil
	}
	if m := cronRe.FindStringSubmatch(s); m != nil {
		f := strings.Fields(m[1])
		if len(f) != 6 {
			return Schedule{}, fmt.Errorf("%q: a cron expression has 6 fields (%s), not %d", s, cronFields, len(f))
		}
		for i, re := range cronFieldRes {
			if !re.MatchString(f[i]) {
				return Schedule{}, fmt.Errorf("%q: field %d (%s) %q is not valid", s, i+1, strings.Fields(cronFields)[i], f[i])
			}
		}
		if (f[2] == "?") == (f[4] == "?") {
			return Schedule{}, fmt.Errorf("%q: exactly one of day-of-month and day-of-week must be '?'", s)
		}
		return Schedule{Expression: "cron(" + strings.Join(f, " ") + ")"}, nil
	}
	return Schedule{}, fmt.Errorf("%q is not %q, rate(<n> minutes|hours|days) or cron(<6 fields>)", s, ScheduleOff)
}

// RedriveRun is one scheduled redrive: when, and the command it sends.
type RedriveRun struct {
	Schedule  Schedule
	OlderThan string // a Go duration
	Sweep     bool   // also scan the table
}

// Command is the operator command the run sends, e.g. {"redrive":{"olderThan":"5m"}}.
func (r RedriveRun) Command() map[string]any {
	cmd := map[string]any{"olderThan": r.OlderThan}
	if r.Sweep {
		cmd["sweep"] = true
	}
	return map[string]any{contract.CommandRedrive: cmd}
}

// DefaultRedrive and DefaultRedriveSweep are the runs the stack schedules
// unless its context says otherwise: every 5 minutes the unsent markers, every
// day the sweep.
var (
	DefaultRedrive      = RedriveRun{Schedule: mustSchedule(DefaultRedriveSchedule), OlderThan: DefaultRedriveOlderThan}
	DefaultRedriveSweep = RedriveRun{Schedule: mustSchedule(DefaultRedriveSweepSchedule), OlderThan: DefaultRedriveSweepOlderThan, Sweep: true}
)

func mustSchedule(s string) Schedule {
	sch, err := ParseSchedule(s)
	if err != nil {
		panic(err)
	}
	return sch
}
