//go:build linux

package peers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestSquidBulk64MiB sends 64 MiB each way at once through connector.Serve
// and Squid (see exchange64MiB).
func TestSquidBulk64MiB(t *testing.T) {
	t.Parallel()
	sq := peers.StartSquid(t, peers.SquidOptions{})
	exchange64MiB(t, func(dest string) *connector.Connector { return squidConnector(t, sq, dest) }, 1, 2)
}

// TestSquidConcurrentTunnels opens 200 tunnels through one Squid, holds them
// all open at once (the echo destination counts them), then sends data both
// ways on each.
func TestSquidConcurrentTunnels(t *testing.T) {
	t.Parallel()
	const (
		tunnels = 200
		size    = 64 << 10
	)
	sq := peers.StartSquid(t, peers.SquidOptions{})
	echo := peers.StartEcho(t)
	addr := serve(t, squidConnector(t, sq, echo.Addr))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	var opened sync.WaitGroup
	opened.Add(tunnels)
	allOpen := make(chan struct{})
	errs := make(chan error, tunnels)
	var wg sync.WaitGroup
	for i := range tunnels {
		wg.Go(func() {
			err := func() error {
				var d net.Dialer
				conn, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					opened.Done()
					return err
				}
				defer conn.Close()
				stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
				defer stop()
				// A first round trip proves the tunnel reaches the echo.
				err = echoRoundTrip(conn, fmt.Appendf(nil, "tunnel %d\n", i))
				opened.Done()
				if err != nil {
					return err
				}
				select {
				case <-allOpen:
				case <-ctx.Done():
					return ctx.Err()
				}
				msg := make([]byte, size)
				r := rand.New(rand.NewPCG(uint64(i), 0))
				for j := range msg {
					msg[j] = byte(r.Uint32())
				}
				return echoRoundTrip(conn, msg)
			}()
			if err != nil {
				errs <- fmt.Errorf("tunnel %d: %w", i, err)
			}
		})
	}
	opened.Wait()
	if n := echo.Active(); n != tunnels && len(errs) == 0 {
		t.Errorf("destination has %d connections open at once, want %d", n, tunnels)
	}
	close(allOpen)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 5 {
			t.Error(err)
		}
	}
	if failed > 5 {
		t.Errorf("... %d tunnels failed in all", failed)
	}
}

// TestSquidRefusals checks that Squid's answers reach the caller as the
// right steps: bad tokens as proxy-auth (Squid's 407 from deny_info), a
// destination off loopback as proxy-policy (403), a closed port as upstream
// (503).
func TestSquidRefusals(t *testing.T) {
	t.Parallel()
	sq := peers.StartSquid(t, peers.SquidOptions{})
	echo := peers.StartEcho(t)
	closed := closedPort(t)
	offLoopback := "192.0.2.1:23" // TEST-NET-1: refused by policy, never dialled
	tests := []struct {
		name  string
		dest  string
		token string
		want  connector.Step
	}{
		{"forged token", echo.Addr, peers.NewTokenIssuer(t, sq.Tokens.Audience, "").Token(t, echo.Addr), connector.StepProxyAuth},
		{"expired token", echo.Addr, sq.Tokens.TokenAt(t, echo.Addr, time.Now().Add(-5*time.Minute)), connector.StepProxyAuth},
		{"unknown token", echo.Addr, "0123456789abcdef", connector.StepProxyAuth},
		{"token for another destination", echo.Addr, sq.Token(t, closed), connector.StepProxyAuth},
		{"destination off loopback", offLoopback, sq.Token(t, offLoopback), connector.StepProxyPolicy},
		{"closed port", closed, sq.Token(t, closed), connector.StepUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConnector(t, connector.TransportConnect, sq.Addr, sq.Cert, tt.dest, tt.token)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			conn, err := c.Dial(ctx)
			if err == nil {
				conn.Close()
				t.Fatalf("tunnel opened, want a %s error", tt.want)
			}
			se := wantStep(t, err, tt.want)
			if strings.Contains(se.Error(), tt.token) {
				t.Errorf("error text contains the token: %v", se)
			}
		})
	}

	// trustlaunch-tokencheck explains each refusal in cache.log, never
	// with the token.
	logs := sq.AccessLog() + sq.CacheLog() + sq.Log()
	if !strings.Contains(logs, "trustlaunch-tokencheck: refused (expired)") {
		t.Errorf("cache.log lacks trustlaunch-tokencheck's explanation of the expired token")
	}
	for _, tt := range tests {
		if strings.Contains(logs, tt.token) {
			t.Errorf("%s: Squid's logs contain the token", tt.name)
		}
	}

	// A missing token never reaches the proxy: the connector refuses to
	// be built without one. Squid's own answer to a CONNECT without
	// Proxy-Authorization (407) is checked with the bare client in
	// TestHarnessSquidRefusals.
	t.Run("missing token", func(t *testing.T) {
		_, err := connector.New(connector.Config{
			ProxyAddr: sq.Addr, Transport: connector.TransportConnect,
			RootCAs: sq.Cert.CA.Pool, Destination: echo.Addr,
		})
		if err == nil {
			t.Fatal("connector.New accepted a config without a token")
		}
	})
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
