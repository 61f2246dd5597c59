//go:build linux

package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// stopGrace is how long a process group may take to exit after SIGTERM.
const stopGrace = 5 * time.Second

// proc is a child process in its own session (and so its own process
// group), with combined output kept in memory and in a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed once reaped
	waitErr error         // valid once exited is closed

	mu  sync.Mutex
	out bytes.Buffer
}

// startProc starts cmd as the leader of a new session: a browser started
// from a desktop has no controlling terminal, and trustlaunch (which
// Chromium starts through xdg-open) must see none either, or it would
// prompt on the terminal that runs go test. The session is also what
// cleanup kills, whatever Chromium forked. On failure, the output is
// written to the test log.
func startProc(t testing.TB, name, dir string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, logPath: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	pw.Close()
	devNull.Close()
	if err != nil {
		pr.Close()
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer logFile.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text() + "\n"
			logFile.WriteString(line)
			p.mu.Lock()
			if p.out.Len() < 4<<20 {
				p.out.WriteString(line)
			}
			p.mu.Unlock()
		}
		pr.Close()
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		// The session's last processes may hold the pipe; do not wait on
		// the copier forever.
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
		}
		if t.Failed() {
			t.Logf("--- %s (pid %d, %s) output, %s:\n%s", name, cmd.Process.Pid, p.status(), p.logPath, tail(withoutDBusNoise(p.output()), 32<<10))
		}
	})
	return p
}

// output returns what the process (and its session) wrote so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) status() string {
	select {
	case <-p.exited:
		if p.waitErr == nil {
			return "exit status 0"
		}
		return p.waitErr.Error()
	default:
		return "running"
	}
}

// stop ends the process and its session: SIGTERM to the leader, which lets
// Chromium shut down its helpers and reap them itself; then, after the
// leader exited or stopGrace passed, SIGKILL to everything still in the
// session, waiting (bounded) until it is gone. It is safe to call twice.
func (p *proc) stop() {
	sid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		syscall.Kill(sid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(stopGrace):
		}
	}
	killSession(sid, syscall.SIGKILL)
	<-p.exited
	// Processes of the session that are not our children die on their
	// own schedule; wait for them so that the next test (or run) does not
	// meet them. Another process's exit, so a short bounded ticker.
	deadline := time.Now().Add(stopGrace)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(sessionMembers(sid)) > 0 && time.Now().Before(deadline) {
		<-tick.C
	}
}

// killSession sends sig to every process whose session id is sid. Chromium's
// helpers (zygote, renderers, crashpad handler) and anything xdg-open
// started stay in the session of the process we started, even those that
// moved to another process group.
func killSession(sid int, sig syscall.Signal) {
	syscall.Kill(-sid, sig) // the leader's own group, at once
	for _, pid := range sessionMembers(sid) {
		syscall.Kill(pid, sig)
	}
}

// sessionMembers lists the live processes of session sid from /proc
// (zombies are dead already and wait for their parent to reap them).
func sessionMembers(sid int) []int {
	return scanProc(func(f []string) bool {
		s, err := strconv.Atoi(f[3])
		return err == nil && s == sid && f[0] != "Z"
	})
}

