package launcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// The Windows tests of the emulator's Job Object (docs/design.md "Windows"):
// the test binary, re-run in a helper role, is the emulator; it starts a
// detached grandchild (first asking to break away from the job) and then
// exits, waits to be killed or connects to the tunnel. Afterwards every
// process it started must be gone, and only the processes of the job may use
// the tunnel.

// jobHelperEnv selects the helper role of a re-run test binary.
const jobHelperEnv = "TL_LAUNCHER_JOB_HELPER"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == recorderArg {
		os.Exit(runTestRecorder())
	}
	switch role := os.Getenv(jobHelperEnv); role {
	case "":
		os.Exit(m.Run())
	case "emulator":
		os.Exit(jobEmulator())
	case "grandchild":
		// Lives until killed: a process that outlives the launch shows up.
		time.Sleep(time.Hour)
		os.Exit(0)
	case "launch":
		os.Exit(jobLaunch())
	case "console":
		os.Exit(consoleEmulator())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s %q\n", jobHelperEnv, role)
		os.Exit(2)
	}
}

// jobEmulator is the helper emulator. It starts a grandchild as detached as
// Windows allows (its own process group, no console, and asking to break
// away from any job), prints "pids EMULATOR GRANDCHILD BREAKAWAY", with
// TL_JOB_CONNECT relays one line through the tunnel and prints "reply
// LINE", and then waits for a line on stdin: "exit N" exits with N;
// without one (stdin ended, or kept open) it runs until it is killed.
func jobEmulator() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	breakaway := "refused"
	start := func(flags uint32) (*exec.Cmd, error) {
		gc := exec.Command(self)
		gc.Env = append(os.Environ(), jobHelperEnv+"=grandchild")
		gc.SysProcAttr = &syscall.SysProcAttr{CreationFlags: flags}
		return gc, gc.Start()
	}
	detached := uint32(windows.CREATE_NEW_PROCESS_GROUP | windows.DETACHED_PROCESS)
	gc, err := start(detached | windows.CREATE_BREAKAWAY_FROM_JOB)
	if err == nil {
		breakaway = "allowed"
	} else if gc, err = start(detached); err != nil {
		fmt.Fprintln(os.Stderr, "start the grandchild:", err)
		return 3
	}
	fmt.Printf("pids %d %d %s\n", os.Getpid(), gc.Process.Pid, breakaway)
	gc.Process.Release()

	if addr := os.Getenv("TL_JOB_CONNECT"); addr != "" {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "ping from the emulator\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		fmt.Printf("reply %q %v\n", strings.TrimSuffix(line, "\n"), err)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if n, ok := strings.CutPrefix(in.Text(), "exit "); ok {
			code, _ := strconv.Atoi(n)
			return code
		}
	}
	time.Sleep(time.Hour)
	return 0
}

