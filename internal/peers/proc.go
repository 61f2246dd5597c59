//go:build linux

package peers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/debpkg"
)

// DefaultStartTimeout bounds how long a peer may take to report that it is
// ready when its Options leave StartTimeout zero.
const DefaultStartTimeout = 30 * time.Second

// stopGrace is how long a peer may take to exit after SIGTERM before the
// harness SIGKILLs its process group.
const stopGrace = 5 * time.Second

// logTail is how much of each log is written to the test log on failure.
const logTail = 64 << 10

// logKeep is how much output a Process keeps in memory; the log file in the
// peer's directory has all of it.
const logKeep = 1 << 20

// RequireBinary returns the path of the named program, or fails the test
// naming the Debian package that provides it. Tests depend on real peers in
// CI, so a missing one is a failure, not a skip. The program must be
// recorded in internal/debpkg, whose record test.sh's install check reads:
// a peer that is not recorded there would not be installed on a fresh
// machine, so using one fails at once.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	pkg, ok := debpkg.Programs[name]
	if !ok {
		t.Fatalf("RequireBinary(%q): the program is not recorded in internal/debpkg; record it with its Debian package and add that package to test.sh's DEBIAN_PACKAGES", name)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		// Debian installs squid in /usr/sbin, which is not on the PATH
		// of ordinary users.
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
				return p
			}
		}
		t.Fatalf("%s not found on PATH: install Debian package %s (apt-get install %s)", name, pkg, pkg)
	}
	return path
}

// Process is a peer's child process. Its combined stdout and stderr are
// captured (see Log) and also written to a file in the peer's directory.
type Process struct {
	Name string // short name used in logs, e.g. "squid"
	PID  int

	// termGrace is how long Stop waits after SIGTERM before SIGKILL; zero
	// skips SIGTERM for peers whose orderly shutdown is slow and buys the
	// tests nothing.
	termGrace time.Duration

	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the process has been reaped
	waitErr error         // valid after exited is closed
	outDone chan struct{} // closed when the output pipe reached EOF

	mu    sync.Mutex
	log   bytes.Buffer // the last logKeep bytes of output, at least
	lines chan string  // each output line, for the start-up watcher; nil once it is done
	files []string     // more log files to dump on failure
}

// startProcess starts cmd in its own process group with output captured, and
// registers its teardown and, on failure, the dump of its logs.
func startProcess(t testing.TB, name, dir string, cmd *exec.Cmd) (*Process, error) {
	t.Helper()
	p := &Process{
		Name:    name,
		cmd:     cmd,
		logPath: filepath.Join(dir, name+".out"),
		exited:  make(chan struct{}),
		outDone: make(chan struct{}),
		lines:   make(chan string, 1024),

		termGrace: stopGrace,
	}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// A group of its own, so teardown reaches helpers and forks; the
	// parent-death signal reaps the peer if the test binary is killed
	// (it is cleared when a peer changes credentials, as Squid does, which
	// is one more reason for the explicit teardown).
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	pw.Close()
	p.PID = cmd.Process.Pid

	go p.copyOutput(pr, logFile)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	// Cleanups run last-in first-out: stop first, then dump logs that now
	// include the peer's last words.
	t.Cleanup(func() {
		if t.Failed() {
			p.dump(t)
		}
	})
	t.Cleanup(p.Stop)
	return p, nil
}

// copyOutput copies the peer's output to its log file, its buffer and, while
// start-up is being watched, line by line to p.lines.
func (p *Process) copyOutput(r io.ReadCloser, logFile *os.File) {
	defer close(p.outDone)
	defer logFile.Close()
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			logFile.WriteString(line)
			p.mu.Lock()
			p.log.WriteString(line)
			if p.log.Len() > 2*logKeep {
				p.log.Next(p.log.Len() - logKeep)
			}
			if p.lines != nil {
				select {
				case p.lines <- line:
				default: // nobody is watching fast enough; the log keeps it
				}
			}
			p.mu.Unlock()
		}
		if err != nil {
			p.mu.Lock()
			if p.lines != nil {
				close(p.lines)
				p.lines = nil
			}
			p.mu.Unlock()
			return
		}
	}
}

// errExited reports a peer that exited before it was ready.
var errExited = errors.New("exited before it was ready")

