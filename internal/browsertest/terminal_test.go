//go:build linux

package browsertest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestTerminalEmulatorInWindow is a browser launch of a terminal emulator,
// minus the browser: `trustlaunch open` started without a controlling
// terminal (its own session, stdin on /dev/null, as xdg-open starts it) for a
// profile with terminal = true. The profile's command must run inside a real
// xterm window under Xvfb (xterm sets WINDOWID for it), and open must wait
// for the window to close. xterm does not pass its command's exit status on;
// the recorder open runs inside the window does, so open exits with it.
func TestTerminalEmulatorInWindow(t *testing.T) {
	peers.RequireBinary(t, "xterm")
	bin := peers.BuildTrustlaunch(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	root := t.TempDir()
	display := startXvfb(t, ctx, root)

	ca := peers.NewCA(t)
	host := peers.StartBanner(t, []byte(banner))
	proxy := startProxy(t)
	portal := startOrigin(t, ca.Issue(t, "127.0.0.1"))
	token := "tok-" + randHex(t)
	proxy.allow(token)
	portal.serveDescriptor("/descriptor/tty", "tkt-1", map[string]any{
		"version": 1,
		"session": "terminal window test",
		"profile": "tty-check",
		"proxy": map[string]any{
			"address": proxy.Addr, "transport": "connect", "server_name": "127.0.0.1",
			"ca_pem": string(proxy.CA.CertPEM()),
		},
		"destination": map[string]any{"host": "127.0.0.1", "port": port(t, host.Addr)},
		"token":       token,
	})

	config := filepath.Join(root, "config")
	if err := os.MkdirAll(filepath.Join(config, "trustlaunch"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(config, "trustlaunch", "whitelist.txt"), []byte(hostPort(t, portal.origin)+"\n"), 0o600)
	marker := filepath.Join(root, "marker")
	profile := fmt.Sprintf("[profile.tty-check]\ncommand = [\"/bin/sh\", \"-c\", %q, \"sh\", \"{port}\"]\nterminal = true\n",
		`printf '%s %s' "$WINDOWID" "$1" > `+marker+`; exit 5`)
	os.WriteFile(filepath.Join(config, "trustlaunch", "profiles.toml"), []byte(profile), 0o600)

	link := "trustlaunch://launch?url=" + url.QueryEscape(portal.origin+"/descriptor/tty?ticket=tkt-1")
	cmd := exec.CommandContext(ctx, bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link)
	cmd.Env = []string{
		"HOME=" + root, "PATH=/usr/local/bin:/usr/bin:/bin", "DISPLAY=" + display, "LANG=C.UTF-8",
		"XDG_CONFIG_HOME=" + config, "XDG_STATE_HOME=" + filepath.Join(root, "state"),
		"SSL_CERT_FILE=" + ca.CertFile,
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	// xterm exits 0; the recorder inside it brings back the command's 5.
	if code := cmd.ProcessState.ExitCode(); code != 5 {
		t.Fatalf("open exited %d (%v), want the command's 5:\n%s", code, err, out)
	}
	got, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("the profile's command did not run: %v\n%s", err, out)
	}
	windowID, port, _ := strings.Cut(string(got), " ")
	if windowID == "" || port == "" {
		t.Errorf("command ran outside an xterm window (WINDOWID %q, port %q):\n%s", windowID, port, out)
	}
	if !strings.Contains(string(out), "[ok] emulator: /usr/bin/xterm") {
		t.Errorf("status does not show the xterm:\n%s", out)
	}
}
