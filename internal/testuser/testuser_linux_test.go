//go:build linux

package testuser

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireRoot applies New's own rule to these tests: they add real users.
func requireRoot(t *testing.T) {
	t.Helper()
	config{euid: os.Geteuid(), ci: os.Getenv("CI")}.rootOrStop(t)
}

// testConfig is New's configuration for a root test.
func testConfig() config {
	return config{euid: 0, budget: lockBudget}
}

// wantGone fails t unless neither a user nor a group is named name.
func wantGone(t *testing.T, name string) {
	t.Helper()
	var uerr user.UnknownUserError
	if _, err := user.Lookup(name); !errors.As(err, &uerr) {
		t.Errorf("user %s after cleanup: lookup gave %v, want unknown user", name, err)
	}
	var gerr user.UnknownGroupError
	if _, err := user.LookupGroup(name); !errors.As(err, &gerr) {
		t.Errorf("group %s after cleanup: lookup gave %v, want unknown group", name, err)
	}
}

// holdLock takes shadow's lock on file (/etc/passwd: /etc/passwd.lock) as
// shadow's commonio does: a file holding a pid, linked to the lock name, so
// that the link fails if anyone holds the lock. The pid is this test
// process's: useradd sees it alive and refuses ("lock ... already used by
// PID"); were the test to die, shadow would find the pid dead and remove the
// stale lock itself. The caller releases it (release may be called twice).
func holdLock(t *testing.T, file string) (release func()) {
	t.Helper()
	lock := file + ".lock"
	tmp := fmt.Sprintf("%s.testuser%d", file, os.Getpid())
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, lock); err != nil {
		t.Fatalf("taking %s (another useradd running?): %v", lock, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if err := os.Remove(lock); err != nil {
				t.Errorf("releasing %s: %v", lock, err)
			}
		})
	}
}

// recorder is a testing.TB whose Fatal, Skip and Errorf are recorded rather
// than ending the test, and whose cleanups run when the test says.
type recorder struct {
	testing.TB
	fatal, errs, skip []string
	cleanups          []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.fatal = append(r.fatal, fmt.Sprint(args...))
	runtime.Goexit()
}
func (r *recorder) Fatalf(f string, args ...any) { r.Fatal(fmt.Sprintf(f, args...)) }
func (r *recorder) Skip(args ...any)             { r.skip = append(r.skip, fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }
func (r *recorder) Cleanup(f func())             { r.cleanups = append(r.cleanups, f) }

// do runs f on its own goroutine, as a test body runs, so that a recorded
// Fatal or Skip ends only f.
func (r *recorder) do(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// runCleanups runs the recorded cleanups, last first, as testing does.
func (r *recorder) runCleanups() {
	r.do(func() {
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			r.cleanups[i]()
		}
	})
}

// TestNewAddsAndRemoves checks the account New makes (its own group, no
// home, nologin, a fresh name per call) and that it is gone after the test.
func TestNewAddsAndRemoves(t *testing.T) {
	requireRoot(t)
	var names []string
	t.Run("inner", func(t *testing.T) {
		u := New(t, "tltu")
		v := New(t, "tltu")
		names = []string{u.Name, v.Name}
		if u.Name == v.Name || u.UID == v.UID {
			t.Errorf("two calls gave %+v and %+v", u, v)
		}
		if !strings.HasPrefix(u.Name, "tltu"+strconv.Itoa(os.Getpid())+"-") || len(u.Name) > maxName {
			t.Errorf("name %q", u.Name)
		}
		pw, err := user.Lookup(u.Name)
		if err != nil {
			t.Fatalf("during the test: %v", err)
		}
		if pw.Uid != strconv.FormatUint(uint64(u.UID), 10) || pw.Gid != strconv.FormatUint(uint64(u.GID), 10) {
			t.Errorf("passwd has uid %s gid %s, New returned %+v", pw.Uid, pw.Gid, u)
		}
		if g, err := user.LookupGroupId(pw.Gid); err != nil || g.Name != u.Name {
			t.Errorf("primary group %s: %v, %v; want the user's own group %s", pw.Gid, g, err, u.Name)
		}
		if _, err := os.Stat(pw.HomeDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("home %s: %v, want none created", pw.HomeDir, err)
		}
		out, err := exec.Command("getent", "passwd", u.Name).Output()
		if f := strings.Split(strings.TrimSpace(string(out)), ":"); err != nil || len(f) != 7 || f[6] != "/usr/sbin/nologin" {
			t.Errorf("getent passwd %s: %q, %v; want shell /usr/sbin/nologin", u.Name, out, err)
		}
		if c := u.Credential(); c.Uid != u.UID || c.Gid != u.GID {
			t.Errorf("Credential() = %+v for %+v", c, u)
		}
	})
	if len(names) != 2 {
		t.Fatal("the inner test made no users")
	}
	for _, n := range names {
		wantGone(t, n)
	}
}

// TestNewWhenNotRoot: in CI not being root fails, elsewhere it skips, both
// with the reason, before any command runs.
func TestNewWhenNotRoot(t *testing.T) {
	for _, tc := range []struct {
		name, ci string
		fatal    bool
	}{
		{"CI set", "true", true},
		{"CI empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			var ok bool
			r.do(func() { ok = config{euid: 1000, ci: tc.ci}.rootOrStop(r) })
			got := r.skip
			if tc.fatal {
				got = r.fatal
			}
			if ok || len(got) != 1 || len(r.fatal)+len(r.skip) != 1 || !strings.Contains(got[0], "root") {
				t.Errorf("ok %v, fatal %q, skip %q", ok, r.fatal, r.skip)
			}
		})
	}
}

