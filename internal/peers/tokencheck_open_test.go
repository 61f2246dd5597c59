//go:build linux

package peers_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// TestOpenThroughTokenCheck is the launch a user makes, with the built
// binary, through Squid's https_port and the shipped
// trustlaunch-tokencheck with docs/proxy.md's lines: an HTTPS origin
// serves the descriptor, trustlaunch open fetches it and opens the tunnel
// with its token, and the emulator profile reads the host's first line.
//
//   - The emulator connects twice in the session (a reconnect): both
//     tunnels are admitted with the one token from the one client, the
//     single-use rule of docs/proxy.md ("Single use, and reconnects").
//   - A token another client used first, and a token for another port of
//     the same host, are refused, and the user reads why:
//     "token rejected or expired (407 ...)"; cache.log names the reason.
//
// No token is in trustlaunch's output or audit log, or in Squid's logs.
func TestOpenThroughTokenCheck(t *testing.T) {
	t.Parallel()
	bin := peers.BuildTrustlaunch(t)
	sq := peers.StartSquid(t, peers.SquidOptions{AccessLogFormat: "%Ss/%>Hs %un %ea"})
	banner := "220 mainframe ready behind the token check"
	host := peers.StartBanner(t, []byte(banner+"\r\n"))
	hostIP, hostPort, _ := net.SplitHostPort(host.Addr)
	port, _ := strconv.Atoi(hostPort)
	planted := []string{"tkt-9f8e7d"} // the ticket, then every token issued
	var outputs []string              // trustlaunch's output and audit log, per launch
	var reconnected string            // the jti of the session whose emulator reconnected

	// issue mints a token as the portal does, and returns it with its jti.
	issue := func(t *testing.T, dest string) (token, jti string) {
		tok, claims, err := sq.Tokens.Issuer.Issue(sessiontoken.Grant{Audience: sq.Tokens.Audience, Destination: dest, Subject: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		planted = append(planted, tok)
		return tok, claims.ID
	}
	// launch runs trustlaunch open on a descriptor carrying token, with a
	// profile that connects to the tunnel twice, reading the host's first
	// line each time.
	launch := func(t *testing.T, token string) (string, error) {
		originCA := peers.NewCA(t)
		origin := startOrigin(t, originCA, map[string]any{
			"version": 1,
			"session": "Mainframe (Squid + trustlaunch-tokencheck)",
			"profile": "twice",
			"proxy": map[string]any{
				"address": sq.Addr, "transport": "connect", "server_name": "127.0.0.1",
				"ca_pem": string(sq.Cert.CA.CertPEM),
			},
			"destination": map[string]any{"host": hostIP, "port": port},
			"token":       token,
		})
		home := t.TempDir()
		writeUserConfig(t, home, origin, "[profile.twice]\ncommand = [\"bash\", \"-c\", "+
			strconv.Quote("for i in 1 2; do exec 3<>/dev/tcp/{host}/{port} || exit 1; head -n 1 <&3; exec 3<&-; done")+"]\n")
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		link := "trustlaunch://launch?url=" + url.QueryEscape(origin+"/descriptor?ticket=tkt-9f8e7d")
		cmd := exec.CommandContext(ctx, bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link)
		cmd.Env = append(os.Environ(),
			"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"XDG_STATE_HOME="+filepath.Join(home, "state"),
			"SSL_CERT_FILE="+originCA.CertFile,
		)
		cmd.Stdin = strings.NewReader("")
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		audit, _ := os.ReadFile(filepath.Join(home, "state", "trustlaunch", "audit.log"))
		outputs = append(outputs, string(out), string(audit))
		return string(out), err
	}

	t.Run("the emulator reconnects", func(t *testing.T) {
		token, jti := issue(t, host.Addr)
		out, err := launch(t, token)
		if err != nil {
			t.Fatalf("trustlaunch open: %v\n%s", err, out)
		}
		if n := strings.Count(out, banner); n != 2 {
			t.Fatalf("the emulator read the host's first line %d times, want 2 (one per connection):\n%s", n, out)
		}
		reconnected = jti
	})

	t.Run("a token another client used first", func(t *testing.T) {
		token, _ := issue(t, host.Addr)
		thief := bare(sq, token)
		thief.Source = "127.0.0.2"
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		conn, err := thief.Dial(ctx, host.Addr)
		if err != nil {
			t.Fatalf("the first use, from 127.0.0.2: %v", err)
		}
		conn.Close()
		out, err := launch(t, token)
		if err == nil || !strings.Contains(out, "token rejected or expired (407 Proxy Authentication Required)") {
			t.Fatalf("trustlaunch open: %v, want a refusal naming the token:\n%s", err, out)
		}
		if strings.Contains(out, banner) {
			t.Errorf("the emulator reached the host:\n%s", out)
		}
	})

	t.Run("a token for another port", func(t *testing.T) {
		token, _ := issue(t, net.JoinHostPort(hostIP, strconv.Itoa(port+1)))
		out, err := launch(t, token)
		if err == nil || !strings.Contains(out, "token rejected or expired (407 Proxy Authentication Required)") {
			t.Fatalf("trustlaunch open: %v, want a refusal naming the token:\n%s", err, out)
		}
		if strings.Contains(out, banner) {
			t.Errorf("the emulator reached the host:\n%s", out)
		}
	})

	sq.Stop() // flushes the logs
	cache, access := sq.CacheLog(), sq.AccessLog()
	if n := strings.Count(access, "TCP_TUNNEL/200 alice jti="+reconnected+"\n"); reconnected != "" && n < 2 {
		t.Errorf("access.log has %d tunnels of jti %s, want one per connection of the emulator:\n%s", n, reconnected, access)
	}
	for _, want := range []string{"refused (replayed)", "(first used from 127.0.0.2)", "refused (destination)"} {
		if !strings.Contains(cache, want) {
			t.Errorf("cache.log lacks %q:\n%s", want, cache)
		}
	}
	for _, tok := range planted {
		for _, text := range append(outputs, cache, access, sq.Log()) {
			if strings.Contains(text, tok) {
				t.Errorf("a token reached an output or a log: %.60s", text)
			}
		}
	}
}
