package connector

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// testToken is distinctive so that a search for it in any output cannot
// match by chance.
const testToken = "tl-test-token-7f3a9c1e5b"

func TestMain(m *testing.M) {
	switch os.Getenv("TL_CONNECTOR_CHILD") {
	case "connect-as-other-user":
		os.Exit(childConnect(os.Getenv("TL_CONNECTOR_ADDR")))
	case "fips":
		os.Exit(childFIPS())
	case "serve":
		os.Exit(childServe())
	}
	goleak.VerifyTestMain(m)
}

// destination is a TCP server standing for the host behind the proxy; each
// accepted connection runs handle.
type destination struct {
	ln   net.Listener
	addr string
	wg   sync.WaitGroup
}

func newDestination(t testing.TB, handle func(net.Conn)) *destination {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &destination{ln: ln, addr: ln.Addr().String()}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); d.wg.Wait() })
	return d
}

// echo copies a connection back to itself, half-close aware.
func echo(c net.Conn) {
	_, _ = io.Copy(c, c)
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// newProxy starts a proxytest proxy of the transport, cleaned up with t.
func newProxy(t testing.TB, tr Transport, target string, configure func(*proxytest.Proxy)) *proxytest.Proxy {
	t.Helper()
	var p *proxytest.Proxy
	if tr == TransportWebSocket {
		p = proxytest.NewUnstartedWebSocketProxy(target)
	} else {
		p = proxytest.NewUnstartedConnectProxy()
	}
	if configure != nil {
		configure(p)
	}
	p.Start()
	t.Cleanup(p.Close)
	return p
}

// config returns a Config for p that trusts it.
func config(p *proxytest.Proxy, tr Transport, dest string) Config {
	return Config{
		ProxyAddr:   p.Addr,
		Transport:   tr,
		RootCAs:     p.RootCAs(),
		Destination: dest,
		Token:       NewToken(testToken),
	}
}

func mustNew(t testing.TB, cfg Config) *Connector {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

var transports = []Transport{TransportConnect, TransportWebSocket}

// pattern is a deterministic byte stream for bulk tests.
type pattern struct{ r *rand.ChaCha8 }

func newPattern(seed byte) *pattern {
	var s [32]byte
	s[0] = seed
	return &pattern{r: rand.NewChaCha8(s)}
}

func (p *pattern) Read(b []byte) (int, error) { return p.r.Read(b) }

func sumOf(seed byte, n int64) [32]byte {
	h := sha256.New()
	if _, err := io.CopyN(h, newPattern(seed), n); err != nil {
		panic(err)
	}
	return [32]byte(h.Sum(nil))
}

// stepOf returns the step of err, or "" when err is not a *StepError.
func stepOf(err error) Step {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return ""
}

// logSink collects Logf lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
	ch    chan string
}

func newLogSink() *logSink { return &logSink{ch: make(chan string, 100)} }

func (l *logSink) Logf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
	select {
	case l.ch <- s:
	default:
	}
}

func (l *logSink) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// waitLog waits for a log line containing substr.
func (l *logSink) waitLog(t *testing.T, ctx context.Context, substr string) string {
	t.Helper()
	for {
		select {
		case s := <-l.ch:
			if strings.Contains(s, substr) {
				return s
			}
		case <-ctx.Done():
			t.Fatalf("no log line containing %q; got:\n%s", substr, l.all())
			return ""
		}
	}
}
