//go:build linux

package peers_test

import (
	"context"
	"fmt"
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
)

// TestOpenThroughRealPeers is the product end to end with the built binary:
// an HTTPS origin serves a descriptor → trustlaunch open → Squid (CONNECT)
// or websockify (WebSocket) → Hercules, with a user profile that runs s3270
// scripted. The screen s3270 prints must show the Hercules logo, and the
// audit log must record the launch without the token.
func TestOpenThroughRealPeers(t *testing.T) {
	t.Parallel()
	bin := peers.BuildTrustlaunch(t)
	h := peers.StartHercules(t, peers.HerculesOptions{})
	sq := peers.StartSquid(t, peers.SquidOptions{})
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{})
	hostIP, hostPort, _ := net.SplitHostPort(h.Addr)
	port, _ := strconv.Atoi(hostPort)

	for _, tc := range []struct {
		name, transport, addr, token string
		ca                           []byte
	}{
		{"squid", "connect", sq.Addr, sq.Token(t, h.Addr), sq.Cert.CA.CertPEM},
		{"websockify", "websocket", ws.Addr, ws.Token(t, h.Addr), ws.Cert.CA.CertPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desc := map[string]any{
				"version": 1,
				"session": "Hercules console (" + tc.name + ")",
				"profile": "s3270-script",
				"proxy": map[string]any{
					"address": tc.addr, "transport": tc.transport, "server_name": "127.0.0.1",
					"ca_pem": string(tc.ca),
				},
				"destination": map[string]any{"host": hostIP, "port": port},
				"token":       tc.token,
			}
			originCA := peers.NewCA(t)
			origin := startOrigin(t, originCA, desc)
			home := t.TempDir()
			writeConfig(t, home, origin)

			link := "trustlaunch://launch?url=" + url.QueryEscape(origin+"/descriptor?ticket=tkt-9f8e7d")
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link)
			cmd.Env = append(os.Environ(),
				"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
				"XDG_STATE_HOME="+filepath.Join(home, "state"),
				// Go's system root pool on Linux honours SSL_CERT_FILE: the
				// test origin's CA stands in for a real public CA.
				"SSL_CERT_FILE="+originCA.CertFile,
			)
			cmd.Stdin = strings.NewReader("")
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("trustlaunch open: %v\n%s", err, out)
			}
			screen := peers.ParseS3270Screen(string(out))
			t.Logf("screen:\n%s", screen)
			if !strings.Contains(screen, "Hercules") {
				t.Fatalf("the emulator's screen does not show Hercules:\n%s", out)
			}
			for _, want := range []string{"[ok] whitelist", "[ok] descriptor", "[ok] proxy: TLS 1.3", "[ok] emulator"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			audit, err := os.ReadFile(filepath.Join(home, "state", "trustlaunch", "audit.log"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(audit), `"decision":"launched"`) {
				t.Errorf("audit log: %s", audit)
			}
			for _, secret := range []string{tc.token, "tkt-9f8e7d"} {
				if strings.Contains(string(out), secret) || strings.Contains(string(audit), secret) {
					t.Errorf("a secret reached the output or the audit log")
				}
			}
		})
	}
}

// startOrigin serves desc as the launch descriptor over HTTPS on 127.0.0.1
// (startNamedOrigin, with a certificate for 127.0.0.1) and returns the
// origin's base URL.
func startOrigin(t *testing.T, ca *peers.CA, desc map[string]any) string {
	t.Helper()
	return "https://" + startNamedOrigin(t, ca.Issue(t, "127.0.0.1"), desc)
}

// writeConfig writes the user's whitelist (admitting the origin, so no
// prompt) and a user profile that runs s3270 scripted. s3270 waits forever
// for an input field when the host is on its command line, and the Hercules
// logo screen has none, hence Connect() in the script.
func writeConfig(t *testing.T, home, origin string) {
	t.Helper()
	s3270 := peers.RequireBinary(t, "s3270")
	script := strings.ReplaceAll(peers.S3270Script("127.0.0.1:{port}"), "\n", `\n`)
	writeUserConfig(t, home, origin, fmt.Sprintf("[profile.s3270-script]\ncommand = [\"/bin/sh\", \"-c\", %q]\n",
		fmt.Sprintf("printf '%s' | %s", script, s3270)))
}

// writeUserConfig writes, under home's config/trustlaunch, a user list
// admitting origin (so there is no prompt) and profiles as profiles.toml.
func writeUserConfig(t *testing.T, home, origin, profiles string) {
	t.Helper()
	dir := filepath.Join(home, "config", "trustlaunch")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(origin)
	if err := os.WriteFile(filepath.Join(dir, "whitelist.txt"), []byte(u.Host+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles.toml"), []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
}
