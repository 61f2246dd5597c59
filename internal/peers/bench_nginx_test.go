//go:build linux

package peers_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// BenchmarkNginxAuthRequest is what docs/proxy.md's auth_request adds to
// the WebSocket handshake, side by side in one run: two nginx in front of
// one upstream, "plain" proxying the upgrade with no check, "check" with
// docs/proxy.md's lines asking trustlaunch-tokencheck http (memory
// store), taking turns. The upstream is websockify (a fixed target, an
// echo server), then a Go WebSocket server that answers at once. Every upgrade
// carries a token of its own, the plain one's too, so both carry the same
// request. Measured: from writing the upgrade request on an established
// TLS connection to reading nginx's 101, which holds websockify's fork
// and its connection to the target for both, and the check for one. Each
// op is one upgrade through each nginx. Metrics: p50 and p99 of each,
// and their differences.
//
//	go test -run '^$' -bench NginxAuthRequest -benchtime 200x -count 3 ./internal/peers/
func BenchmarkNginxAuthRequest(b *testing.B) {
	echo := peers.StartEcho(b)
	check := peers.StartTokenCheckHTTP(b, peers.TokenCheckHTTPOptions{})
	ws := peers.StartWebsockify(b, peers.WebsockifyOptions{Target: echo.Addr})
	// A WebSocket server in this process that completes the upgrade at
	// once: websockify forks a Python process for each connection, whose
	// time varies by tens of milliseconds on a busy machine and hides
	// the check's cost.
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"binary"}})
		if err == nil {
			c.CloseNow()
		}
	}))
	b.Cleanup(fast.Close)
	for _, up := range []struct{ name, addr string }{{"websockify", ws.Addr}, {"go", strings.TrimPrefix(fast.URL, "http://")}} {
		plain := peers.StartNginx(b, peers.NginxOptions{Upstream: up.addr})
		checked := peers.StartNginx(b, peers.NginxOptions{Upstream: up.addr, TokenCheck: check.Addr, Destination: echo.Addr})
		b.Run("upstream="+up.name, func(b *testing.B) {
			took := map[string][]time.Duration{}
			for range b.N {
				// Issued now, not before the loop: on a busy machine a
				// run outlasts a token's lifetime. The timings are the
				// upgrades' own, which the issuing is not part of.
				token := check.Tokens.Token(b, echo.Addr)
				for _, n := range []struct {
					name string
					ng   *peers.Nginx
				}{{"plain", plain}, {"check", checked}} {
					d, err := timedUpgrade(b.Context(), n.ng, peers.SessionPath, token)
					if err != nil {
						b.Fatalf("%s: %v", n.name, err)
					}
					took[n.name] = append(took[n.name], d)
				}
			}
			b.StopTimer()
			p50p, p99p := percentiles(took["plain"])
			p50c, p99c := percentiles(took["check"])
			b.ReportMetric(p50p, "plain-p50-us")
			b.ReportMetric(p99p, "plain-p99-us")
			b.ReportMetric(p50c, "check-p50-us")
			b.ReportMetric(p99c, "check-p99-us")
			b.ReportMetric(p50c-p50p, "added-p50-us")
			b.ReportMetric(p99c-p99p, "added-p99-us")
		})
	}
}

// timedUpgrade opens a TLS connection to ng and times a WebSocket
// upgrade of path with token on it.
func timedUpgrade(ctx context.Context, ng *peers.Nginx, path, token string) (time.Duration, error) {
	d := tls.Dialer{Config: ng.Cert.CA.ClientTLS("127.0.0.1")}
	c, err := d.DialContext(ctx, "tcp", ng.Addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	req := fmt.Sprintf("GET %s?token=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n",
		path, url.QueryEscape(token), ng.Addr)
	start := time.Now()
	if _, err := c.Write([]byte(req)); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return 0, fmt.Errorf("upgrade: %s", resp.Status)
	}
	return took, nil
}
