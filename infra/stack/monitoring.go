package stack

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"webhooks/shared/contract"
)

// Alarm thresholds.
const (
	alarmPeriodMinutes = 5
	// Rejected-rate spike: more than this share of a provider's requests in one period were
	// rejected (401/403/400/413) ...
	RejectedRatePercent = 20
	// ... counting only periods with at least this many requests, so that one bad request on
	// a quiet day does not page anyone.
	RejectedRateMinRequests = 10
	// API 5xx: this many server errors in one period (the functions answer 5xx on storage,
	// queue or configuration failures; providers retry, so a few are survivable, a stream is
	// not).
	API5xxThreshold = 5
	// The deployment alarms' period: short, so that a 5-minute canary sees a failure in time.
	DeployAlarmPeriodMinutes = 1
	// API near its throttle: a minute whose requests average this share of the stage's rate
	// limit. The stage throttle is the first limit a flash sale reaches (docs/PERFORMANCE.md,
	// "Capacity"), and API Gateway answers 429 before any function runs, so no function alarm
	// sees it: this one warns while every request is still served.
	APINearThrottlePercent = 80
	// Table throttled: this many requests DynamoDB throttled in one period. The SDK retries
	// them, so nothing failed yet; the next step is 503s (Api5xx).
	TableThrottledThreshold = 1
)

type MonitoringProps struct {
	Receivers []*Receiver
	API       *WebhookAPI
	// RateLimit is the API stage's steady-state rate limit (requests/s), for ApiNearThrottle.
	RateLimit float64
	// Table is the event store, for TableThrottled.
	Table awsdynamodb.ITable
	Key   awskms.IKey
	// Namespace is the functions' EMF namespace (WEBHOOKS_METRICS_NAMESPACE).
	Namespace   string
	AlarmEmails []string
	// DashboardName is a physical name: derive it from the stack name so stages don't clash.
	DashboardName string
	// RedriveAlarmPeriod is the period of the stranded-events alarm (RedriveAlarmPeriod);
	// zero: 5 minutes.
	RedriveAlarmPeriod time.Duration
	// ExampleConsumer is the example consumer's function (nil when it is not deployed).
	ExampleConsumer awslambda.IFunction
}

// Monitoring holds the alarms (all notifying one SNS topic), the deployment alarms and the
// dashboard.
type Monitoring struct {
	constructs.Construct
	Topic  awssns.Topic
	Alarms []awscloudwatch.Alarm
	// DeployAlarms maps a provider name to the alarms that roll a deployment of its function
	// back (deploy.go). They notify nobody: they watch one-minute periods so that a canary sees
	// them in time, and the alarms above page for the same failures.
	DeployAlarms map[string][]awscloudwatch.Alarm
	Dashboard    awscloudwatch.Dashboard
}

