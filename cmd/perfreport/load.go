package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
	"webhooks/shared/contract"
	"webhooks/shared/lambdamain"
)

// stats summarise one measured series.
type stats struct {
	N, Errors      int
	Wall           time.Duration
	Throughput     float64 // per second
	Mean, P50, P99 float64 // milliseconds
	Max            float64
}

func summarise(lat []float64, errs int, wall time.Duration) stats {
	s := stats{N: len(lat), Errors: errs, Wall: wall}
	if len(lat) == 0 {
		return s
	}
	v := append([]float64(nil), lat...)
	sort.Float64s(v)
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	s.Mean = sum / float64(len(v))
	s.P50 = percentile(v, 50)
	s.P99 = percentile(v, 99)
	s.Max = v[len(v)-1]
	s.Throughput = float64(len(v)) / wall.Seconds()
	return s
}

// percentile of sorted v, nearest rank.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))]
}

// loadLevel is one concurrency level: the pipeline through the gateway, and
// the bare calls against the same endpoint right after.
type loadLevel struct {
	Concurrency int
	Pipeline    stats
	Bare        stats
	BareOps     map[string]float64 // mean ms per operation
	Handler     map[string]float64 // mean handler time (the functions' latencyMs) by provider
	FirstError  string
}

func runLoad(ctx context.Context, stack *localrun.Stack, keys devkit.Signers, o options, log io.Writer) ([]loadLevel, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: stack.Gateway, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	defer client.CloseIdleConnections()

	// The bare calls: the SDK directly, configured as the functions configure it.
	cfg, err := stack.AWS.Config(ctx)
	if err != nil {
		return nil, err
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(lambdamain.AttemptTimeout)
	db, q := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	// One bare queue per provider, as the pipeline has: moto's SendMessage
	// slows with the depth of the queue, so both sides must spread alike.
	bareURL := map[string]string{}
	for _, name := range localrun.Providers {
		bq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{
			QueueName:  aws.String(fmt.Sprintf("perf-bare-%s-%d.fifo", name, time.Now().UnixNano())),
			Attributes: map[string]string{"FifoQueue": "true"},
		})
		if err != nil {
			return nil, err
		}
		bareURL[name] = aws.ToString(bq.QueueUrl)
	}

	var out []loadLevel
	run := time.Now().UnixNano()
	for _, c := range o.levels {
		hooks, err := devkit.Interleaved(kits.All, o.events, fmt.Sprintf("L%d-%d-", c, run), perLevelWebhooks(o)/len(kits.All))
		if err != nil {
			return nil, err
		}
		for _, name := range localrun.Providers {
			for _, url := range []string{stack.Providers[name].QueueURL, bareURL[name]} {
				if err := purge(ctx, q, url); err != nil {
					return nil, err
				}
			}
		}
		// And an empty table: moto_server answers a Query by reading every
		// item of the table (DynamoDB reads one partition), so the entity
		// states' Query would slow with each level's items.
		if err := emptyTable(ctx, db, stack.Table); err != nil {
			return nil, err
		}
		lvl := loadLevel{Concurrency: c}
		label := "c" + strconv.Itoa(c)
		handlerLogs.setLabel(label)

		// Pipeline: HTTP through the gateway to the real bootstraps.
		lat, errs, first, accepted, wall := drive(len(hooks), c, func(i int) error {
			req, err := devkit.HTTPRequest(keys, base, hooks[i], devkit.SigningClock.Next())
			if err != nil {
				return err
			}
			resp, err := client.Do(req.WithContext(ctx))
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("X-Webhook-Outcome") != "accepted" {
				return fmt.Errorf("%s: %d %q %s", hooks[i].Provider, resp.StatusCode, resp.Header.Get("X-Webhook-Outcome"), bytes.TrimSpace(body))
			}
			return nil
		}, func(i int) string { return hooks[i].Provider })
		handlerLogs.setLabel("")
		// Every accepted webhook must be on its queue, once.
		for _, name := range localrun.Providers {
			n, err := queueDepth(ctx, q, stack.Providers[name].QueueURL)
			if err != nil {
				return nil, err
			}
			if n != accepted[name] {
				errs++
				if first == "" {
					first = fmt.Sprintf("%s: %d accepted but %d messages on the queue", name, accepted[name], n)
				}
			}
		}
		lvl.Pipeline = summarise(lat, errs, wall)
		lvl.FirstError = first
		lvl.Handler = handlerLogs.means(label)

		// Bare: PutItem + SendMessage + UpdateItem per webhook, same shapes.
		var opMu sync.Mutex
		opSum := map[string]float64{}
		timed := func(op string, f func() error) error {
			t0 := time.Now()
			err := f()
			ms := float64(time.Since(t0).Microseconds()) / 1000
			opMu.Lock()
			opSum[op] += ms
			opMu.Unlock()
			return err
		}
		blat, berrs, bfirst, _, bwall := drive(len(hooks), c, func(i int) error {
			return bareCalls(ctx, db, q, stack.Table, bareURL[hooks[i].Provider], fmt.Sprintf("%d-%d-%d", run, c, i), hooks[i], timed)
		}, func(i int) string { return "bare" })
		lvl.Bare = summarise(blat, berrs, bwall)
		if lvl.FirstError == "" {
			lvl.FirstError = bfirst
		}
		lvl.BareOps = map[string]float64{}
		for op, s := range opSum {
			lvl.BareOps[op] = s / float64(len(hooks))
		}
		fmt.Fprintf(log, "perfreport: concurrency %2d: pipeline %6.1f/s p50 %6.1f ms p99 %6.1f ms (%d errors); bare %6.1f/s p50 %6.1f ms\n",
			c, lvl.Pipeline.Throughput, lvl.Pipeline.P50, lvl.Pipeline.P99, lvl.Pipeline.Errors, lvl.Bare.Throughput, lvl.Bare.P50)
		out = append(out, lvl)
	}
	return out, nil
}

