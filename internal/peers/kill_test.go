//go:build linux

package peers_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestProxyKilledMidStream kills the proxy (SIGKILL to its whole process
// group: Squid and its helpers, websockify and its per-connection fork)
// while data flows both ways through connector.Serve, and checks that the
// local connection is closed promptly, that Serve reports a relay error, and
// that no goroutine outlives the tunnel.
func TestProxyKilledMidStream(t *testing.T) {
	for _, name := range []string{"squid", "websockify"} {
		t.Run(name, func(t *testing.T) {
			sink := peers.StartSink(t, peers.SinkOptions{Send: 1 << 40, Seed: 2})
			var proxy *peers.Process
			var dial func(tweak func(*connector.Config)) *connector.Connector
			if name == "squid" {
				sq := peers.StartSquid(t, peers.SquidOptions{})
				proxy = sq.Process
				dial = func(tweak func(*connector.Config)) *connector.Connector {
					return squidConnector(t, sq, sink.Addr, tweak)
				}
			} else {
				ws := peers.StartWebsockify(t, peers.WebsockifyOptions{})
				proxy = ws.Process
				dial = func(tweak func(*connector.Config)) *connector.Connector {
					return websockifyConnector(t, ws, sink.Addr, tweak)
				}
			}
			// Goroutines of the peers started above are not the connector's.
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			killMidStream(t, proxy, dial)
		})
	}
}

func killMidStream(t *testing.T, proxy *peers.Process, newConnector func(func(*connector.Config)) *connector.Connector) {
	relayErr := make(chan *connector.StepError, 1)
	c := newConnector(func(cfg *connector.Config) {
		cfg.Logf = func(format string, args ...any) {
			t.Logf("connector: "+format, args...)
			for _, a := range args {
				var se *connector.StepError
				if err, ok := a.(error); ok && errors.As(err, &se) && se.Step == connector.StepRelay {
					select {
					case relayErr <- se:
					default:
					}
				}
			}
		}
	})
	ln, err := connector.Listen("", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- c.Serve(serveCtx, ln) }()
	defer func() {
		stopServe()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	var read, written atomic.Int64
	readDone := make(chan error, 1)
	writeDone := make(chan error, 1)
	go func() {
		n, err := io.Copy(io.Discard, conn)
		read.Store(n)
		readDone <- err
	}()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := conn.Write(buf)
			written.Add(int64(n))
			if err != nil {
				writeDone <- err
				return
			}
		}
	}()

	// Kill once a few MiB have flowed: mid-stream for sure.
	tick := time.NewTicker(10 * time.Millisecond)
	for written.Load() < 4*mib {
		select {
		case <-tick.C:
		case err := <-readDone:
			t.Fatalf("tunnel ended before the proxy was killed: %v", err)
		case <-ctx.Done():
			t.Fatalf("only %d bytes written before the deadline", written.Load())
		}
	}
	tick.Stop()
	proxy.Kill()
	killed := time.Now()

	const prompt = 5 * time.Second
	for _, ch := range []chan error{readDone, writeDone} {
		select {
		case <-ch:
		case <-time.After(prompt - time.Since(killed)):
			t.Fatalf("local connection still open %v after the proxy was killed", prompt)
		}
	}
	t.Logf("local connection closed %v after the kill (%d bytes written, %d read)",
		time.Since(killed).Round(time.Millisecond), written.Load(), read.Load())
	select {
	case se := <-relayErr:
		t.Logf("relay error: %v", se)
	case <-time.After(prompt - time.Since(killed)):
		t.Fatalf("Serve logged no relay error within %v of the kill", prompt)
	}
}
