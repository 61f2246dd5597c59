//go:build linux

package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// CPUGroup is a cgroup v2 of its own for the processes of one tunnel
// client, so that the CPU time they use (cpu.stat usage_usec) can be read
// while they run, forks included, without counting the benchmark that
// drives them. Processes are placed in it at clone time (CLONE_INTO_CGROUP,
// SysProcAttr.UseCgroupFD), so not one instruction of theirs escapes it.
type CPUGroup struct {
	Dir string // the cgroup's directory in the cgroup2 file system
	fd  int    // O_DIRECTORY descriptor of Dir, for clone3
}

var cpuGroups atomic.Int64

// NewCPUGroup creates a cgroup below this process's own cgroup v2 and
// removes it at cleanup, after the processes started in it (cleanups run
// last-in first-out). It fails the test when no cgroup2 file system is
// mounted or the cgroup cannot be created (not root): the figures it
// exists for cannot be taken without it.
func NewCPUGroup(t testing.TB, name string) *CPUGroup {
	t.Helper()
	root, err := cgroup2Mount()
	if err != nil {
		t.Fatalf("cpu accounting: %v", err)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatalf("cpu accounting: %v", err)
	}
	var own string
	for line := range strings.SplitSeq(string(self), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			own = rest
		}
	}
	dir := filepath.Join(root, own, fmt.Sprintf("tl-%s-%d-%d", name, os.Getpid(), cpuGroups.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("cpu accounting: create cgroup (needs root and cgroup v2): %v", err)
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(dir)
		t.Fatalf("cpu accounting: %v", err)
	}
	g := &CPUGroup{Dir: dir, fd: fd}
	t.Cleanup(func() {
		syscall.Close(fd)
		if err := os.Remove(dir); err != nil {
			t.Errorf("cpu accounting: remove cgroup (a process of the tunnel is still running): %v", err)
		}
	})
	return g
}

// place makes cmd start inside g.
func (g *CPUGroup) place(cmd *exec.Cmd) {
	if g == nil {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = g.fd
}

// Usage returns the CPU time, user and system, that every process ever in
// g has used so far.
func (g *CPUGroup) Usage() (time.Duration, error) {
	f, err := os.Open(filepath.Join(g.Dir, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "usage_usec "); ok {
			us, err := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond, err
		}
	}
	return 0, fmt.Errorf("%s/cpu.stat: no usage_usec", g.Dir)
}

// cgroup2Mount returns where the cgroup2 file system is mounted: /sys/fs/cgroup
// on a unified system, /sys/fs/cgroup/unified on a hybrid one (as here).
func cgroup2Mount() (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if f := strings.Fields(pre); ok && len(f) >= 5 && strings.HasPrefix(post, "cgroup2 ") {
			return f[4], nil
		}
	}
	return "", errors.New("no cgroup2 file system mounted")
}

// ProxytunnelOptions configures StartProxytunnel.
type ProxytunnelOptions struct {
	Proxy  string // the proxy's TLS address, "127.0.0.1:PORT"
	Dest   string // the CONNECT destination
	CAFile string // the only CA proxytunnel trusts for the proxy
	Token  string // sent as "Proxy-Authorization: Bearer <token>"
	// CPU, when set, is the cgroup every proxytunnel process starts in.
	CPU *CPUGroup
}

// Proxytunnel is Debian's proxytunnel (C, OpenSSL) as a tunnel client of the
// same shape as `trustlaunch connect`: a local port, TLS to the proxy with
// the certificate verified, CONNECT with a header, relay.
//
// proxytunnel's own daemon mode (-a PORT) listens on the wildcard address
// and forks a child per connection; the harness keeps to loopback instead:
// it listens on 127.0.0.1:0 and, for each connection, starts proxytunnel in
// inetd mode (-i) with the accepted socket as its standard input, which is
// the same one process per tunnel, relaying between the same two sockets.
// The token is on proxytunnel's command line (-H), the only way it takes a
// header: a short-lived test token for a loopback Squid, never a real one
// (the product keeps tokens off argv).
type Proxytunnel struct {
	Addr string // "127.0.0.1:PORT"

	ln      net.Listener
	mu      sync.Mutex
	closed  bool
	started int
}

// StartProxytunnel listens on 127.0.0.1:0 and serves each connection with a
// proxytunnel process of its own until the test ends.
func StartProxytunnel(t testing.TB, opts ProxytunnelOptions) *Proxytunnel {
	t.Helper()
	bin := RequireBinary(t, "proxytunnel")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxytunnel: listen: %v", err)
	}
	p := &Proxytunnel{Addr: ln.Addr().String(), ln: ln}
	// t.Context ends before the first cleanup runs: no process is started
	// after that, so every one started is stopped by its own cleanup.
	context.AfterFunc(t.Context(), func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		ln.Close()
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			p.spawn(t, bin, dir, conn.(*net.TCPConn), opts)
		}
	}()
	return p
}

// spawn starts one proxytunnel for conn. A connection that arrives while
// the test ends, or whose process does not start, is closed (the client
// sees EOF) and the failure logged.
func (p *Proxytunnel) spawn(t testing.TB, bin, dir string, conn *net.TCPConn, opts ProxytunnelOptions) {
	defer conn.Close() // the child holds its own copy
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || t.Context().Err() != nil {
		return
	}
	f, err := conn.File()
	if err != nil {
		t.Errorf("proxytunnel: %v", err)
		return
	}
	defer f.Close()
	p.started++
	// -q: no banner; -E: TLS to the proxy, verified against -C.
	cmd := exec.Command(bin, "-i", "-q", "-E", "-p", opts.Proxy, "-d", opts.Dest,
		"-C", opts.CAFile, "-H", "Proxy-Authorization: Bearer "+opts.Token)
	cmd.Stdin = f
	opts.CPU.place(cmd)
	if _, err := startProcess(t, fmt.Sprintf("proxytunnel-%d", p.started), dir, cmd); err != nil {
		t.Errorf("%v", err)
	}
}

// Started returns how many proxytunnel processes have been started.
func (p *Proxytunnel) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// ListeningProcess is a tunnel client in a child process that prints
// "listening on 127.0.0.1:PORT" once it accepts: `trustlaunch connect`, or
// a test binary serving connector.Serve.
type ListeningProcess struct {
	Addr string
	*Process
}

var listeningLine = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// StartListening starts cmd (in cpu when it is set) and waits for its
// "listening on" line.
func StartListening(t testing.TB, name string, cmd *exec.Cmd, cpu *CPUGroup) *ListeningProcess {
	t.Helper()
	cpu.place(cmd)
	p, err := startProcess(t, name, t.TempDir(), cmd)
	if err != nil {
		t.Fatalf("%v", err)
	}
	line, err := p.waitLine(t.Context(), DefaultStartTimeout, listeningLine.MatchString)
	p.doneWatching()
	if err != nil {
		t.Fatalf("%s did not start: %v\n%s", name, err, redactTokens(tail(p.Log())))
	}
	return &ListeningProcess{Addr: listeningLine.FindStringSubmatch(line)[1], Process: p}
}

// WriteTokenFile writes token to a new 0600 file and returns its path, for
// --token-file: a token never goes on a command line or into the
// environment of a process of ours.
func WriteTokenFile(t testing.TB, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, []byte(token), 0o600)
	return path
}
