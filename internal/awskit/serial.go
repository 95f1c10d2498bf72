package awskit

// A one-at-a-time proxy in front of moto_server. moto does not make
// concurrent conditional writes atomic (40 identical PutItems with
// attribute_not_exists can see 2 winners), where DynamoDB does: a test that
// asserts "exactly one winner" of concurrent calls sends them through a
// Serial proxy, so that moto handles them one after another, as DynamoDB
// orders conditional writes of one item.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Serial is a loopback HTTP proxy that forwards the requests it receives to
// a target endpoint one at a time: the next request goes out only once the
// previous response has been read in full.
type Serial struct {
	// Endpoint is the proxy's base URL (http://127.0.0.1:port): give it to
	// the SDK (NewEnv) in place of the target's.
	Endpoint  string
	srv       *http.Server
	done      chan struct{}
	mu        sync.Mutex // held for each request's whole exchange
	forwarded atomic.Int64
}

// NewSerial starts a Serial proxy to target (a base URL such as moto's
// Endpoint) on a free loopback port. Close stops it.
func NewSerial(target string) (*Serial, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("awskit: serial proxy target %q is not a base URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awskit: serial proxy: %w", err)
	}
	s := &Serial{Endpoint: "http://" + ln.Addr().String(), done: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: 30 * time.Second}
	s.srv = &http.Server{
		ReadHeaderTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.forwarded.Add(1)
			// ServeHTTP returns once the response body is copied: moto has
			// answered this request before the next one is sent.
			proxy.ServeHTTP(w, r)
		}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Forwarded is how many requests the proxy has forwarded.
func (s *Serial) Forwarded() int64 { return s.forwarded.Load() }

// Close stops the proxy and waits for it.
func (s *Serial) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