// perLevelWebhooks is how many webhooks each load level sends: o.perLevel
// spread evenly over the providers, at least one each.
func perLevelWebhooks(o options) int {
	return max(1, o.perLevel/len(kits.All)) * len(kits.All)
}

// drive runs f(0..n-1) on c workers; it returns latencies (ms) of the
// successful calls, the error count and first error, successes by group,
// and the wall time.
func drive(n, c int, f func(int) error, group func(int) string) ([]float64, int, string, map[string]int, time.Duration) {
	var mu sync.Mutex
	var lat []float64
	errs, first := 0, ""
	ok := map[string]int{}
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				err := f(i)
				ms := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
				} else {
					lat = append(lat, ms)
					ok[group(i)]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	return lat, errs, first, ok, time.Since(start)
}

// bareCalls makes the three calls the design needs per webhook, shaped as the
// pipeline shapes them (conditional put of an item with the body as data, a
// FIFO message with group, dedup id and two attributes, a conditional update).
func bareCalls(ctx context.Context, db *dynamodb.Client, q *sqs.Client, table, queueURL, id string, h devkit.Webhook, timed func(string, func() error) error) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	pk := "bare#" + id
	s := func(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
	err := timed("PutItem", func() error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item: map[string]ddb.AttributeValue{
				"pk": s(pk), "sk": s("event"), "provider": s(h.Provider), "event_id": s(id), "type": s("bare"),
				"subject": s(id), "time": s(now), "data": s(string(h.Body)), "data_sha256": s(strings.Repeat("0", 64)),
				"status": s("stored"), "received_at": s(now), "updated_at": s(now),
				"expires_at": &ddb.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(720*time.Hour).Unix(), 10)},
			},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		return err
	})
	if err != nil {
		return err
	}
	var msgID string
	err = timed("SendMessage", func() error {
		body, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "source": "webhooks/" + h.Provider, "type": "bare", "subject": id, "time": now, "datacontenttype": "application/json", "data": json.RawMessage(h.Body)})
		out, err := q.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(queueURL), MessageBody: aws.String(string(body)),
			MessageGroupId: aws.String(id), MessageDeduplicationId: aws.String(id),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				"provider": {DataType: aws.String("String"), StringValue: aws.String(h.Provider)},
				"type":     {DataType: aws.String("String"), StringValue: aws.String("bare")},
			},
		})
		if err == nil {
			msgID = aws.ToString(out.MessageId)
		}
		return err
	})
	if err != nil {
		return err
	}
	return timed("UpdateItem", func() error {
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(table),
			Key:                       map[string]ddb.AttributeValue{"pk": s(pk), "sk": s("event")},
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			UpdateExpression:          aws.String("SET #st = :q, queued_at = :now, updated_at = :now, message_id = :mid"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":q": s("queued"), ":now": s(now), ":mid": s(msgID)},
		})
		return err
	})
}

// emptyTable deletes every item of the table, 25 keys a request.
func emptyTable(ctx context.Context, db *dynamodb.Client, table string) error {
	items, err := (&awskit.Env{DynamoDB: db}).Items(ctx, table)
	if err != nil {
		return fmt.Errorf("scan %s: %w", table, err)
	}
	for len(items) > 0 {
		n := min(25, len(items))
		var reqs []ddb.WriteRequest
		for _, it := range items[:n] {
			reqs = append(reqs, ddb.WriteRequest{DeleteRequest: &ddb.DeleteRequest{Key: map[string]ddb.AttributeValue{contract.TablePartitionKey: it[contract.TablePartitionKey], contract.TableSortKey: it[contract.TableSortKey]}}})
		}
		items = items[n:]
		for len(reqs) > 0 {
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddb.WriteRequest{table: reqs}})
			if err != nil {
				return fmt.Errorf("empty %s: %w", table, err)
			}
			reqs = out.UnprocessedItems[table]
		}
	}
	return nil
}

func purge(ctx context.Context, q *sqs.Client, url string) error {
	if _, err := q.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		return fmt.Errorf("purge %s: %w", url, err)
	}
	return nil
}

func queueDepth(ctx context.Context, q *sqs.Client, url string) (int, error) {
	out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, k := range []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
		n, _ := strconv.Atoi(out.Attributes[string(k)])
		total += n
	}
	return total, nil
}
