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

// buildTimeout bounds "go build" of a helper; a cold build cache compiles the
// standard library packages it needs.
const buildTimeout = 2 * time.Minute

// BuildTool builds the main package internal/peers/<name> of this module into
// dir and returns the binary's path. Helpers that peers run (Squid's ACL
// helper) are built rather than run with "go run" so that the peer executes
// one plain file, readable by the unprivileged user Squid switches to.
func BuildTool(t testing.TB, name, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, path.Join(modulePath, "internal/peers", name))
	// Plain build: the race detector and coverage of the test binary are not
	// wanted in a helper, and CGO is not needed.
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, msg)
	}
	return out
}