// jobLaunch is a launch in a process of its own (the `open` that gets
// killed): it runs the helper emulator with runEmulator, its output on
// this process's stdout, and waits.
func jobLaunch() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	env := append(CleanEnv(os.Environ()), jobHelperEnv+"=emulator")
	status, err := runEmulator(context.Background(), emulatorSpec{argv: []string{self}, env: env, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	fmt.Fprintf(os.Stderr, "the emulator exited with %d, %v\n", status, err)
	return 4
}

// emulatorRun is a helper emulator run by runEmulator in this process.
type emulatorRun struct {
	emulator, grandchild int
	breakaway            string
	stdin                io.WriteCloser
	lines                *bufio.Reader
	handles              []windows.Handle // of both, opened while they ran
	done                 chan runResult
}

type runResult struct {
	status int
	err    error
}

// startEmulatorRun runs the helper emulator as a launch does and returns
// once it has reported its processes, with a handle on each (so that their
// ends can be waited for without a PID being reused meanwhile).
func startEmulatorRun(t *testing.T, ctx context.Context, tree *emulatorTree, env ...string) *emulatorRun {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Files, not io.Pipes: exec.Cmd.Wait would wait for a copy from an
	// io.Reader on stdin that never ends.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	spec := emulatorSpec{
		argv:   []string{self},
		env:    append(append(CleanEnv(os.Environ()), jobHelperEnv+"=emulator"), env...),
		stdin:  inR,
		stdout: outW,
		stderr: &testWriter{t: t},
	}
	if tree != nil {
		spec.started = tree.running
	}
	r := &emulatorRun{stdin: inW, lines: bufio.NewReader(outR), done: make(chan runResult, 1)}
	go func() {
		st, err := runEmulator(ctx, spec)
		inR.Close()
		outW.Close()
		r.done <- runResult{st, err}
	}()
	t.Cleanup(func() {
		inW.Close()
		outR.Close()
		for _, h := range r.handles {
			windows.TerminateProcess(h, 1) // whatever a failed test left running
			windows.CloseHandle(h)
		}
	})
	line, err := readLine(r.lines, 30*time.Second)
	if err != nil {
		t.Fatalf("the helper emulator reported nothing: %v", err)
	}
	if _, err := fmt.Sscanf(line, "pids %d %d %s", &r.emulator, &r.grandchild, &r.breakaway); err != nil {
		t.Fatalf("helper emulator: %q: %v", line, err)
	}
	r.handles = openAll(t, r.emulator, r.grandchild)
	return r
}

// wait returns the result of runEmulator, bounded in time.
func (r *emulatorRun) wait(t *testing.T) runResult {
	t.Helper()
	select {
	case res := <-r.done:
		return res
	case <-time.After(30 * time.Second):
		t.Fatal("runEmulator did not return within 30 s")
		return runResult{}
	}
}

// openAll opens a handle on each running process, which keeps its PID
// from being reused until the handle is closed.
func openAll(t *testing.T, pids ...int) []windows.Handle {
	t.Helper()
	var hs []windows.Handle
	for _, p := range pids {
		h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(p))
		if err != nil {
			t.Fatalf("open process %d while it runs: %v", p, err)
		}
		hs = append(hs, h)
	}
	return hs
}

// assertAllGone fails unless every process of hs ends within a few
// seconds (the kernel ends a job's processes asynchronously).
func assertAllGone(t *testing.T, what string, hs []windows.Handle, pids ...int) {
	t.Helper()
	for i, h := range hs {
		ev, err := windows.WaitForSingleObject(h, 10_000)
		if err != nil || ev != windows.WAIT_OBJECT_0 {
			t.Errorf("%s: process %d is still running 10 s after the teardown (wait: %#x, %v)", what, pids[i], ev, err)
		}
	}
}

func readLine(r *bufio.Reader, d time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := r.ReadString('\n')
		ch <- res{strings.TrimSuffix(s, "\n"), err}
	}()
	select {
	case x := <-ch:
		return x.s, x.err
	case <-time.After(d):
		return "", fmt.Errorf("no line within %v", d)
	}
}

type testWriter struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Logf("emulator stderr: %s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestEmulatorJobTeardown: whichever way the session ends (the emulator
// exits, the launch is interrupted, the emulator is killed), runEmulator
// returns the emulator's status and no process of the emulator's is left,
// the detached grandchild included; breakaway from the job is refused.
func TestEmulatorJobTeardown(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(r *emulatorRun, cancel context.CancelFunc)
		want func(ctxErr error, st int) bool
	}{
		{"emulator exits 7", func(r *emulatorRun, _ context.CancelFunc) { fmt.Fprintln(r.stdin, "exit 7") },
			func(_ error, st int) bool { return st == 7 }},
		{"interrupted", func(_ *emulatorRun, cancel context.CancelFunc) { cancel() },
			func(ctxErr error, _ int) bool { return ctxErr != nil }},
		{"emulator killed", func(r *emulatorRun, _ context.CancelFunc) { windows.TerminateProcess(r.handles[0], 9) },
			func(_ error, st int) bool { return st == 9 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := startEmulatorRun(t, ctx, nil)
			if r.breakaway != "refused" {
				t.Errorf("the emulator's child could break away from the job (CREATE_BREAKAWAY_FROM_JOB: %s)", r.breakaway)
			}
			tc.end(r, cancel)
			res := r.wait(t)
			if res.err != nil {
				t.Fatalf("runEmulator: %v", res.err)
			}
			if !tc.want(ctx.Err(), res.status) {
				t.Errorf("status %d (interrupted: %v): not what this ending gives", res.status, ctx.Err() != nil)
			}
			assertAllGone(t, tc.name, r.handles, r.emulator, r.grandchild)
		})
	}
}

