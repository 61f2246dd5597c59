//go:build linux

package peers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// These tests check the harness and the real peers with the bare client, so
// that a failure in the connector tests is the connector's, not the harness's.

func bare(s *peers.Squid, token string) *peers.BareClient {
	return &peers.BareClient{Proxy: s.Addr, TLS: s.Cert.CA.ClientTLS("127.0.0.1"), Token: token}
}

func TestHarnessSquidEcho(t *testing.T) {
	sq := peers.StartSquid(t, peers.SquidOptions{})
	echo := peers.StartEcho(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	conn, err := bare(sq, sq.Token(t, echo.Addr)).Dial(ctx, echo.Addr)
	if err != nil {
		t.Fatalf("dial through squid: %v", err)
	}
	defer conn.Close()
	assertEcho(t, conn, "hello through squid\n")
}

func TestHarnessSquidRefusals(t *testing.T) {
	sq := peers.StartSquid(t, peers.SquidOptions{})
	echo := peers.StartEcho(t)
	other := peers.NewTokenIssuer(t, sq.Tokens.Audience, "")
	offLoopback := "192.0.2.1:23" // TEST-NET-1: never reached, refused by policy
	tests := []struct {
		name  string
		dest  string
		token string
		want  int
	}{
		{"missing token", echo.Addr, "", http.StatusProxyAuthRequired},
		{"forged token", echo.Addr, other.Token(t, echo.Addr), http.StatusProxyAuthRequired},
		{"expired token", echo.Addr, sq.Tokens.TokenAt(t, echo.Addr, time.Now().Add(-5*time.Minute)), http.StatusProxyAuthRequired},
		{"token for another destination", echo.Addr, sq.Token(t, "127.0.0.1:1"), http.StatusProxyAuthRequired},
		{"garbage token", echo.Addr, "not-a-jwt", http.StatusProxyAuthRequired},
		{"destination off loopback", offLoopback, sq.Token(t, offLoopback), http.StatusForbidden},
		{"closed port", "127.0.0.1:1", sq.Token(t, "127.0.0.1:1"), http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			conn, err := bare(sq, tt.token).Dial(ctx, tt.dest)
			if err == nil {
				conn.Close()
				t.Fatalf("tunnel opened, want status %d", tt.want)
			}
			var se *peers.StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.want {
				t.Fatalf("err = %v, want status %d", err, tt.want)
			}
		})
	}
}

func TestHarnessStunnelPair(t *testing.T) {
	echo := peers.StartEcho(t)
	st := peers.StartStunnelPair(t, peers.StunnelOptions{Dest: echo.Addr})
	conn, err := net.DialTimeout("tcp", st.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	assertEcho(t, conn, "hello through stunnel\n")
}

// dialWebsockify is a bare WebSocket client for websockify: no linger after
// EOF, so it is only for checking the peer.
func dialWebsockify(ctx context.Context, ws *peers.Websockify, query string) (net.Conn, error) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ws.Cert.CA.ClientTLS("127.0.0.1")}}
	c, _, err := websocket.Dial(ctx, ws.URL+query, &websocket.DialOptions{
		HTTPClient:   client,
		Subprotocols: []string{"binary"},
	})
	if err != nil {
		return nil, err
	}
	return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
}

func TestHarnessWebsockify(t *testing.T) {
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{})
	echo := peers.StartEcho(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	conn, err := dialWebsockify(ctx, ws, "?token="+ws.Token(t, echo.Addr))
	if err != nil {
		t.Fatalf("dial websockify: %v", err)
	}
	assertEcho(t, conn, "hello through websockify\n")
	conn.Close()

	for _, query := range []string{"", "?token=", "?token=" + peers.NewTokenKey(t).Token(t, echo.Addr)} {
		conn, err := dialWebsockify(ctx, ws, query)
		if err == nil {
			conn.Close()
			t.Errorf("query %.20q: websockify accepted the connection", query)
		}
	}
}

func TestHarnessHercules(t *testing.T) {
	h := peers.StartHercules(t, peers.HerculesOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	screen, err := peers.RunS3270(t, ctx, h.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(screen, "Hercules") {
		t.Fatalf("screen does not show Hercules:\n%s", screen)
	}
}

// TestHarnessSquidServerFirst checks that bytes a destination sends before
// the client says anything come through Squid and the bare client (which
// must keep what arrived behind the CONNECT answer).
func TestHarnessSquidServerFirst(t *testing.T) {
	sq := peers.StartSquid(t, peers.SquidOptions{})
	banner := []byte("220 server speaks first\r\n")
	dest := peers.StartBanner(t, banner)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	conn, err := bare(sq, sq.Token(t, dest.Addr)).Dial(ctx, dest.Addr)
	if err != nil {
		t.Fatalf("dial through squid: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(banner))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, banner) {
		t.Fatalf("banner = %q, want %q", got, banner)
	}
}
