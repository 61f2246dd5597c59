//go:build linux

package peers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// newConnector builds a connector to a real peer's TLS port, trusting only
// the peer's test CA.
func newConnector(t testing.TB, transport connector.Transport, proxyAddr string, cert *peers.ServerCert, dest, token string, tweak ...func(*connector.Config)) *connector.Connector {
	t.Helper()
	return newConnectorPool(t, transport, proxyAddr, cert.CA.Pool, dest, token, tweak...)
}

// newConnectorPool builds a connector trusting only roots.
func newConnectorPool(t testing.TB, transport connector.Transport, proxyAddr string, roots *x509.CertPool, dest, token string, tweak ...func(*connector.Config)) *connector.Connector {
	t.Helper()
	cfg := connector.Config{
		ProxyAddr:   proxyAddr,
		Transport:   transport,
		RootCAs:     roots,
		Destination: dest,
		Token:       connector.NewToken(token),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := connector.New(cfg)
	if err != nil {
		t.Fatalf("connector.New: %v", err)
	}
	return c
}

func squidConnector(t testing.TB, sq *peers.Squid, dest string, tweak ...func(*connector.Config)) *connector.Connector {
	t.Helper()
	return newConnector(t, connector.TransportConnect, sq.Addr, sq.Cert, dest, sq.Token(t, dest), tweak...)
}

func websockifyConnector(t testing.TB, ws *peers.Websockify, dest string, tweak ...func(*connector.Config)) *connector.Connector {
	t.Helper()
	return newConnector(t, connector.TransportWebSocket, ws.Addr, ws.Cert, dest, ws.Token(t, dest), tweak...)
}

// serve runs c.Serve on a fresh loopback listener until the test ends and
// returns the listener's address. Each local connection gets a tunnel
// dialed when it arrives.
func serve(t testing.TB, c *connector.Connector) string {
	t.Helper()
	return servePreDialed(t, c, nil)
}

// serveLikeLaunch dials the tunnel first and serves it to the first local
// connection, as a launch does (launcher.Launch, connector.ServePreDialed):
// a host that speaks first has its opening bytes waiting when the emulator
// connects.
func serveLikeLaunch(t testing.TB, c *connector.Connector) string {
	t.Helper()
	first, err := c.Dial(t.Context())
	if err != nil {
		t.Fatalf("dial the tunnel: %v", err)
	}
	return servePreDialed(t, c, first)
}

func servePreDialed(t testing.TB, c *connector.Connector, first net.Conn) string {
	t.Helper()
	ln, err := connector.Listen("", false)
	if err != nil {
		if first != nil {
			first.Close()
		}
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.ServePreDialed(ctx, ln, first) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Serve did not return 30 s after its context ended")
		}
	})
	return ln.Addr().String()
}

// bulkExchange sends `send` bytes of Pattern(sendSeed) on conn while reading
// `recv` bytes, and returns the SHA-256 of what it read. It does not close or
// half-close conn: the caller decides how the stream ends, because Squid
// tears a tunnel down on the first EOF.
func bulkExchange(ctx context.Context, conn net.Conn, send int64, sendSeed uint64, recv int64) (got [32]byte, err error) {
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		_, werr = io.Copy(conn, peers.Pattern(sendSeed, send))
		if werr != nil {
			werr = fmt.Errorf("write: %w", werr)
		}
	})
	h := sha256.New()
	n, rerr := io.CopyN(h, conn, recv)
	if rerr != nil {
		rerr = fmt.Errorf("read after %d of %d bytes: %w", n, recv, rerr)
		conn.SetDeadline(time.Unix(1, 0)) // unblock the writer
	}
	wg.Wait()
	return [32]byte(h.Sum(nil)), errors.Join(rerr, werr)
}

// echoRoundTrip writes msg and reads it back.
func echoRoundTrip(conn net.Conn, msg []byte) error {
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if !bytes.Equal(got, msg) {
		return errors.New("echo differs from what was sent")
	}
	return nil
}

// wantStep fails unless err is a *connector.StepError of step.
func wantStep(t testing.TB, err error, step connector.Step) *connector.StepError {
	t.Helper()
	var se *connector.StepError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *connector.StepError of step %s", err, err, step)
	}
	if se.Step != step {
		t.Fatalf("step = %s, want %s; err = %v", se.Step, step, err)
	}
	return se
}

// mib is 2^20 bytes.
const mib = 1 << 20

// exchange64MiB sends 64 MiB each way at once through connector.Serve, with
// the connector that through makes for a destination, to a destination that
// sends its own 64 MiB while it reads, and compares SHA-256 digests on both
// sides. up and down seed the two streams.
func exchange64MiB(t *testing.T, through func(dest string) *connector.Connector, up, down uint64) {
	t.Helper()
	const size = 64 * mib
	sink := peers.StartSink(t, peers.SinkOptions{Send: size, Seed: down})
	addr := serve(t, through(sink.Addr))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got, err := bulkExchange(ctx, conn, size, up, size)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got != peers.PatternSum(down, size) {
		t.Errorf("bytes from the destination differ (SHA-256)")
	}
	// Everything has arrived both ways only now; an earlier EOF would make
	// Squid drop the tunnel with data in flight.
	conn.Close()
	res, err := sink.Next(ctx)
	if err != nil {
		t.Fatalf("destination result: %v", err)
	}
	if res.Err != nil || res.Received != size || res.SHA256 != peers.PatternSum(up, size) {
		t.Errorf("destination received %d bytes (want %d), digest match %v, err %v",
			res.Received, size, res.SHA256 == peers.PatternSum(up, size), res.Err)
	}
}

// assertEcho writes msg to conn and fails the test unless the same bytes come
// back within 10 s.
func assertEcho(t *testing.T, conn net.Conn, msg string) {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}
