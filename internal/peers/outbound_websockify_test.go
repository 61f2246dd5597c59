//go:build linux

package peers_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestOutboundWebsockify is TestOutboundSquid for the websocket transport
// (both transports must cross an outbound proxy): the real outbound Squid
// (plain HTTP, CONNECT only) in front of the real websockify with its JWT
// token plugin. The security proxy is named secproxy.test, which only the
// outbound Squid resolves (its hosts_file), so the tunnel can work only
// through it; the "direct" case checks that, or the other cases would prove
// nothing. The WebSocket upgrade, and with it the token, travels inside the
// TLS session to websockify, so the outbound Squid never sees the token.
func TestOutboundWebsockify(t *testing.T) {
	t.Parallel()
	ca := peers.NewCA(t)
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{Cert: ca.Issue(t, "secproxy.test")})
	_, wsPort, _ := net.SplitHostPort(ws.Addr)
	proxyAddr := "secproxy.test:" + wsPort
	echo := peers.StartEcho(t)
	tok := ws.Token(t, echo.Addr)

	t.Run("direct", func(t *testing.T) {
		c := newConnector(t, connector.TransportWebSocket, proxyAddr, ws.Cert, echo.Addr, tok)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		conn, err := c.Dial(ctx)
		if err == nil {
			conn.Close()
			t.Fatal("the tunnel opened without the outbound proxy: secproxy.test resolves here, so this test cannot show that the outbound dial is used")
		}
		wantStep(t, err, connector.StepDNS)
	})

	for _, tc := range []struct{ name, user, pass, userinfo string }{
		{name: "no auth"},
		{name: "basic auth", user: "alice", pass: "s3cret", userinfo: "alice:s3cret@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := peers.StartOutboundSquid(t, peers.OutboundSquidOptions{Hosts: []string{"127.0.0.1 secproxy.test"}, User: tc.user, Password: tc.pass})
			ob, err := connector.NewOutboundProxy(connector.SourceFlag, "http://"+tc.userinfo+out.Addr, "")
			if err != nil {
				t.Fatal(err)
			}
			c := newConnector(t, connector.TransportWebSocket, proxyAddr, ws.Cert, echo.Addr, tok, func(cfg *connector.Config) { cfg.Outbound = ob })
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			conn, err := c.Dial(ctx)
			if err != nil {
				t.Fatalf("Dial websockify through the outbound Squid: %v", err)
			}
			defer conn.Close()
			if err := echoRoundTrip(conn, []byte("through squid and websockify\n")); err != nil {
				t.Fatal(err)
			}
			// 1 MiB up while the echo sends it back down: many WebSocket
			// frames each way at once, not one small message.
			const size, seed = mib, 14
			got, err := bulkExchange(ctx, conn, size, seed, size)
			if err != nil {
				t.Fatalf("1 MiB each way: %v", err)
			}
			if got != peers.PatternSum(seed, size) {
				t.Fatal("1 MiB each way: what came back differs from what was sent")
			}
			conn.Close()

			out.Stop() // flushes its access log
			log := out.AccessLog()
			if !strings.Contains(log, "CONNECT "+proxyAddr) {
				t.Errorf("the outbound Squid's access log has no CONNECT to %s:\n%s", proxyAddr, log)
			}
			if strings.Contains(log, tok) {
				t.Errorf("the outbound Squid logged the session token")
			}
			if tc.user != "" && !strings.Contains(log, " "+tc.user+" ") {
				t.Errorf("the outbound Squid's access log does not name the authenticated user %s:\n%s", tc.user, log)
			}
		})
	}
}
