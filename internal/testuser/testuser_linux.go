//go:build linux

package testuser

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// User is an account made by New. UID and GID are uint32 as the kernel and
// syscall.Credential have them; GID is the user's own group, named Name.
type User struct {
	Name     string
	UID, GID uint32
}

// Credential returns a new credential that runs a process as u, for
// exec.Cmd.SysProcAttr.
func (u User) Credential() *syscall.Credential {
	return &syscall.Credential{Uid: u.UID, Gid: u.GID}
}

const (
	// maxName is the longest user name useradd accepts on Linux (the
	// size of ut_user in utmp).
	maxName = 32
	// lockBudget bounds how long New and its cleanup retry a command
	// that found a lock held: several other useradd/userdel runs, each a
	// few milliseconds, fit in it many times over.
	lockBudget = 5 * time.Second
	// commandTimeout bounds one run of useradd or userdel. It is longer
	// than the 15 s glibc's lckpwdf(3) waits for /etc/.pwd.lock before it
	// gives up, so a command waiting there is not killed half-way.
	commandTimeout = 30 * time.Second
	// exitTimeout bounds the wait for a killed leftover process to die.
	exitTimeout = 5 * time.Second
)

// config is what New fixes and the tests vary.
type config struct {
	euid   int
	ci     string        // $CI: not empty in CI, where not being root fails
	budget time.Duration // how long a lock-held failure is retried
	// retried, when set, is called after each lock-held failure of op
	// ("useradd", "userdel" or "groupdel"), before the wait.
	retried func(op string, out []byte)
}

// counter makes the names of one test process distinct.
var counter atomic.Uint64

// prefixRE is what a prefix may be: Debian's useradd accepts more, but a
// lowercase letter then lowercase letters and digits is valid everywhere and
// cannot run into the pid that follows.
var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// New creates a system account named prefix, this process's pid, "-" and a
// counter (so tests of other packages running at the same time and earlier
// calls in this process never collide), with its own group, no home directory
// and /usr/sbin/nologin as its shell. It is removed when tb and its subtests
// finish: processes still running as the user are killed first (and reported
// as an error, since the test leaked them), then userdel removes the account
// and its group; a failed removal is reported with tb.Errorf.
//
// New needs root. When not root it fails tb in CI (the environment variable
// CI not empty, and CI runs as root) and skips tb elsewhere, with the reason.
func New(tb testing.TB, prefix string) User {
	tb.Helper()
	c := config{euid: os.Geteuid(), ci: os.Getenv("CI"), budget: lockBudget}
	if !c.rootOrStop(tb) {
		return User{}
	}
	if !prefixRE.MatchString(prefix) {
		tb.Fatalf("testuser: prefix %q: want a lowercase letter, then lowercase letters and digits", prefix)
		return User{}
	}
	name := nextName(prefix)
	if len(name) > maxName {
		tb.Fatalf("testuser: prefix %q: user name %s is longer than %d characters", prefix, name, maxName)
		return User{}
	}
	return c.create(tb, name)
}

// nextName is prefix, this process's pid, "-" and the next count.
func nextName(prefix string) string {
	return fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), counter.Add(1))
}

// rootOrStop reports whether the caller is root; otherwise it fails tb in CI
// and skips it elsewhere (the callers stop: Fatal and Skip only return when
// tb is not a real *testing.T).
func (c config) rootOrStop(tb testing.TB) bool {
	tb.Helper()
	if c.euid == 0 {
		return true
	}
	if c.ci != "" {
		tb.Fatal("testuser: creating a user with useradd needs root, and CI runs as root")
		return false
	}
	tb.Skip("testuser: needs root to create a user with useradd; CI runs this as root")
	return false
}

