//go:build linux

package peers

import (
	"context"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// modulePath is this module's import path; tools live under internal/peers.
const modulePath = "github.com/trustlaunch/trustlaunch"

// buildTimeout bounds "go build" of a helper or of trustlaunch; a cold build
// cache compiles the standard library and dependencies it needs.
const buildTimeout = 3 * time.Minute

// BuildTool builds the main package internal/peers/<name> of this module into
// dir and returns the binary's path. Helpers that peers run (Squid's ACL
// helper) are built rather than run with "go run" so that the peer executes
// one plain file, readable by the unprivileged user Squid switches to.
func BuildTool(t testing.TB, name, dir string) string {
	t.Helper()
	return build(t, path.Join(modulePath, "internal/peers", name), filepath.Join(dir, name))
}

// BuildTokenCheck builds cmd/trustlaunch-tokencheck, the Squid helper
// that checks session tokens, into dir and returns the binary's path.
func BuildTokenCheck(t testing.TB, dir string) string {
	t.Helper()
	return build(t, path.Join(modulePath, "cmd/trustlaunch-tokencheck"), filepath.Join(dir, "trustlaunch-tokencheck"))
}

// BuildTrustlaunch builds cmd/trustlaunch into a temp dir and returns the
// binary's path, for tests that run the product as a browser or a user would.
func BuildTrustlaunch(t testing.TB) string {
	t.Helper()
	return build(t, path.Join(modulePath, "cmd/trustlaunch"), filepath.Join(t.TempDir(), "trustlaunch"))
}

// build runs "go build -o out pkg", failing the test on error.
func build(t testing.TB, pkg, out string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", out, pkg)
	// Plain build: the race detector and coverage of the test binary are not
	// wanted in a program the tests run, and CGO is not needed. CGO_ENABLED=0
	// and -trimpath are how the release is built (goreleaser.yaml), and how
	// test.sh vets and builds first, so the dependencies are compiled once.
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}
