//go:build linux

package peers_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/launcher"
)

// TestIdleSessionSurvivesSquidReadTimeout: Squid with read_timeout 3 s,
// s3270 run from the built-in s3270 profile (its nopSeconds set to 1, as an
// administrator would for this timeout) through connector.Serve and Squid
// to Hercules, idle for 10 s (more than three times the timeout), then a
// screen read on the same connection. Without the profile's TELNET NOPs
// Squid cuts the idle tunnel and s3270 is disconnected.
func TestIdleSessionSurvivesSquidReadTimeout(t *testing.T) {
	t.Parallel()
	const readTimeout, idle = 3, 10
	h := peers.StartHercules(t, peers.HerculesOptions{})
	sq := peers.StartSquid(t, peers.SquidOptions{ExtraConfig: []string{"read_timeout " + strconv.Itoa(readTimeout) + " seconds"}})
	// The tunnel is dialed before s3270 starts, as in a launch. Dialed
	// after s3270 connects (serve), it took over a second on a loaded
	// machine, s3270's first NOP then reached Hercules before its answer to
	// Hercules' IAC DO TERMINAL-TYPE, and Hercules, which compares each
	// negotiation reply byte for byte, closed the connection (Squid's
	// access.log: 42 bytes to the client, its 39-byte 200 line and those 3).
	addr := serveLikeLaunch(t, squidConnector(t, sq, h.Addr))
	dir := t.TempDir()
	ps, err := launcher.LoadProfiles(launcher.ProfileOptions{AdminFile: "/nonexistent-trustlaunch-test/profiles.toml", UserFile: filepath.Join(dir, "user.toml")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ps.Resolve("s3270")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(addr, ":")
	n, _ := strconv.Atoi(port)
	argv, err := p.Command(host, n, "idle")
	if err != nil {
		t.Fatal(err)
	}
	// The profile's host argument goes: the script connects (see
	// peers.S3270Script); the NOP interval becomes 1 s.
	argv = argv[:len(argv)-1]
	for i, a := range argv {
		argv[i] = strings.Replace(a, "nopSeconds: "+strconv.Itoa(launcher.DefaultNOPSeconds), "nopSeconds: 1", 1)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader("Connect(" + addr + ")\nWait(10,Output)\nWait(" + strconv.Itoa(idle) + ",Seconds)\nAscii()\nQuit()\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("s3270 ran %v (Squid read_timeout %d s); argv %q", time.Since(start).Round(time.Second), readTimeout, argv)
	out := stdout.String()
	if err != nil || strings.Contains(out, "\nerror\n") {
		t.Fatalf("s3270: %v\n%s\n%s", err, out, stderr.String())
	}
	// The status line after Ascii(): its fourth field is C(host) while
	// connected, N once the tunnel was cut.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var status string
	for i := len(lines) - 1; i >= 0; i-- {
		if f := strings.Fields(lines[i]); len(f) > 4 && (f[0] == "U" || f[0] == "L" || f[0] == "E") {
			status = lines[i]
			break
		}
	}
	if f := strings.Fields(status); len(f) < 4 || !strings.HasPrefix(f[3], "C(") {
		t.Fatalf("after %d s idle s3270 is not connected (status %q):\n%s", idle, status, out)
	}
	if screen := peers.ParseS3270Screen(out); !strings.Contains(screen, "Hercules") {
		t.Fatalf("the screen read after the idle does not show Hercules:\n%s", screen)
	}
}
