package connector

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServeDialGate: while the proxy is unreachable, Serve dials at most
// once per dialRetryInterval, and closes every other new local connection
// at once, so the emulator's own retry gets its answer; after the
// interval, a connection dials again.
func TestServeDialGate(t *testing.T) {
	// A "proxy" that accepts and hangs up: every dial fails, and is counted.
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	var dials atomic.Int64
	go func() {
		for {
			c, err := pl.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			c.Close()
		}
	}()
	logs := newLogSink()
	c := mustNew(t, Config{ProxyAddr: pl.Addr().String(), Transport: TransportConnect, Destination: "host.test:23",
		Token: NewToken(testToken), Logf: logs.Logf, HandshakeTimeout: 5 * time.Second})
	addr := serve(t, c)

	// closedWithin connects and waits for Serve to close the connection.
	closedWithin := func() time.Duration {
		t.Helper()
		start := time.Now()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := conn.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
			t.Fatalf("read from a tunnel to a dead proxy: %d, %v; want EOF", n, err)
		}
		return time.Since(start)
	}
	closedWithin()
	// Serve records the failure before it closes the connection.
	first := time.Now()
	if got := dials.Load(); got != 1 {
		t.Fatalf("%d dials for the first connection, want 1", got)
	}
	for i := range 4 {
		if d := closedWithin(); d > 500*time.Millisecond {
			t.Errorf("connection %d closed after %v, want at once", i+2, d)
		}
	}
	if since := time.Since(first); since < dialRetryInterval {
		if got := dials.Load(); got != 1 {
			t.Errorf("%d dials within %v of a failed one, want 1", got, since)
		}
		<-time.After(dialRetryInterval - since) // the interval itself is what is tested
	}
	closedWithin()
	if got := dials.Load(); got != 2 {
		t.Errorf("%d dials after the retry interval, want 2", got)
	}
	if !strings.Contains(logs.all(), "closed at once so the emulator retries") {
		t.Errorf("no log line for the connections closed without a dial:\n%s", logs.all())
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
