//go:build linux

package whitelist

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/platform"
)

// TestUnsafeAdminFileRefuses checks, as root, that every way an admin list can
// be untrustworthy stops the launch with a message naming the path and a fix.
func TestUnsafeAdminFileRefuses(t *testing.T) {
	root := safeDir(t)
	good := func(t *testing.T) (dir, file string) {
		dir, err := os.MkdirTemp(root, "case-")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		file = filepath.Join(dir, "whitelist.txt")
		if err := os.WriteFile(file, []byte("AllowAdminListOnly\nportal.example.com\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir, file
	}
	t.Run("safe file proceeds", func(t *testing.T) {
		_, file := good(t)
		d := Decide(t.Context(), Input{LaunchURL: portalURL, Admin: LoadAdmin(file)})
		if d.Step != StepAdminListed {
			t.Fatalf("step %s: %s", d.Step, d.Message)
		}
	})
	cases := []struct {
		name   string
		breakf func(dir, file string) error
		blame  func(dir, file string) string
	}{
		{"owned by non-root", func(_, f string) error { return os.Chown(f, 1000, 1000) }, func(_, f string) string { return f }},
		{"group-writable", func(_, f string) error { return os.Chmod(f, 0o664) }, func(_, f string) string { return f }},
		{"world-writable", func(_, f string) error { return os.Chmod(f, 0o646) }, func(_, f string) string { return f }},
		{"writable parent directory", func(d, _ string) error { return os.Chmod(d, 0o777) }, func(d, _ string) string { return d }},
		{"parent owned by non-root", func(d, _ string) error { return os.Chown(d, 1000, 1000) }, func(d, _ string) string { return d }},
		{"directory instead of file", func(_, f string) error {
			if err := os.Remove(f); err != nil {
				return err
			}
			return os.Mkdir(f, 0o755)
		}, func(_, f string) string { return f }},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir, file := good(t)
			if err := tt.breakf(dir, file); err != nil {
				t.Fatal(err)
			}
			src := LoadAdmin(file)
			d := Decide(t.Context(), Input{LaunchURL: portalURL, Admin: src, Prompter: &fakePrompter{answer: AnswerAlways}})
			if d.Step != StepAdminFileUnsafe || d.Proceed {
				t.Fatalf("step %s, want %s", d.Step, StepAdminFileUnsafe)
			}
			if !strings.Contains(d.Message, tt.blame(dir, file)) {
				t.Errorf("message %q does not name %s", d.Message, tt.blame(dir, file))
			}
			var u *platform.UnsafeFileError
			if !errors.As(d.Err, &u) || u.Fix == "" {
				t.Errorf("no fix in %v", d.Err)
			}
		})
	}
	t.Run("unreadable by the user", func(t *testing.T) {
		// Admins sometimes push 0600 files. A user who cannot read the list
		// must be refused, never dropped to a prompt.
		dir, file := good(t)
		os.Chmod(file, 0o600)
		bin := filepath.Join(dir, "whitelist.test")
		self, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, self, 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), roleEnv+"=decide", argEnv+"="+file)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		step, msg, _ := strings.Cut(string(out), "\n")
		if Step(step) != StepAdminFileUnsafe || !strings.Contains(msg, file) || !strings.Contains(msg, "permission denied") {
			t.Fatalf("unreadable admin list gave %q", out)
		}
	})
}

// safeDir returns a directory whose whole path passes the admin ownership
// check (t.TempDir is under world-writable /tmp, rightly refused). Root only;
// in CI not being root is a failure, elsewhere a skip with the reason.
func safeDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("admin-file tests need root, and CI runs as root")
		}
		t.Skip("admin-file tests need root (chown); CI runs them")
	}
	// /run is root-owned 0755 on Linux and, unlike /root, other users can
	// traverse it, which the unreadable-file case needs.
	dir, err := os.MkdirTemp("/run", "trustlaunch-whitelist-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	probe := filepath.Join(dir, "probe")
	os.WriteFile(probe, nil, 0o644)
	if err := platform.CheckAdminFile(probe); err != nil {
		t.Fatalf("no safe directory for admin-file tests: %v", err)
	}
	return dir
}