// scanProc returns the pids whose /proc/PID/stat fields after the command
// name (state, ppid, pgrp, session, ...) satisfy match.
func scanProc(match func(fields []string) bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces and
		// parentheses itself, so split after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(stat[i+1:])); len(f) > 3 && match(f) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// withoutDBusNoise drops Chromium's D-Bus complaints (there is no session
// or system bus here, and Chromium logs each failed call), keeping a count.
func withoutDBusNoise(s string) string {
	var b strings.Builder
	n := 0
	for line := range strings.Lines(s) {
		if strings.Contains(line, ":ERROR:dbus/") {
			n++
			continue
		}
		b.WriteString(line)
	}
	if n > 0 {
		fmt.Fprintf(&b, "(%d D-Bus error lines left out: there is no D-Bus here)\n", n)
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// adoptOrphans makes the test process the subreaper of everything it
// starts (prctl PR_SET_CHILD_SUBREAPER), so the helpers Chromium leaves
// behind when it exits — zygote, renderers, the crashpad handler that
// daemonizes into a session of its own — are reparented to the test rather
// than to PID 1, which in a container may never reap them. Its cleanup,
// registered first and so run last, kills and reaps whatever was adopted.
func adoptOrphans(t testing.TB) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", err)
	}
	t.Cleanup(func() {
		defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		// Every process the test started has been stopped and waited
		// for by now, so any child left was adopted.
		pids := children(os.Getpid())
		if len(pids) > 0 {
			t.Logf("reaping %d processes Chromium left behind", len(pids))
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		reaped := make(chan struct{})
		go func() {
			defer close(reaped)
			for _, pid := range pids {
				var ws unix.WaitStatus
				unix.Wait4(pid, &ws, 0, nil)
			}
		}()
		select {
		case <-reaped:
		case <-time.After(stopGrace):
			t.Logf("processes %v did not die after SIGKILL within %v", pids, stopGrace)
		}
	})
}

// children lists the processes whose parent is ppid, from /proc.
func children(ppid int) []int {
	return scanProc(func(f []string) bool {
		n, err := strconv.Atoi(f[1])
		return err == nil && n == ppid
	})
}

// startXvfb starts Xvfb on a display it picks itself (-displayfd: it writes
// the number once it listens, so there is no race with other X servers) and
// returns ":N". TCP is off; clients use /tmp/.X11-unix/XN.
func startXvfb(t testing.TB, ctx context.Context, dir string) string {
	t.Helper()
	bin := peers.RequireBinary(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(bin, "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1280x800x24", "-nocursor")
	cmd.ExtraFiles = []*os.File{w}
	p := startProc(t, "Xvfb", dir, cmd)
	w.Close()

	type result struct {
		display string
		err     error
	}
	got := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		got <- result{strings.TrimSpace(line), err}
	}()
	var n string
	select {
	case res := <-got:
		if res.err != nil && res.display == "" {
			t.Fatalf("Xvfb did not report its display: %v (%s)\n%s", res.err, p.status(), p.output())
		}
		n = res.display
	case <-p.exited:
		t.Fatalf("Xvfb exited at start (%s):\n%s", p.status(), p.output())
	case <-ctx.Done():
		t.Fatalf("Xvfb did not report its display: %v", ctx.Err())
	}
	if _, err := strconv.Atoi(n); err != nil {
		t.Fatalf("Xvfb reported display %q", n)
	}
	// -displayfd is written once the server listens, so the socket is there.
	sock := "/tmp/.X11-unix/X" + n
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("Xvfb reported display :%s but %s is not a socket: %v", n, sock, err)
	}
	return ":" + n
}

// chromium is a running browser with its DevTools endpoint.
type chromium struct {
	*proc
	wsURL string
}

// chromiumFlags are the flags of the issue, plus the ones that keep a fresh
// profile quiet: no first-run UI, no default-browser question, no
// keyring prompt (the basic password store needs no D-Bus).
var chromiumFlags = []string{
	"--no-sandbox",
	"--disable-gpu",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--remote-debugging-port=0",
	"--remote-debugging-address=127.0.0.1",
	"--no-default-browser-check",
	"--password-store=basic",
	"--window-size=1024,768",
}

// startChromium starts Debian's /usr/bin/chromium wrapper (what a user
// runs) with a fresh user-data-dir and env, and waits for DevToolsActivePort.
func startChromium(t testing.TB, ctx context.Context, dir string, env []string, extra ...string) *chromium {
	t.Helper()
	bin := peers.RequireBinary(t, "chromium")
	userData := filepath.Join(dir, "chromium-profile")
	if err := os.Mkdir(userData, 0o700); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--user-data-dir=" + userData}, chromiumFlags...)
	args = append(args, extra...)
	args = append(args, "about:blank")
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	p := startProc(t, "chromium", dir, cmd)

	// Chromium writes "PORT\n/devtools/browser/ID" once DevTools listens.
	// Another process writes the file, so a short ticker bounded by ctx
	// waits for it; the process exiting ends the wait at once.
	portFile := filepath.Join(userData, "DevToolsActivePort")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		data, err := os.ReadFile(portFile)
		if err == nil {
			port, path, ok := strings.Cut(strings.TrimSpace(string(data)), "\n")
			if ok && strings.HasPrefix(path, "/devtools/browser/") {
				if _, err := strconv.Atoi(port); err == nil {
					return &chromium{proc: p, wsURL: "ws://127.0.0.1:" + port + path}
				}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("read %s: %v", portFile, err)
		}
		select {
		case <-tick.C:
		case <-p.exited:
			t.Fatalf("chromium exited at start (%s):\n%s", p.status(), tail(p.output(), 16<<10))
		case <-ctx.Done():
			t.Fatalf("chromium did not write %s: %v", portFile, ctx.Err())
		}
	}
}

// chromiumVersion runs "chromium --version" with env, bounded by ctx.
func chromiumVersion(ctx context.Context, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, "chromium", "--version")
	cmd.Env = env
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("chromium --version: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