// TestNewRejectsPrefix: a prefix that would make an invalid or too long
// name fails, naming the prefix, and adds no user.
func TestNewRejectsPrefix(t *testing.T) {
	requireRoot(t)
	for _, p := range []string{"", "Tl", "tl-x", "1tl", "tl_x", strings.Repeat("a", 28)} {
		t.Run(p, func(t *testing.T) {
			r := &recorder{TB: t}
			r.do(func() { New(r, p) })
			if len(r.fatal) != 1 || !strings.Contains(r.fatal[0], strconv.Quote(p)) || len(r.cleanups) != 0 {
				t.Errorf("fatal %q, %d cleanups", r.fatal, len(r.cleanups))
			}
		})
	}
}

// TestLockHeld is the classification of a failed shadow command.
func TestLockHeld(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		out    string
		want   bool
	}{
		{"passwd lock, status 1", 1, "useradd: lock /etc/passwd.lock already used by PID 7\nuseradd: cannot lock /etc/passwd; try again later.\n", true},
		{"group lock, status 10", 10, "userdel: cannot lock /etc/group; try again later.\n", true},
		{"other passwd failure, status 1", 1, "useradd: cannot open /etc/passwd\n", false},
		{"lock text, status 9", 9, "useradd: cannot lock /etc/passwd; try again later.\n", false},
		{"name in use, status 9", 9, "useradd: user 'x' already exists\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command("sh", "-c", `printf %s "$1"; exit $2`, "sh", tc.out, strconv.Itoa(tc.status)).CombinedOutput()
			if got := lockHeld(err, out); got != tc.want {
				t.Errorf("lockHeld(status %d, %q) = %v", tc.status, out, got)
			}
		})
	}
}

// TestRetriesWhileLockHeld runs the real useradd and userdel while this test
// holds shadow's lock on /etc/passwd (status 1) or /etc/group (status 10),
// as another useradd of a test running in parallel would: the command is
// retried, the lock is released at the first retry, and the next attempt
// succeeds.
func TestRetriesWhileLockHeld(t *testing.T) {
	requireRoot(t)
	for _, file := range []string{"/etc/passwd", "/etc/group"} {
		t.Run("useradd "+file, func(t *testing.T) {
			var retries []string
			release := holdLock(t, file)
			t.Cleanup(release)
			c := testConfig()
			c.retried = func(op string, out []byte) {
				retries = append(retries, op+": "+string(out))
				release()
			}
			u := c.create(t, nextName("tltu"))
			if _, err := user.Lookup(u.Name); err != nil {
				t.Fatal(err)
			}
			if len(retries) == 0 || !strings.HasPrefix(retries[0], "useradd: ") || !strings.Contains(retries[0], "cannot lock "+file) {
				t.Errorf("retries %q, want useradd's lock failure on %s first", retries, file)
			}
		})
		t.Run("userdel "+file, func(t *testing.T) {
			var retries []string
			var name string
			release := func() {}
			t.Run("inner", func(t *testing.T) {
				c := testConfig()
				c.retried = func(op string, out []byte) {
					retries = append(retries, op+": "+string(out))
					release()
				}
				name = c.create(t, nextName("tltu")).Name
				// Registered after the user's removal, so it runs first:
				// the removal finds the lock held.
				t.Cleanup(func() { release = holdLock(t, file) })
			})
			release() // if no retry did
			wantGone(t, name)
			if len(retries) == 0 || !strings.HasPrefix(retries[0], "userdel: ") || !strings.Contains(retries[0], "cannot lock "+file) {
				t.Errorf("retries %q, want userdel's lock failure on %s first", retries, file)
			}
		})
	}
}