// TestEmulatorJobLaunchKilled: when the launch itself is killed (no
// teardown of its own runs), the kill-on-close Job Object ends the emulator
// and its detached grandchild as the kernel closes the launch's handles.
func TestEmulatorJobLaunchKilled(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	launch := exec.CommandContext(ctx, self)
	launch.Env = append(os.Environ(), jobHelperEnv+"=launch")
	out, err := launch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := launch.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	launch.Stderr = &testWriter{t: t}
	// A surviving emulator holds the stderr pipe: Wait must not wait for it.
	launch.WaitDelay = 5 * time.Second
	if err := launch.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := readLine(bufio.NewReader(out), 30*time.Second)
	if err != nil {
		launch.Process.Kill()
		launch.Wait()
		t.Fatalf("the launch's emulator reported nothing: %v", err)
	}
	var emu, gc int
	var breakaway string
	if _, err := fmt.Sscanf(line, "pids %d %d %s", &emu, &gc, &breakaway); err != nil {
		t.Fatalf("helper emulator: %q: %v", line, err)
	}
	hs := openAll(t, emu, gc)
	defer func() {
		for _, h := range hs {
			windows.TerminateProcess(h, 1)
			windows.CloseHandle(h)
		}
	}()
	if err := launch.Process.Kill(); err != nil { // TerminateProcess: nothing of the launch runs
		t.Fatal(err)
	}
	launch.Wait()
	assertAllGone(t, "launch killed", hs, emu, gc)
}

