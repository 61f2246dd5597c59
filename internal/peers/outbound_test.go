//go:build linux

package peers_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestOutboundSquid runs the tunnel through two real Squids: an outbound
// one (plain HTTP, CONNECT only, with and without Basic authentication) in
// front of the security proxy. The security proxy is named secproxy.test,
// which only the outbound Squid resolves (its hosts_file): without the
// outbound dial the tunnel fails at DNS. The outbound Squid never sees the
// session token.
func TestOutboundSquid(t *testing.T) {
	t.Parallel()
	ca := peers.NewCA(t)
	sec := peers.StartSquid(t, peers.SquidOptions{Cert: ca.Issue(t, "secproxy.test")})
	_, secPort, _ := net.SplitHostPort(sec.Addr)
	echo := peers.StartEcho(t)
	tok := sec.Token(t, echo.Addr)
	for _, tc := range []struct {
		name, user, pass, userinfo string
		wantErr                    string
	}{
		{name: "no auth"},
		{name: "basic auth", user: "alice", pass: "s3cret", userinfo: "alice:s3cret@"},
		{name: "auth missing", user: "alice", pass: "s3cret", wantErr: ": 407 authentication required"},
		{name: "auth wrong", user: "alice", pass: "s3cret", userinfo: "alice:wrong@", wantErr: ": 407 authentication required: the user name or password was refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := peers.StartOutboundSquid(t, peers.OutboundSquidOptions{Hosts: []string{"127.0.0.1 secproxy.test"}, User: tc.user, Password: tc.pass})
			ob, err := connector.NewOutboundProxy(connector.SourceFlag, "http://"+tc.userinfo+out.Addr, "")
			if err != nil {
				t.Fatal(err)
			}
			c := newConnector(t, connector.TransportConnect, "secproxy.test:"+secPort, sec.Cert, echo.Addr, tok, func(cfg *connector.Config) { cfg.Outbound = ob })
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			conn, err := c.Dial(ctx)
			if tc.wantErr != "" {
				var se *connector.StepError
				if err == nil || !errors.As(err, &se) || se.Step != connector.StepOutbound || !strings.Contains(err.Error(), "outbound proxy "+out.Addr+tc.wantErr) {
					t.Fatalf("Dial: %v, want a StepOutbound error %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), tc.pass) || strings.Contains(se.Hint(), tc.pass) {
					t.Errorf("the error shows the password: %v", err)
				}
				t.Logf("as expected: %v (hint: %s)", err, se.Hint())
			} else {
				if err != nil {
					t.Fatalf("Dial through the outbound Squid: %v", err)
				}
				defer conn.Close()
				if err := echoRoundTrip(conn, []byte("through two squids\n")); err != nil {
					t.Fatal(err)
				}
				conn.Close()
			}
			out.Stop() // flushes its access log
			log := out.AccessLog()
			if !strings.Contains(log, "secproxy.test:"+secPort) {
				t.Errorf("the outbound Squid's access log has no CONNECT to secproxy.test:\n%s", log)
			}
			if strings.Contains(log, tok) {
				t.Errorf("the outbound Squid logged the session token")
			}
		})
	}
}