// waitLine waits until match returns true for an output line, the process
// exits, ctx ends or timeout passes. It returns the matching line.
func (p *Process) waitLine(ctx context.Context, timeout time.Duration, match func(string) bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p.mu.Lock()
	lines := p.lines
	p.mu.Unlock()
	if lines == nil {
		return "", fmt.Errorf("%s: output already closed", p.Name)
	}
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				// Output closed: the process is exiting or gone.
				select {
				case <-p.exited:
				case <-ctx.Done():
				}
				return "", fmt.Errorf("%s %w (%v)", p.Name, errExited, p.exitStatus())
			}
			if match(line) {
				return line, nil
			}
		case <-p.exited:
			// Give the output copier a moment to deliver the last lines,
			// which may hold the reason.
			select {
			case <-p.outDone:
			case <-time.After(time.Second):
			}
			for line := range drain(lines) {
				if match(line) {
					return line, nil
				}
			}
			return "", fmt.Errorf("%s %w (%v)", p.Name, errExited, p.exitStatus())
		case <-ctx.Done():
			return "", fmt.Errorf("%s not ready after %v: %w", p.Name, timeout, ctx.Err())
		}
	}
}

// drain yields the lines still buffered in ch without blocking.
func drain(ch <-chan string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for {
			select {
			case line, ok := <-ch:
				if !ok || !yield(line) {
					return
				}
			default:
				return
			}
		}
	}
}

// doneWatching stops feeding lines to waitLine.
func (p *Process) doneWatching() {
	p.mu.Lock()
	p.lines = nil
	p.mu.Unlock()
}

func (p *Process) exitStatus() string {
	select {
	case <-p.exited:
		if p.waitErr == nil {
			return "exit status 0"
		}
		return p.waitErr.Error()
	default:
		return "still running"
	}
}

// Exited is closed when the process has exited and been reaped.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Log returns what the process wrote to stdout and stderr so far: all of it,
// or at least the last MiB when it wrote more (the file in the peer's
// directory keeps everything).
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// addLogFile names another log file (e.g. Squid's access.log) to dump on
// failure.
func (p *Process) addLogFile(path string) {
	p.mu.Lock()
	p.files = append(p.files, path)
	p.mu.Unlock()
}

// Kill sends SIGKILL to the process group and waits until the process has
// been reaped: a crash, as far as its peers can tell.
func (p *Process) Kill() {
	syscall.Kill(-p.PID, syscall.SIGKILL)
	<-p.exited
}

// Stop sends SIGTERM to the process group, waits up to a grace period, then
// SIGKILLs the group. It is idempotent and runs at cleanup.
func (p *Process) Stop() {
	select {
	case <-p.exited:
	default:
		if p.termGrace > 0 {
			syscall.Kill(-p.PID, syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(p.termGrace):
			}
		}
	}
	// Whatever is left of the group (helpers, forks) goes too.
	syscall.Kill(-p.PID, syscall.SIGKILL)
	<-p.exited
}

func (p *Process) dump(t testing.TB) {
	t.Logf("--- %s (pid %d, %s) output, %s:\n%s", p.Name, p.PID, p.exitStatus(), p.logPath, redactTokens(tail(p.Log())))
	p.mu.Lock()
	files := append([]string(nil), p.files...)
	p.mu.Unlock()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Logf("--- %s: %v", f, err)
			continue
		}
		t.Logf("--- %s:\n%s", f, redactTokens(tail(string(data))))
	}
}

// jwtLike matches a compact JWS such as the session tokens.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// redactTokens hides session tokens in peer logs before they reach the test
// log: websockify logs each request path with its token= parameter, and no
// token, even a test one, should be printed
// (docs/design.md "Secrets and text from the network"). The files in the
// peer's directory keep the original.
func redactTokens(s string) string {
	return jwtLike.ReplaceAllString(s, "[redacted]")
}

func tail(s string) string {
	if len(s) > logTail {
		return "[...]\n" + s[len(s)-logTail:]
	}
	return s
}

// waitDialable dials addr every few milliseconds until a TCP connection
// succeeds, the process exits, ctx ends or timeout passes. The loop is driven
// by a ticker and bounded by the context; it is for peers whose ready line can
// come before the listening socket (Squid logs "Accepting ..." a few
// milliseconds before it calls listen(2)).
func (p *Process) waitDialable(ctx context.Context, timeout time.Duration, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-tick.C:
		case <-p.exited:
			return fmt.Errorf("%s %w (%v)", p.Name, errExited, p.exitStatus())
		case <-ctx.Done():
			return fmt.Errorf("%s not accepting on %s after %v: %w", p.Name, addr, timeout, err)
		}
	}
}