// TestEmulatorJobAdmit: the launch's admission rule on Windows is the Job
// Object: the emulator and its detached grandchild are admitted, this
// process (same user, outside the job) is refused, a process of the job
// that has exited is refused, and so is everything before the emulator
// runs and after it has ended.
func TestEmulatorJobAdmit(t *testing.T) {
	tree := newEmulatorTree(false)
	if err := tree.admit(os.Getpid()); err == nil {
		t.Error("admitted a process before any emulator ran")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := startEmulatorRun(t, ctx, tree)
	if err := tree.admit(r.emulator); err != nil {
		t.Errorf("the emulator (%d) was refused: %v", r.emulator, err)
	}
	if err := tree.admit(r.grandchild); err != nil {
		t.Errorf("the emulator's detached grandchild (%d) was refused: %v", r.grandchild, err)
	}
	if err := tree.admit(os.Getpid()); err == nil {
		t.Errorf("this test process (%d), outside the job, was admitted", os.Getpid())
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	outside := exec.Command(self)
	outside.Env = append(os.Environ(), jobHelperEnv+"=grandchild")
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	if err := tree.admit(outside.Process.Pid); err == nil {
		t.Errorf("a process of the same user outside the job (%d) was admitted", outside.Process.Pid)
	}
	outside.Process.Kill()
	outside.Wait()

	// The grandchild ends; its PID no longer names a process of the job.
	gone := r.grandchild
	windows.TerminateProcess(r.handles[1], 1)
	if ev, err := windows.WaitForSingleObject(r.handles[1], 10_000); ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("the grandchild did not end: %#x %v", ev, err)
	}
	windows.CloseHandle(r.handles[1])
	r.handles = r.handles[:1]
	if err := tree.admit(gone); err == nil {
		t.Errorf("the PID of a process that has exited (%d) was admitted", gone)
	}

	fmt.Fprintln(r.stdin, "exit 0")
	if res := r.wait(t); res.err != nil || res.status != 0 {
		t.Fatalf("runEmulator: %d, %v", res.status, res.err)
	}
	if err := tree.admit(r.emulator); err == nil {
		t.Error("admitted the emulator's PID after the emulator had ended")
	}
}

// TestEmulatorJobTunnel: through the real connector and the system's TCP
// table, the emulator's connection to the local end is relayed, and a
// connection of this process (same user, outside the job, as a browser
// page would be) is refused: the proxy sees one tunnel only.
func TestEmulatorJobTunnel(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	tree := newEmulatorTree(false)
	tun := startJobTunnel(t, ctx, tree)

	r := startEmulatorRun(t, ctx, tree, "TL_JOB_CONNECT="+tun.addr)
	line, err := readLine(r.lines, 30*time.Second)
	if err != nil {
		t.Fatalf("the emulator's exchange: %v", err)
	}
	if want := fmt.Sprintf("reply %q <nil>", "echo: ping from the emulator"); line != want {
		t.Errorf("the emulator got %s, want %s", line, want)
	}

	c, err := net.Dial("tcp", tun.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "ping from outside the job\n")
	n, err := io.Copy(io.Discard, c)
	c.Close()
	if n != 0 {
		t.Errorf("a connection from outside the job got %d bytes back", n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("a connection from outside the job was neither relayed nor closed: %v", err)
	}
	var seen []string
	for refused := false; !refused; {
		select {
		case l := <-tun.logs:
			seen = append(seen, l)
			refused = strings.Contains(l, "refused") && strings.Contains(l, "not by the emulator") && strings.Contains(l, fmt.Sprint(os.Getpid()))
		case <-time.After(20 * time.Second):
			t.Fatalf("no log line refusing this process's connection (%d) in:\n%s", os.Getpid(), strings.Join(seen, "\n"))
		}
	}
	if n := len(tun.proxy.Targets()); n != 1 {
		t.Errorf("the proxy saw %d tunnels, want the emulator's only", n)
	}
	fmt.Fprintln(r.stdin, "exit 0")
	r.wait(t)
	assertAllGone(t, "tunnel", r.handles, r.emulator, r.grandchild)
}

// jobTunnel is a launch's tunnel as the job tests use it: a destination
// that answers a line with "echo: LINE", a CONNECT proxy, and a connector
// serving a local end (addr) that admits the processes of tree; logs gets
// the connector's log lines. It serves until ctx ends.
type jobTunnel struct {
	addr  string
	proxy *proxytest.Proxy
	logs  chan string
}

func startJobTunnel(t *testing.T, ctx context.Context, tree *emulatorTree) *jobTunnel {
	t.Helper()
	dest, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dest.Close() })
	go func() {
		for {
			c, err := dest.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				fmt.Fprintf(c, "echo: %s", line)
			}()
		}
	}()
	tun := &jobTunnel{proxy: proxytest.NewConnectProxy(), logs: make(chan string, 64)}
	t.Cleanup(tun.proxy.Close)
	conn, err := connector.New(connector.Config{
		ProxyAddr:    tun.proxy.Addr,
		Transport:    connector.TransportConnect,
		RootCAs:      tun.proxy.RootCAs(),
		Destination:  dest.Addr().String(),
		Token:        connector.NewToken("tl-test-token-5d81c2a7e9"),
		AdmitProcess: tree.admit,
		Logf: func(format string, args ...any) {
			select {
			case tun.logs <- fmt.Sprintf(format, args...):
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := connector.Listen("", false)
	if err != nil {
		t.Fatal(err)
	}
	tun.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- conn.Serve(ctx, ln) }()
	t.Cleanup(func() {
		select {
		case <-served:
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return within 20 s of its context's end")
		}
	})
	return tun
}