// TestGivesUpWhenLockStaysHeld: a lock that is never released fails the
// test with useradd's output once the budget is spent, and adds no user.
func TestGivesUpWhenLockStaysHeld(t *testing.T) {
	requireRoot(t)
	release := holdLock(t, "/etc/passwd")
	t.Cleanup(release)
	name := nextName("tltu")
	// The budget fits several attempts on this machine as it is now: one
	// useradd refused on the lock is timed first. A fixed 300 ms fitted
	// only one attempt with both CPUs busy (useradd then took 320 ms).
	t0 := time.Now()
	if out, err := command("useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name); err == nil || !lockHeld(err, out) {
		t.Fatalf("useradd with /etc/passwd locked: %v: %s (want the lock refusal)", err, out)
	}
	c := testConfig()
	c.budget = max(300*time.Millisecond, 6*time.Since(t0))
	n := 0
	c.retried = func(string, []byte) { n++ }
	r := &recorder{TB: t}
	start := time.Now()
	r.do(func() { c.create(r, name) })
	took := time.Since(start)
	release()
	if len(r.fatal) != 1 || !strings.Contains(r.fatal[0], "useradd "+name) || !strings.Contains(r.fatal[0], "cannot lock /etc/passwd") {
		t.Errorf("fatal %q", r.fatal)
	}
	if n < 2 || took > c.budget+3*time.Second {
		t.Errorf("%d retries in %v, want several within the %v budget", n, took, c.budget)
	}
	if len(r.cleanups) != 0 {
		t.Errorf("%d cleanups registered for a user never added", len(r.cleanups))
	}
	wantGone(t, name)
}

// TestOtherFailureNotRetried: useradd refusing a name in use (status 9) is
// not retried; the failure carries the output and a hint, and the existing
// user is not taken over (no cleanup removes it).
func TestOtherFailureNotRetried(t *testing.T) {
	requireRoot(t)
	u := New(t, "tltu")
	c := testConfig()
	n := 0
	c.retried = func(string, []byte) { n++ }
	r := &recorder{TB: t}
	r.do(func() { c.create(r, u.Name) })
	if len(r.fatal) != 1 || !strings.Contains(r.fatal[0], "already exists") || !strings.Contains(r.fatal[0], "userdel "+u.Name) {
		t.Errorf("fatal %q", r.fatal)
	}
	if n != 0 || len(r.cleanups) != 0 {
		t.Errorf("%d retries, %d cleanups; want none", n, len(r.cleanups))
	}
}

// TestLeftoverProcessKilled: a process the test left running as the user is
// killed at cleanup and reported, and the user is still removed (userdel
// alone refuses while it runs).
func TestLeftoverProcessKilled(t *testing.T) {
	requireRoot(t)
	r := &recorder{TB: t}
	var u User
	r.do(func() { u = testConfig().create(r, nextName("tltu")) })
	if len(r.fatal) != 0 {
		t.Fatal(r.fatal)
	}
	cmd := exec.Command("sleep", "60")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.Credential()}
	if err := cmd.Start(); err != nil {
		r.runCleanups()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r.runCleanups()
	want := fmt.Sprintf("pid %d (sleep)", cmd.Process.Pid)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], want) {
		t.Errorf("cleanup errors %q, want one naming %s", r.errs, want)
	}
	wantGone(t, u.Name)
}