// create adds the account name and registers its removal.
func (c config) create(tb testing.TB, name string) User {
	tb.Helper()
	if out, err := c.run("useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name); err != nil {
		hint := ""
		if code(err) == 9 {
			hint = "\n(user name in use: left by an earlier run with the same pid? remove it with userdel " + name + ")"
		}
		tb.Fatalf("testuser: useradd %s: %v\n%s%s", name, err, out, hint)
		return User{}
	}
	// The removal is registered before anything else can fail, so a user
	// once added is always removed.
	tb.Cleanup(func() { c.remove(tb, name) })
	pw, err := user.Lookup(name)
	if err != nil {
		tb.Fatalf("testuser: useradd %s succeeded but: %v", name, err)
		return User{}
	}
	uid, err1 := strconv.ParseUint(pw.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(pw.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		tb.Fatalf("testuser: user %s: uid %q, gid %q: %v", name, pw.Uid, pw.Gid, err)
		return User{}
	}
	return User{Name: name, UID: uint32(uid), GID: uint32(gid)}
}

// remove kills what still runs as the user, then deletes the user and its
// group, reporting every failure on tb.
func (c config) remove(tb testing.TB, name string) {
	tb.Helper()
	pw, err := user.Lookup(name)
	if err != nil {
		tb.Errorf("testuser: cleanup: user %s: %v", name, err)
		return
	}
	if uid, err := strconv.ParseUint(pw.Uid, 10, 32); err == nil {
		// userdel refuses (exit 8) while a process runs as the user, and a
		// process left behind would keep the uid that the next account
		// created may get.
		killed, err := killAll(uint32(uid))
		if len(killed) > 0 {
			tb.Errorf("testuser: cleanup: the test left %s running as %s; killed", strings.Join(killed, ", "), name)
		}
		if err != nil {
			tb.Errorf("testuser: cleanup: %v", err)
		}
	}
	if out, err := c.run("userdel", name); err != nil {
		tb.Errorf("testuser: cleanup: userdel %s: %v\n%s", name, err, out)
		return
	}
	// userdel removes the user's own group when login.defs says
	// USERGROUPS_ENAB yes (Debian's default); where it does not, do it here.
	if _, err := user.LookupGroup(name); err == nil {
		if out, err := c.run("groupdel", name); err != nil {
			tb.Errorf("testuser: cleanup: groupdel %s: %v\n%s", name, err, out)
		}
	}
}

// run runs a shadow command (useradd, userdel, groupdel) with C messages and
// returns its combined output. While the command fails only because another
// one holds a lock, it is run again, after 10 ms doubling to at most 250 ms,
// until c.budget has passed; then the error says so.
//
// Why waiting and not an event: shadow's locks are files made with link(2)
// and removed when done, and nothing signals their release; shadow itself
// retries with sleep(1) (commonio_lock's LOCK_TRIES). The waits are short
// because the holders are other tests' useradd and userdel, done in
// milliseconds.
func (c config) run(op string, args ...string) ([]byte, error) {
	deadline := time.Now().Add(c.budget)
	wait := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		out, err := command(op, args...)
		if err == nil || !lockHeld(err, out) {
			return out, err
		}
		if time.Now().Add(wait).After(deadline) {
			return out, fmt.Errorf("%w; a lock stayed held for %v (%d attempts)", err, c.budget, attempt)
		}
		if c.retried != nil {
			c.retried(op, out)
		}
		time.Sleep(wait)
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// command runs op once, bounded by commandTimeout.
func command(op string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, op, args...)
	// C messages: lockHeld reads them. The later LC_ALL wins.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd.CombinedOutput()
}

// code is the exit status in err, or -1.
func code(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// lockHeld reports whether a shadow command failed only because another one
// held a lock. useradd(8), userdel(8) and groupdel(8) exit 1 (can't update
// password file) or 10 (can't update group file) then, but also for other
// failures to update those files, so the status alone cannot tell: the
// message shadow prints for a lock it could not take ("cannot lock
// /etc/passwd; try again later.", commonio's lock) is what does, in the C
// locale command sets.
func lockHeld(err error, out []byte) bool {
	if s := code(err); s != 1 && s != 10 {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, ": cannot lock ") && strings.HasSuffix(l, "; try again later.") {
			return true
		}
	}
	return false
}

// killAll kills every process whose real, effective or saved uid is uid (the
// ones userdel counts) and waits for each to exit, reaping those that are
// this process's children. It returns them as "pid N (comm)".
func killAll(uid uint32) ([]string, error) {
	pids, err := processesOf(uid)
	if err != nil {
		return nil, err
	}
	var killed []string
	var errs []error
	for _, pid := range pids {
		comm, ok, err := kill(pid, uid)
		if ok {
			killed = append(killed, fmt.Sprintf("pid %d (%s)", pid, comm))
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return killed, errors.Join(errs...)
}

// processesOf lists the processes running as uid.
func processesOf(uid uint32) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ok, _ := runsAs(pid, uid); ok {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// runsAs reports whether process pid has uid as its real, effective or saved
// uid, and returns its command name.
func runsAs(pid int, uid uint32) (bool, string) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false, ""
	}
	var comm string
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "Name:"); ok {
			comm = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			f := strings.Fields(v)
			for i := 0; i < len(f) && i < 3; i++ {
				if f[i] == strconv.FormatUint(uint64(uid), 10) {
					return true, comm
				}
			}
			return false, comm
		}
	}
	return false, comm
}

// kill sends SIGKILL to pid if it still runs as uid, waits for it to exit
// and reaps it if it is this process's child. ok says a process was killed.
func kill(pid int, uid uint32) (comm string, ok bool, err error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return "", false, nil // exited since the scan
		}
		return "", false, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(fd)
	// The pidfd holds the pid, so it cannot be reused from here on: if the
	// process is still the user's, the signal reaches that process.
	still, comm := runsAs(pid, uid)
	if !still {
		return "", false, nil
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return comm, false, fmt.Errorf("kill pid %d (%s): %w", pid, comm, err)
	}
	// A pidfd becomes readable when its process has exited.
	deadline := time.Now().Add(exitTimeout)
	for {
		ms := max(0, int(time.Until(deadline).Milliseconds()))
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return comm, true, fmt.Errorf("wait for pid %d (%s): %w", pid, comm, err)
		}
		if n == 0 {
			return comm, true, fmt.Errorf("pid %d (%s) still runs %v after SIGKILL", pid, comm, exitTimeout)
		}
		break
	}
	// A child of this process stays a zombie, which userdel still counts,
	// until it is reaped; for anyone else's process this fails with ECHILD
	// and its parent reaps it.
	_ = unix.Waitid(unix.P_PIDFD, fd, nil, unix.WEXITED, nil)
	return comm, true, nil
}
