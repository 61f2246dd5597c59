//go:build linux

package whitelist

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/internal/testuser"
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
// check (testtmp.Dir is under world-writable /tmp, rightly refused). Root only;
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

// TestUserListOthersCouldWriteIgnored checks, as root with a real second
// user, that a user list which someone else owns or can write, or whose
// directory they own or can write, is not read: the launch asks
// instead of admitting what it lists, the reason names the file and the
// owner, and Always refuses to rewrite it (the writer's rule is the same).
func TestUserListOthersCouldWriteIgnored(t *testing.T) {
	other := testUser{testuser.New(t, "tlwl")}
	base := testtmp.Dir(t)
	// Let the other user reach the directories below (testtmp.Dir is 0700).
	os.Chmod(filepath.Dir(base), 0o711)
	os.Chmod(base, 0o711)
	n := 0
	setup := func(t *testing.T) (dir, file string) {
		n++
		dir = filepath.Join(base, "config"+strconv.Itoa(n), "trustlaunch")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Dir(dir), 0o711)
		file = filepath.Join(dir, "whitelist.txt")
		if err := os.WriteFile(file, []byte("portal.example.com:443\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir, file
	}
	tests := []struct {
		name    string
		change  func(t *testing.T, dir, file string)
		wantMsg []string // in the reason or fix, {dir} for the directory; empty: the list is read
	}{
		{"own 0700 dir and 0600 file", func(*testing.T, string, string) {}, nil},
		{"own 0755 dir and 0644 file", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o755)
			os.Chmod(file, 0o644)
		}, nil},
		{"file owned by another user", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o711)
			chownTo(t, file, other)
			other.run(t, "sh", "-c", "echo evil.example >> "+file)
		}, []string{"owned by uid " + strconv.Itoa(int(other.UID)) + " (" + other.Name + ")", "chown"}},
		{"file writable by others", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o711)
			os.Chmod(file, 0o606)
			other.run(t, "sh", "-c", "echo evil.example >> "+file)
		}, []string{"writable by others", "chmod go-w"}},
		{"file writable by the other user's group", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o711)
			os.Chown(file, 0, int(other.GID))
			os.Chmod(file, 0o660)
			other.run(t, "sh", "-c", "echo evil.example >> "+file)
		}, []string{"writable by group", "chmod go-w"}},
		{"directory owned by another user", func(t *testing.T, dir, file string) {
			chownTo(t, dir, other)
			// Its owner can swap the file for one of their own.
			other.run(t, "sh", "-c", "mv "+file+" "+file+".old && echo evil.example > "+file)
			os.Chown(file, 0, 0) // the file is ours again: the directory is the fault
			os.Chmod(file, 0o600)
		}, []string{"directory {dir} is owned by uid " + strconv.Itoa(int(other.UID))}},
		{"directory writable by others", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o777)
			other.run(t, "touch", filepath.Join(dir, "planted"))
		}, []string{"directory {dir} is writable by group and others"}},
		{"symlink in place of the file", func(t *testing.T, dir, file string) {
			target := filepath.Join(dir, "elsewhere.txt")
			os.Rename(file, target)
			os.Symlink(target, file)
		}, []string{"symlink"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, file := setup(t)
			tt.change(t, dir, file)
			before, _ := os.ReadFile(file)
			src := LoadUser(file)
			d := Decide(t.Context(), Input{LaunchURL: portalURL, Admin: Source{Path: "/nonexistent"}, User: src})
			if len(tt.wantMsg) == 0 {
				if src.Err != nil || d.Step != StepUserListed {
					t.Fatalf("safe list: err %v, step %s", src.Err, d.Step)
				}
				return
			}
			var unsafe *platform.UnsafeFileError
			if !errors.As(src.Err, &unsafe) || src.List != nil {
				t.Fatalf("LoadUser = list %v, err %v; want it ignored with an *UnsafeFileError", src.List, src.Err)
			}
			msg := src.Err.Error()
			for _, w := range append(tt.wantMsg, file) {
				w = strings.ReplaceAll(w, "{dir}", dir)
				if !strings.Contains(msg+" "+unsafe.Fix, w) {
					t.Errorf("reason %q (fix %q) lacks %q", msg, unsafe.Fix, w)
				}
			}
			if unsafe.Fix == "" {
				t.Errorf("no fix for %q", msg)
			}
			if d.Step != StepWouldPrompt {
				t.Errorf("decision %s, want the prompt to decide", d.Step)
			}
			if strings.HasPrefix(tt.name, "directory writable") {
				// The writer first makes its own directory 0700 again
				// (MkdirPrivate); the file, still ours and 0600, then passes
				// the same check and may be rewritten.
				if _, err := AddToUserList(t.Context(), file, Entry{Host: "new.example", Port: 443}); err != nil {
					t.Fatalf("AddToUserList after the directory was tightened: %v", err)
				}
				if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
					t.Fatalf("directory not tightened: %v %v", fi.Mode(), err)
				}
				return
			}
			// The writer keeps the same rule: Always does not rewrite it.
			if _, err := AddToUserList(t.Context(), file, Entry{Host: "new.example", Port: 443}); err == nil {
				t.Errorf("AddToUserList rewrote a list others could write")
			}
			if after, _ := os.ReadFile(file); string(after) != string(before) {
				t.Errorf("the list changed: %q -> %q", before, after)
			}
		})
	}
}

// testUser is a real second account (testuser.New: its own group, no home,
// removed when the test ends) with what these tests do as it.
type testUser struct{ testuser.User }

// run runs a command as the user, bounded in time; it must succeed, which
// proves the user really can do what the case claims.
func (u testUser) run(t *testing.T, argv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.Credential()}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as %s: %q: %v\n%s", u.Name, argv, err, out)
	}
}

func chownTo(t *testing.T, path string, u testUser) {
	t.Helper()
	if err := os.Lchown(path, int(u.UID), int(u.GID)); err != nil {
		t.Fatal(err)
	}
}