func NewMonitoring(scope constructs.Construct, id string, props *MonitoringProps) *Monitoring {
	this := constructs.NewConstruct(scope, &id)
	m := &Monitoring{Construct: this, DeployAlarms: map[string][]awscloudwatch.Alarm{}}
	period := awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes))

	m.Topic = awssns.NewTopic(this, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Webhook alarms"),
		MasterKey:   props.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy CDK writes for EnforceSSL replaces SNS's default one, which let the
	// account's principals publish; without this statement CloudWatch could not, and every
	// alarm would fire into nothing. The non-TLS Deny stays.
	m.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(CloudWatchPrincipal), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*m.Topic.TopicArn()),
		Conditions: alarmSourceConditions(awscdk.Stack_Of(this)),
	}))
	for _, email := range props.AlarmEmails {
		m.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	action := awscloudwatchactions.NewSnsAction(m.Topic)

	// alarmOver fires when periods consecutive periods breach; alarm when one does.
	alarmOver := func(id, description string, metric awscloudwatch.IMetric, threshold float64, periods int) awscloudwatch.Alarm {
		ap := &awscloudwatch.AlarmProps{
			Metric:             metric,
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(float64(periods)),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}
		if periods > 1 { // all of them (the default for one period; left out there)
			ap.DatapointsToAlarm = jsii.Number(float64(periods))
		}
		a := awscloudwatch.NewAlarm(this, jsii.String(id), ap)
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		m.Alarms = append(m.Alarms, a)
		return a
	}
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) awscloudwatch.Alarm {
		return alarmOver(id, description, metric, threshold, 1)
	}
	// deployAlarm fires when a one-minute period holds at least one occurrence; no actions.
	minute := awscdk.Duration_Minutes(jsii.Number(DeployAlarmPeriodMinutes))
	var deployAlarms []awscloudwatch.Alarm
	deployAlarm := func(id, description string, metric awscloudwatch.IMetric) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(this, jsii.String(id), &awscloudwatch.AlarmProps{
			Metric:             metric,
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			// No traffic during a deployment is no evidence against it.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		deployAlarms = append(deployAlarms, a)
		return a
	}
	emf := func(metricName, provider, outcome, statistic, label string) awscloudwatch.Metric {
		dims := map[string]*string{contract.DimensionProvider: jsii.String(provider)}
		if outcome != "" {
			dims[contract.DimensionOutcome] = jsii.String(outcome)
		}
		mp := &awscloudwatch.MetricProps{
			Namespace:     jsii.String(props.Namespace),
			MetricName:    jsii.String(metricName),
			DimensionsMap: &dims,
			Statistic:     jsii.String(statistic),
			Period:        period,
		}
		if label != "" { // graphs only: a labelled metric turns an alarm into metric math
			mp.Label = jsii.String(label)
		}
		return awscloudwatch.NewMetric(mp)
	}

	redrivePeriod := props.RedriveAlarmPeriod
	if redrivePeriod <= 0 {
		redrivePeriod = alarmPeriodMinutes * time.Minute
	}
	var rows [][]awscloudwatch.IWidget
	var redriveRow []awscloudwatch.IWidget
	for _, r := range props.Receivers {
		p := r.Provider.Name
		t := r.Provider.Title
		alarm(t+"DeadLetters", fmt.Sprintf("%s: messages in the dead-letter queue (a consumer failed them %d times); inspect, fix, then redrive", p, MaxReceiveCount),
			r.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}), 1)
		alarm(t+"FunctionErrors", fmt.Sprintf("%s: function errors (crashes or timeouts)", p),
			r.Function.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}), 1)
		alarm(t+"FunctionThrottles", fmt.Sprintf("%s: function throttled (account or reserved concurrency exhausted)", p),
			r.Function.MetricThrottles(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}), 1)
		alarm(t+"Quarantined", fmt.Sprintf("%s: authenticated events quarantined (e.g. undecryptable); list them with the %s index, fix the cause, then reprocess", p, QuarantineIndex),
			emf(MetricWebhooks, p, "quarantined", "Sum", ""), 1)
		rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf("IF(FILL(total, 0) >= %d, 100 * FILL(rejected, 0) / total, 0)", RejectedRateMinRequests)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"rejected": emf(MetricWebhooks, p, "rejected", "Sum", ""),
				"total":    emf(MetricWebhooks, p, "", "Sum", ""),
			},
			Label:  jsii.String("rejected %"),
			Period: period,
		})
		// Stranded: a redrive run could not send an event and the next run could not either
		// (SQS or the table down, or an event SQS refuses). No run, no data: not breaching.
		failed := emf(contract.MetricRedriveFailed, p, "", "Sum", "").With(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Seconds(jsii.Number(redrivePeriod.Seconds())),
		})
		alarmOver(t+"RedriveStranded", fmt.Sprintf("%s: events stored but not queued that redrive could not send in %d consecutive runs (%d-minute periods); see the function's redrive log lines, fix SQS or the table, the next runs send them", p, RedriveStrandedPeriods, int(redrivePeriod.Minutes())),
			failed, 1, RedriveStrandedPeriods)
		// Missing: a redrive found an unsent marker whose event is gone from the
		// table. Events have no TTL until they are queued, so this never happens
		// by itself: one occurrence is an alarm.
		missing := emf(contract.MetricRedriveMissing, p, "", "Sum", "").With(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Seconds(jsii.Number(redrivePeriod.Seconds())),
		})
		alarm(t+"RedriveMissing", fmt.Sprintf("%s: a redrive found an event marked unsent that is gone from the table (stored, never queued, then deleted); the function's log line \"the marked event is gone\" names it: restore it from point-in-time recovery, then run the redrive", p),
			missing, 1)
		redriveRow = append(redriveRow, awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(p + ": redrive (events stored, not queued)"),
			Left: &[]awscloudwatch.IMetric{
				emf(contract.MetricRedriveFound, p, "", "Sum", "found"),
				emf(contract.MetricRedriveSent, p, "", "Sum", "sent"),
				emf(contract.MetricRedriveFailed, p, "", "Sum", "failed"),
				emf(contract.MetricRedriveMissing, p, "", "Sum", "missing"),
			},
			Width: jsii.Number(6),
		}))
		alarm(t+"RejectedRate", fmt.Sprintf("%s: over %d%% of at least %d requests rejected in %d minutes (wrong secret, rotated credentials or an attack)", p, RejectedRatePercent, RejectedRateMinRequests, alarmPeriodMinutes),
			rate, RejectedRatePercent)

		outcomes := make([]awscloudwatch.IMetric, 0, len(Outcomes))
		for _, o := range Outcomes {
			outcomes = append(outcomes, emf(MetricWebhooks, p, o, "Sum", o))
		}
		rows = append(rows, []awscloudwatch.IWidget{
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String(p + ": webhooks by outcome"), Left: &outcomes, Stacked: jsii.Bool(true), Width: jsii.Number(6),
			}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String(p + ": latency (ms)"),
				Left: &[]awscloudwatch.IMetric{
					emf(MetricLatency, p, "", "p50", "p50"),
					emf(MetricLatency, p, "", "p99", "p99"),
					emf(MetricLatency, p, "", "Maximum", "max"),
				},
				Width: jsii.Number(6),
			}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String(p + ": function"),
				Left: &[]awscloudwatch.IMetric{
					r.Function.MetricInvocations(&awscloudwatch.MetricOptions{Period: period}),
					r.Function.MetricErrors(&awscloudwatch.MetricOptions{Period: period}),
					r.Function.MetricThrottles(&awscloudwatch.MetricOptions{Period: period}),
				},
				Right: &[]awscloudwatch.IMetric{
					r.Function.MetricDuration(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("p99")}),
				},
				Width: jsii.Number(6),
			}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
				Title: jsii.String(p + ": queues"),
				Left: &[]awscloudwatch.IMetric{
					r.Queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Label: jsii.String("queue visible")}),
					r.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Label: jsii.String("DLQ visible")}),
				},
				Right: &[]awscloudwatch.IMetric{
					r.Queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Period: period, Label: jsii.String("oldest message (s)")}),
				},
				Width: jsii.Number(6),
			}),
		})
	}

	if fn := props.ExampleConsumer; fn != nil {
		// Crashes, timeouts and startup failures (bad configuration). A record the handler
		// fails is a partial batch response, not an error: it is retried and, after
		// MaxReceiveCount receives, raises its provider's DeadLetters alarm.
		alarm("ExampleConsumerErrors", "Example consumer: function errors (crashes, timeouts or a configuration error at startup); its batches are retried and end in the dead-letter queues",
			fn.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}), 1)
	}
	alarm("Api5xx", fmt.Sprintf("HTTP API: %d or more 5xx answers in %d minutes (storage, queue or secret problems; providers are retrying)", API5xxThreshold, alarmPeriodMinutes),
		props.API.API.MetricServerError(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}), API5xxThreshold)
	perMinute := awscdk.Duration_Minutes(jsii.Number(1))
	alarm("ApiNearThrottle", fmt.Sprintf("HTTP API: a minute of requests at %d%% or more of the stage's throttle (%.0f requests/s); past it API Gateway answers 429 and the providers retry. Raise the context apiRateLimit and apiBurstLimit before a sale (docs/PERFORMANCE.md, Capacity)", APINearThrottlePercent, props.RateLimit),
		props.API.API.MetricCount(&awscloudwatch.MetricOptions{Period: perMinute, Statistic: jsii.String("Sum")}),
		math.Ceil(props.RateLimit*60*APINearThrottlePercent/100))
	// Read and write throttle events of the table: on demand, a new table's initial throughput,
	// a hot entity's partition or the table quota. Every webhook path reads (Query) and writes.
	throttled := func(name string) awscloudwatch.IMetric {
		return props.Table.Metric(jsii.String(name), &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")})
	}
	alarm("TableThrottled", fmt.Sprintf("DynamoDB: %d or more requests to the event store throttled in %d minutes (a new table's throughput, a hot entity's partition or the table quota); the SDK retried them, 503s follow if it keeps up. Pre-warm the table before a sale (docs/PERFORMANCE.md, Capacity)", TableThrottledThreshold, alarmPeriodMinutes),
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("FILL(r, 0) + FILL(w, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{"r": throttled("ReadThrottleEvents"), "w": throttled("WriteThrottleEvents")},
			Label:        jsii.String("throttled requests"),
			Period:       period,
		}), TableThrottledThreshold)

	// Deployment alarms, per provider: a deployment of a function rolls back when its live
	// alias failed an invocation, or its webhooks were answered 5xx (outcome "failed", from the
	// functions' own EMF records), in any minute of it. Per provider, not the whole API: a
	// provider left unconfigured (its secret still the placeholder answers 500) or under attack
	// must not block the other providers' deployments.
	for _, r := range props.Receivers {
		live := deployAlarm(r.Provider.Title+"DeployErrors", fmt.Sprintf("Deployments: the %s alias of %s failed an invocation in the last minute; a deployment under way rolls back (notifies nobody: %sFunctionErrors pages)", LiveAliasName, r.Provider.Name, r.Provider.Title),
			r.Alias.MetricErrors(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}))
		failed := emf(MetricWebhooks, r.Provider.Name, string(contract.Failed), "Sum", "")
		failed = failed.With(&awscloudwatch.MetricOptions{Period: minute})
		fail5xx := deployAlarm(r.Provider.Title+"Deploy5xx", fmt.Sprintf("Deployments: %s answered a webhook 5xx in the last minute; a deployment of its function under way rolls back (notifies nobody: Api5xx pages)", r.Provider.Name),
			failed)
		m.DeployAlarms[r.Provider.Name] = []awscloudwatch.Alarm{live, fail5xx}
	}

	alarmRefs := make([]interfacesawscloudwatch.IAlarmRef, 0, len(m.Alarms)+len(deployAlarms))
	for _, a := range slices.Concat(m.Alarms, deployAlarms) {
		alarmRefs = append(alarmRefs, a)
	}
	m.Dashboard = awscloudwatch.NewDashboard(this, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(props.DashboardName),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(6)),
	})
	m.Dashboard.AddWidgets(
		awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title: jsii.String("Alarms"), Alarms: &alarmRefs, Width: jsii.Number(24), Height: jsii.Number(4),
		}),
	)
	m.Dashboard.AddWidgets(
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String("HTTP API requests"),
			Left: &[]awscloudwatch.IMetric{
				props.API.API.MetricCount(&awscloudwatch.MetricOptions{Period: period}),
				props.API.API.MetricClientError(&awscloudwatch.MetricOptions{Period: period}),
				props.API.API.MetricServerError(&awscloudwatch.MetricOptions{Period: period}),
			},
			Width: jsii.Number(12),
		}),
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String("HTTP API latency (ms)"),
			Left: &[]awscloudwatch.IMetric{
				props.API.API.MetricLatency(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("p99")}),
				props.API.API.MetricIntegrationLatency(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("p99")}),
			},
			Width: jsii.Number(12),
		}),
	)
	for _, row := range rows {
		m.Dashboard.AddWidgets(row...)
	}
	m.Dashboard.AddWidgets(redriveRow...)
	return m
}
