package stack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/jsii-runtime-go"

	"webhooks/shared/contract"
)

// Scheduled redrive. Every function runs the redrive command on a schedule, so that an event
// stored but never confirmed queued reaches its queue even when the provider stops retrying:
//
//   - every 5 minutes {"redrive":{"olderThan":"5m"}}: one Query of the provider's unsent
//     markers (a partition that stays empty while SQS is healthy);
//   - every day {"redrive":{"olderThan":"15m","sweep":true}}: the same plus a filtered Scan of
//     the table, for an event no marker names (its function was killed between storing and
//     sending it).
//
// Both are EventBridge rules on the default bus, one pair per function. Rules rather than
// EventBridge Scheduler: scheduled rules cost nothing, and the only grant is the function's
// resource policy allowing events.amazonaws.com to invoke it with the rule's ARN as the
// source, so a rule can invoke its own function and nothing else, and no other rule can
// invoke it. Scheduler would add an IAM role per schedule (or one shared by all functions,
// which is wider) for features not needed here (time zones, one-off schedules).
const (
	// MinRedriveOlderThan is the smallest olderThan the context accepts: longer than a
	// webhook's own processing (the function timeout), so a run does not race the delivery
	// that is still sending an event.
	MinRedriveOlderThan = time.Minute
	// MaxRedriveInterval is the longest interval of the frequent run: past it, a stranded
	// event waits too long (the daily sweep is the infrequent run).
	MaxRedriveInterval = time.Hour
	// A scheduled run that cannot start soon is dropped: the next run does its work. The
	// rule's target retries a failed invoke (throttled Invoke API) this many times within
	// ScheduledRunMaxEventAge, and Lambda does not retry a run that failed (the function's
	// asynchronous invocations are the schedules only; an operator invokes synchronously).
	ScheduledRunRetryAttempts = 2
	ScheduledRunMaxEventAge   = 4 * time.Minute // under the default 5-minute interval
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

// validOlderThan checks a run's olderThan: a Go duration of at least MinRedriveOlderThan and
// shorter than the event TTL (ttl 0: unknown, not checked).
func validOlderThan(s string, ttl time.Duration) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a Go duration (e.g. 5m)", s)
	case d < MinRedriveOlderThan:
		return fmt.Errorf("%s is shorter than the minimum %s (a webhook's own send may still be under way)", s, MinRedriveOlderThan)
	case ttl > 0 && d >= ttl:
		return fmt.Errorf("%s is not shorter than the event TTL %s (events expire before a run finds them)", s, ttl)
	}
	return nil
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

// scheduleRedrive adds the rule that invokes r's live alias with run's command; nil when the
// run is off.
func scheduleRedrive(r *Receiver, id string, run RedriveRun) awsevents.Rule {
	if run.Schedule.Off() {
		return nil
	}
	what := "redrive of events stored but not queued"
	if run.Sweep {
		what = "redrive sweep (table scan) of events stored but not queued"
	}
	return awsevents.NewRule(r.Construct, jsii.String(id), &awsevents.RuleProps{
		Description: jsii.String(fmt.Sprintf("%s: %s for over %s", r.Provider.Name, what, run.OlderThan)),
		Schedule:    awsevents.Schedule_Expression(jsii.String(run.Schedule.Expression)),
		Targets: &[]awsevents.IRuleTarget{
			// The live alias, not the function: a run uses the version that takes traffic, and
			// the permission EventBridge gets is on the alias only.
			awseventstargets.NewLambdaFunction(r.Alias, &awseventstargets.LambdaFunctionProps{
				Event:         awsevents.RuleTargetInput_FromObject(run.Command()),
				RetryAttempts: jsii.Number(ScheduledRunRetryAttempts),
				MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(ScheduledRunMaxEventAge.Seconds())),
			}),
		},
	})
}

// RedriveStrandedPeriods is how many consecutive alarm periods with a failed redrive raise the
// stranded-events alarm: an event a run could not send and the next run could not either.
const RedriveStrandedPeriods = 2

// RedriveAlarmPeriod is the period of the stranded-events alarm: the frequent run's interval,
// at least the 5 minutes of the other alarms, so that each period holds a run and consecutive
// periods are consecutive runs. A cron schedule (interval unknown) or none gets 5 minutes.
func RedriveAlarmPeriod(s Schedule) time.Duration {
	if p := alarmPeriodMinutes * time.Minute; s.Interval < p {
		return p
	}
	return s.Interval
}
