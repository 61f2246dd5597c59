//go:build linux

package peers_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestIdleWebSocketSurvivesNginxReadTimeout: websockify behind nginx with
// proxy_read_timeout 3 s, a WebSocket tunnel idle for 10 s (more than three
// times the timeout), then bytes both ways on the same connection. The
// connector's WebSocket pings (every second here) and websockify's pongs
// are the traffic nginx counts. The control, the same session with pings
// off (an interval far beyond the test), must be cut by nginx: it shows
// the timeout is real, so the first case fails when the pings are removed.
func TestIdleWebSocketSurvivesNginxReadTimeout(t *testing.T) {
	t.Parallel()
	const readTimeout, idle = 3 * time.Second, 10 * time.Second
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{})
	ng := peers.StartNginx(t, peers.NginxOptions{Upstream: ws.Addr, UpstreamCA: ws.Cert.CA, ReadTimeout: readTimeout})
	echo := peers.StartEcho(t)
	for _, tc := range []struct {
		name    string
		ping    time.Duration
		survive bool
	}{
		{"pings every second", time.Second, true},
		{"pings off", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t, connector.TransportWebSocket, ng.Addr, ng.Cert, echo.Addr, ws.Token(t, echo.Addr),
				func(cfg *connector.Config) { cfg.WebSocketPing = tc.ping })
			addr := serve(t, c)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			assertEcho(t, conn, "before the idle\n")

			// Idle: nothing from the emulator's side. A read waits for
			// the end of the tunnel, which nginx brings when it cuts.
			start := time.Now()
			ended := make(chan error, 1)
			conn.SetReadDeadline(start.Add(idle))
			go func() {
				var b [1]byte
				_, err := conn.Read(b[:])
				ended <- err
			}()
			err = <-ended
			var ne net.Error
			timedOut := err != nil && errors.As(err, &ne) && ne.Timeout()
			switch {
			case tc.survive && !timedOut:
				t.Fatalf("the tunnel ended %v into the idle (nginx proxy_read_timeout %v): %v", time.Since(start).Round(100*time.Millisecond), readTimeout, err)
			case !tc.survive && timedOut:
				t.Fatalf("without pings the tunnel stayed open %v idle behind nginx's proxy_read_timeout %v: the control shows nothing", idle, readTimeout)
			case !tc.survive:
				t.Logf("without pings nginx cut the tunnel %v into the idle (proxy_read_timeout %v): %v", time.Since(start).Round(100*time.Millisecond), readTimeout, err)
				return
			}
			conn.SetReadDeadline(time.Time{})
			// Bytes flow after the idle, on the same connection.
			assertEcho(t, conn, "after the idle\n")
			t.Logf("tunnel alive after %v idle behind nginx proxy_read_timeout %v (%.1fx), pings every %v",
				time.Since(start).Round(100*time.Millisecond), readTimeout, float64(idle)/float64(readTimeout), tc.ping)
		})
	}
}
