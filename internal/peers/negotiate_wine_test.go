//go:build linux

package peers_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestWineNegotiate runs trustlaunch.exe connect under Wine through the
// Negotiate Squid: SSPI's Negotiate package signs on with no password,
// Wine's Kerberos provider taking the ticket from the MIT credential
// cache KRB5CCNAME names (Wine's SSPI is built on the host's MIT
// libraries, as Windows' is on the logon session). It needs the prefix
// of the Windows test phase (scripts/wine/phase.sh runs it there, with
// TRUSTLAUNCH_WINE set); the Linux unit phase has none, and leaves it to
// that phase.
func TestWineNegotiate(t *testing.T) {
	prefix := os.Getenv("TRUSTLAUNCH_WINE")
	if prefix == "" {
		t.Skip("run by the Windows phase (scripts/wine/phase.sh), which makes the Wine prefix TRUSTLAUNCH_WINE")
	}
	if !peers.InNamespace(t, peers.NamespaceOptions{Hosts: negotiateHosts, Timeout: 8 * time.Minute}) {
		return
	}
	r := startNegotiateRealm(t, false)
	exe := buildWindowsTrustlaunch(t)
	wine := privateWinePrefix(t, prefix)
	_, secPort, _ := net.SplitHostPort(r.sec.Addr)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(t), "scripts/wine/exec"), exe, "connect", "--stdio",
		"--outbound-proxy", "http://proxy.corp.test:"+r.port,
		"--proxy", "secproxy.test:"+secPort, "--transport", "connect", "--ca", r.sec.Cert.CA.CertFile, "--to", r.echo.Addr)
	cmd.Env = append(os.Environ(), "TRUSTLAUNCH_WINE="+wine, "TRUSTLAUNCH_TOKEN="+r.tok,
		"KRB5CCNAME="+r.ccache, "KRB5_CONFIG="+r.kdc.Krb5Conf)
	// Standard input stays open until the echo is back: the exchange
	// is checked, not how the emulator's end of a pipe closes under
	// Wine.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const msg = "signed on by SSPI\n"
	io.WriteString(stdin, msg)
	got := make([]byte, len(msg))
	_, rerr := io.ReadFull(stdout, got)
	stdin.Close()
	werr := cmd.Wait()
	if rerr != nil || string(got) != msg || werr != nil {
		t.Fatalf("trustlaunch.exe connect under Wine: read %q: %v; exit: %v\nstderr:\n%s", got, rerr, werr, stderr.String())
	}
	r.out.Stop() // flushes its access log
	if log := r.out.AccessLog(); !strings.Contains(log, " alice@CORP.TEST ") {
		t.Errorf("the outbound Squid's access log has no CONNECT by alice@CORP.TEST:\n%s", log)
	}
}

// buildWindowsTrustlaunch cross-builds cmd/trustlaunch for Windows, as
// the release does (CGO_ENABLED=0, -trimpath).
func buildWindowsTrustlaunch(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), "trustlaunch.exe")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", out, "github.com/trustlaunch/trustlaunch/cmd/trustlaunch")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build trustlaunch.exe: %v\n%s", err, msg)
	}
	return out
}

// privateWinePrefix gives the test a writable view of the phase's prefix
// (an overlay in the test's mount namespace): its own wineserver starts
// in this network namespace, where the peers are, and nothing it writes
// reaches the phase's prefix.
func privateWinePrefix(t *testing.T, prefix string) string {
	t.Helper()
	dir := t.TempDir()
	upper, work, view := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "wine")
	for _, d := range []string{upper, work, view} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount("overlay", view, "overlay", 0, "lowerdir="+prefix+",upperdir="+upper+",workdir="+work); err != nil {
		t.Fatalf("overlay of the Wine prefix %s: %v", prefix, err)
	}
	t.Cleanup(func() {
		exec.Command(filepath.Join(repoRoot(t), "scripts/wine/prefix"), "--stop", view).Run()
		unix.Unmount(view, unix.MNT_DETACH)
	})
	return view
}

// repoRoot is the module's root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}
