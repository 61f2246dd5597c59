package whitelist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/platform"
)

// Re-exec roles of the test binary (see TestMain).
const (
	roleEnv = "TRUSTLAUNCH_WHITELIST_TEST_ROLE"
	argEnv  = "TRUSTLAUNCH_WHITELIST_TEST_ARG"
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "always":
		// One launch answering Always: add a host to the user list. It
		// waits for "go" on stdin so that all 20 start at once.
		path, host, _ := strings.Cut(os.Getenv(argEnv), "|")
		io.ReadFull(os.Stdin, make([]byte, 2))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e, err := ParseEntry(host)
		if err == nil {
			_, err = AddToUserList(ctx, path, e)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "decide":
		// A launch by another user: load the admin list and decide.
		src := LoadAdmin(os.Getenv(argEnv))
		d := Decide(context.Background(), Input{LaunchURL: "https://portal.example.com/", Admin: src})
		fmt.Printf("%s\n%s\n", d.Step, d.Message)
		os.Exit(0)
	}
	os.Exit(2)
}

// TestConcurrentAlways runs 20 separate processes that each answer Always for
// a different host at the same moment: all 20 must be present and the file
// must parse cleanly.
func TestConcurrentAlways(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "whitelist.txt")
	// A pre-existing entry and comment must survive too.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("# mine\nkeep.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 20
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var cmds []*exec.Cmd
	var gates []io.WriteCloser
	for i := range n {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), roleEnv+"=always", fmt.Sprintf("%s=%s|host%d.example.com", argEnv, path, i))
		cmd.Stderr = os.Stderr
		gate, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, gates = append(cmds, cmd), append(gates, gate)
	}
	for _, g := range gates {
		g.Write([]byte("go"))
		g.Close()
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, probs, err := Parse(path, data)
	if err != nil || len(probs) != 0 {
		t.Fatalf("parse after concurrent writes: %v %v\n%s", err, probs, data)
	}
	if len(l.Entries) != n+1 || !strings.HasPrefix(string(data), "# mine\nkeep.example\n") {
		t.Fatalf("want %d entries and the old content first, got %d:\n%s", n+1, len(l.Entries), data)
	}
	for i := range n {
		o, _ := ParseOrigin(fmt.Sprintf("https://host%d.example.com/", i))
		if _, ok := l.Match(o); !ok {
			t.Errorf("host%d.example.com lost", i)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("user list mode %v, %v", fi.Mode(), err)
	}
}

func TestAddToUserList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "whitelist.txt")
	ctx := t.Context()
	e, _ := ParseEntry("portal.example.com:8443")
	if changed, err := AddToUserList(ctx, path, e); err != nil || !changed {
		t.Fatalf("first add: %v %v", changed, err)
	}
	if changed, err := AddToUserList(ctx, path, e); err != nil || changed {
		t.Fatalf("second add: %v %v", changed, err)
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v %v", fi.Mode(), err)
	}
	// A file without a final newline gets one before the new entry.
	os.WriteFile(path, []byte("a.example"), 0o600)
	AddToUserList(ctx, path, e)
	if got, _ := os.ReadFile(path); string(got) != "a.example\nportal.example.com:8443\n" {
		t.Errorf("got %q", got)
	}
	// A UTF-16 list is kept as text, rewritten as UTF-8.
	os.WriteFile(path, utf16File("a.example\r\n", false), 0o600)
	AddToUserList(ctx, path, e)
	if got, _ := os.ReadFile(path); string(got) != "a.example\r\nportal.example.com:8443\n" {
		t.Errorf("got %q", got)
	}
	// A cancelled context while the lock is held elsewhere gives up.
	lock, err := platform.Lock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := AddToUserList(cctx, path, Entry{Host: "b.example"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("locked add: %v", err)
	}
	lock.Unlock()
}

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
