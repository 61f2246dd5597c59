//go:build linux

package peers_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestWebsockifyBulk64MiB sends 64 MiB each way at once through
// connector.Serve and websockify (see exchange64MiB).
func TestWebsockifyBulk64MiB(t *testing.T) {
	t.Parallel()
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{})
	exchange64MiB(t, func(dest string) *connector.Connector { return websockifyConnector(t, ws, dest) }, 3, 4)
}

// TestWebsockifySendThenEOF sends 64 MiB, then EOF (a TCP half-close from
// the local client), and checks that all of it reaches the destination:
// websockify drops what it still queues for the destination when it reads a
// close frame, so the connector must not send one too early. On a starved
// host (nice -n 15 beside busy loops, websockify included) a close sent once
// the tunnel is quiet and acknowledged, without the pong, loses the last
// message.
func TestWebsockifySendThenEOF(t *testing.T) {
	t.Parallel()
	const size = 64 << 20
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{})
	sink := peers.StartSink(t, peers.SinkOptions{})
	addr := serve(t, websockifyConnector(t, ws, sink.Addr))
	// A few seconds here; a starved host (the test at nice -n 15 beside
	// four busy loops, websockify included) takes over two minutes.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.Copy(conn, peers.Pattern(5, size)); err != nil {
		t.Fatalf("write: %v", err)
	}
	sent := time.Now()
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The tunnel closes the local connection once it has closed the
	// WebSocket; nothing comes back from a sink.
	if n, err := io.Copy(io.Discard, conn); n != 0 || err != nil {
		t.Errorf("after EOF: read %d bytes, err %v; want 0 and a clean EOF", n, err)
	}
	res, err := sink.Next(ctx)
	if err != nil {
		t.Fatalf("destination result: %v", err)
	}
	t.Logf("destination received %d of %d bytes, saw EOF %v after the last byte was written", res.Received, size, time.Since(sent).Round(time.Millisecond))
	if res.Err != nil || res.Received != size || res.SHA256 != peers.PatternSum(5, size) {
		t.Errorf("destination received %d bytes (want %d), digest match %v, err %v",
			res.Received, size, res.SHA256 == peers.PatternSum(5, size), res.Err)
	}
}

// TestWebsockifyRefusals checks that tokens websockify's JWTTokenApi
// rejects (it closes the connection without an HTTP answer) reach the caller
// as the proxy-auth step.
func TestWebsockifyRefusals(t *testing.T) {
	t.Parallel()
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{})
	echo := peers.StartEcho(t)
	tests := []struct {
		name  string
		token string
	}{
		{"forged token", peers.NewTokenKey(t).Token(t, echo.Addr)},
		// jwcrypto allows 60 s of clock skew; websockify itself none.
		{"expired token", ws.Key.TokenExpiring(t, echo.Addr, time.Now().Add(-2*time.Minute))},
		{"unknown token", "0123456789abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConnector(t, connector.TransportWebSocket, ws.Addr, ws.Cert, echo.Addr, tt.token)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			conn, err := c.Dial(ctx)
			if err == nil {
				conn.Close()
				t.Fatal("tunnel opened, want a proxy-auth error")
			}
			se := wantStep(t, err, connector.StepProxyAuth)
			if strings.Contains(se.Error(), tt.token) {
				t.Errorf("error text contains the token: %v", se)
			}
		})
	}
	// websockify's answer to a request without token= is checked with the
	// bare client in TestHarnessWebsockify; the connector refuses to be
	// built without a token (TestSquidRefusals/missing_token).
}
