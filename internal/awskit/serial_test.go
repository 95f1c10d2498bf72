package awskit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// overlapServer answers every request with its body, status 201, and its
// X-Req header as X-Echo; it records the most requests it ever had in hand
// at once. With pair set, a request waits (at most 10 s) for a second one to
// arrive before it answers.
type overlapServer struct {
	inFlight, most atomic.Int32
	pair           chan struct{}
}

func (o *overlapServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.inFlight.Add(1)
	for m := o.most.Load(); n > m && !o.most.CompareAndSwap(m, n); m = o.most.Load() {
	}
	if o.pair != nil {
		select {
		case o.pair <- struct{}{}:
		case <-o.pair:
		case <-time.After(10 * time.Second):
		}
	} else {
		time.Sleep(time.Millisecond) // a window for another request to come in
	}
	body, _ := io.ReadAll(r.Body)
	o.inFlight.Add(-1)
	w.Header().Set("X-Echo", r.Header.Get("X-Req"))
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "%s %s?%s %s", r.Method, r.URL.Path, r.URL.RawQuery, body)
}

func post(t *testing.T, url string, i int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/p/q?x="+fmt.Sprint(i), strings.NewReader(fmt.Sprintf("body-%d", i)))
	req.Header.Set("X-Req", fmt.Sprint(i))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if want := fmt.Sprintf("POST /p/q?x=%d body-%d", i, i); resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Echo") != fmt.Sprint(i) || string(got) != want {
		t.Errorf("request %d: %d %q %q; want 201 %q", i, resp.StatusCode, resp.Header.Get("X-Echo"), got, want)
	}
}

// Concurrent requests through a Serial proxy reach the target one at a
// time, each with its method, path, query, headers and body, and come back
// with the target's status, headers and body.
func TestSerialForwardsOneAtATime(t *testing.T) {
	target := &overlapServer{}
	backend := httptest.NewServer(target)
	defer backend.Close()
	s, err := awskit.NewSerial(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { post(t, s.Endpoint, i) })
	}
	wg.Wait()
	if got := target.most.Load(); got != 1 {
		t.Errorf("the target had %d requests in hand at once through the proxy; want 1", got)
	}
	if s.Forwarded() != 50 {
		t.Errorf("forwarded %d requests, want 50", s.Forwarded())
	}
}

// The same target sees two requests at once when they do not go through the
// proxy: the check above can fail.
func TestOverlapIsVisibleWithoutTheProxy(t *testing.T) {
	target := &overlapServer{pair: make(chan struct{})}
	backend := httptest.NewServer(target)
	defer backend.Close()
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { post(t, backend.URL, i) })
	}
	wg.Wait()
	if got := target.most.Load(); got != 2 {
		t.Errorf("the target had at most %d requests at once; want 2", got)
	}
}

// A target that does not answer gives 502, and Close stops the proxy.
func TestSerialTargetDown(t *testing.T) {
	backend := httptest.NewServer(http.NotFoundHandler())
	url := backend.URL
	backend.Close()
	s, err := awskit.NewSerial(url)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.Endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.Endpoint + "/"); err == nil {
		t.Error("the proxy still answers after Close")
	}
	if _, err := awskit.NewSerial("127.0.0.1:1"); err == nil {
		t.Error("a target that is not a URL is accepted")
	}
}

// Against moto_server: of 40 identical concurrent conditional PutItems sent
// through a Serial proxy, exactly one succeeds and 39 fail their condition
// (moto alone can let two succeed).
func TestSerialMakesMotoConditionalWritesExclusive(t *testing.T) {
	ctx := context.Background()
	env, err := awskit.NewEnv(ctx, awstest.SerialEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	table := awskit.Unique("serial")
	if err := env.CreateTable(ctx, table); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 40 {
			wg.Go(func() {
				<-start
				_, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{
					TableName: aws.String(table),
					Item: map[string]ddb.AttributeValue{
						"pk": &ddb.AttributeValueMemberS{Value: fmt.Sprint("k", round)}, "sk": &ddb.AttributeValueMemberS{Value: "event"},
					},
					ConditionExpression: aws.String("attribute_not_exists(pk)"),
				})
				var ccf *ddb.ConditionalCheckFailedException
				switch {
				case err == nil:
					wins.Add(1)
				case errors.As(err, &ccf):
					conflicts.Add(1)
				default:
					t.Errorf("put: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 39 {
			t.Fatalf("round %d: %d puts succeeded, %d failed their condition; want 1 and 39", round, wins.Load(), conflicts.Load())
		}
	}
}
