//go:build linux

package peers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/platform"
)

// TestPolicyThroughSquid runs trustlaunch open against a real Squid with an
// admin policy (docs/design.md "Admin policy"): a listed origin whose
// descriptor names a proxy or a destination the policy does not list is
// refused at the policy step, and Squid never sees a connection; the same
// origin's descriptor that the policy allows tunnels through the same Squid,
// so the refusals are not vacuous.
//
// Squid is reached only through two counting relays: "listed" (the proxy the
// policy names) and "unlisted". A connection to either is a connection to
// Squid; Squid's access log must show the allowed tunnel and nothing else.
func TestPolicyThroughSquid(t *testing.T) {
	t.Parallel()
	adminDir := policyAdminDir(t)
	bin := peers.BuildTrustlaunch(t)
	sq := peers.StartSquid(t, peers.SquidOptions{})
	echo := peers.StartEcho(t)
	other := peers.StartEcho(t) // the unlisted destination
	listed := startCountingRelay(t, sq.Addr)
	unlisted := startCountingRelay(t, sq.Addr)

	policyFile := filepath.Join(adminDir, "policy.toml")
	policy := fmt.Sprintf("[[proxies]]\naddress = %q\n\n[[destinations]]\naddress = %q\n", listed.addr, echo.Addr)
	if err := os.WriteFile(policyFile, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}

	// open runs one launch whose descriptor names proxy and dest.
	open := func(t *testing.T, proxy, dest string) (string, error) {
		t.Helper()
		host, portText, _ := net.SplitHostPort(dest)
		port, _ := strconv.Atoi(portText)
		desc := map[string]any{
			"version": 1,
			"session": "policy through squid",
			"profile": "echo-check",
			"proxy": map[string]any{
				"address": proxy, "transport": "connect", "server_name": "127.0.0.1",
				"ca_pem": string(sq.Cert.CA.CertPEM),
			},
			"destination": map[string]any{"host": host, "port": port},
			"token":       sq.Token(t, dest),
		}
		originCA := peers.NewCA(t)
		origin := startOrigin(t, originCA, desc)
		home := t.TempDir()
		writeEchoProfile(t, home, origin)
		link := "trustlaunch://launch?url=" + url.QueryEscape(origin+"/descriptor?ticket=tkt-9f8e7d")
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "open",
			"--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt",
			"--admin-policy", policyFile, "--", link)
		cmd.Env = append(os.Environ(),
			"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"XDG_STATE_HOME="+filepath.Join(home, "state"),
			"SSL_CERT_FILE="+originCA.CertFile,
		)
		cmd.Stdin = strings.NewReader("")
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), desc["token"].(string)) {
			t.Errorf("the token reached trustlaunch's output")
		}
		return string(out), err
	}

	refusals := []struct {
		name, proxy, dest, want string
	}{
		{"unlisted proxy", unlisted.addr, echo.Addr, "proxy.address \"" + unlisted.addr + "\" is not a proxy the policy lists"},
		{"unlisted destination", listed.addr, other.Addr, "destination \"" + other.Addr + "\" is not a destination the policy lists"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			out, err := open(t, tc.proxy, tc.dest)
			// Refused by policy: exit 3, as the whitelist's refusals.
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("open: %v, want exit 3 (refused by policy)\n%s", err, out)
			}
			if !strings.Contains(out, "[failed] policy") || !strings.Contains(out, tc.want) || !strings.Contains(out, policyFile) {
				t.Errorf("output does not refuse with %q naming %s:\n%s", tc.want, policyFile, out)
			}
			if strings.Contains(out, "[ok] proxy") || strings.Contains(out, "[ok] emulator") {
				t.Errorf("a refused launch went past the policy step:\n%s", out)
			}
			if n, m := listed.accepted.Load(), unlisted.accepted.Load(); n != 0 || m != 0 {
				t.Errorf("Squid saw %d connections through the listed relay and %d through the unlisted one, want none", n, m)
			}
		})
	}

	t.Run("allowed", func(t *testing.T) {
		out, err := open(t, listed.addr, echo.Addr)
		if err != nil {
			t.Fatalf("open: %v\n%s", err, out)
		}
		if !strings.Contains(out, "echoed: policy-ok") {
			t.Errorf("the emulator did not get its line back through Squid:\n%s", out)
		}
		if listed.accepted.Load() == 0 {
			t.Errorf("the allowed launch did not reach Squid through the listed relay")
		}
		if n := unlisted.accepted.Load(); n != 0 {
			t.Errorf("the unlisted relay saw %d connections", n)
		}
	})

	// Squid logs a CONNECT when the tunnel closes; stopping Squid flushes
	// the log. The allowed tunnel must be there, the unlisted destination
	// never.
	sq.Stop()
	log := sq.AccessLog()
	if !strings.Contains(log, "CONNECT "+echo.Addr) {
		t.Errorf("Squid's access log has no CONNECT %s:\n%s", echo.Addr, log)
	}
	if strings.Contains(log, other.Addr) {
		t.Errorf("Squid's access log names the unlisted destination %s:\n%s", other.Addr, log)
	}
	if n := strings.Count(log, "CONNECT "); n != 1 {
		t.Errorf("Squid's access log has %d CONNECT lines, want the allowed one only:\n%s", n, log)
	}
}

// policyAdminDir returns a directory, removed after the test, whose path
// passes platform.CheckAdminFile, so the binary accepts a policy in it.
// t.TempDir is under /tmp, which the check rightly refuses; /run is
// root-owned 0755. It needs root (CI runs as root).
func policyAdminDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the admin policy test must run as root in CI")
		}
		t.Skip("needs root: an admin policy must be owned by root")
	}
	dir, err := os.MkdirTemp("/run", "trustlaunch-policy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := platform.CheckAdminFile(probe); err != nil {
		t.Fatalf("no safe place for the test policy: %v", err)
	}
	return dir
}

// writeEchoProfile writes a user list admitting origin and the echo-check
// profile: bash sends one line through the tunnel and prints what comes
// back, then exits, which ends the launch.
func writeEchoProfile(t *testing.T, home, origin string) {
	t.Helper()
	bash := peers.RequireBinary(t, "bash")
	script := `exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'policy-ok\n' >&3 && IFS= read -r -t 20 line <&3 && echo "echoed: $line"`
	writeUserConfig(t, home, origin, fmt.Sprintf("[profile.echo-check]\ncommand = [%q, \"-c\", %q]\n", bash, script))
}

// countingRelay forwards loopback connections to Squid and counts them.
type countingRelay struct {
	addr     string
	accepted atomic.Int64
}

func startCountingRelay(t *testing.T, target string) *countingRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &countingRelay{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.accepted.Add(1)
			track(c)
			wg.Go(func() {
				defer c.Close()
				up, err := net.DialTimeout("tcp", target, 10*time.Second)
				if err != nil {
					return
				}
				track(up)
				defer up.Close()
				done := make(chan struct{})
				go func() {
					io.Copy(up, c)
					up.(*net.TCPConn).CloseWrite()
					close(done)
				}()
				io.Copy(c, up)
				c.(*net.TCPConn).CloseWrite()
				<-done
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return r
}
