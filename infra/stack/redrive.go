package stack

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/jsii-runtime-go"

	"webhooks/infra/spec"
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

// The schedule expressions and the runs are infra/spec's: the local run fires the same ones.
type (
	Schedule   = spec.Schedule
	RedriveRun = spec.RedriveRun
)

// ScheduleOff is the context value that turns a scheduled run off.
const ScheduleOff = spec.ScheduleOff

// ParseSchedule is spec.ParseSchedule.
func ParseSchedule(s string) (Schedule, error) { return spec.ParseSchedule(s) }

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
