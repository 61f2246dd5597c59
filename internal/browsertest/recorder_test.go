//go:build linux

package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// The tests of the terminal window's recorder against a program of the
// same user that claims to be it: open runs a terminal = true profile
// without a terminal, as a browser starts it, and while the emulator is
// connected this test process (same user, not a descendant of open) tries
// what the recorder's command line, readable by every program, lets it
// try: a recorder.pid and a status file in any directory the command line
// names, the report socket when there is one, and then the tunnel itself.
// Its bytes must never reach the host, and the exit status must be the
// emulator's, or the launch must end as tampered with.

// Roles of this test binary, chosen by its arguments (TestMain).
const (
	// heldEmulatorRole is the profile's command: it connects to the tunnel
	// (argument 2: the port), exchanges a line with the host, says "ready
	// PPID PORT" on the control socket (argument 3), and exits with the N
	// of the "exit N" it is sent there.
	heldEmulatorRole = "held-emulator"
	// termServerEnv names the socket of a terminal server: with it set,
	// this binary given "-e ARGV" is a terminal client, as gnome-terminal
	// --wait is to gnome-terminal-server: it has the server run ARGV,
	// waits for it to exit, and exits 0. ARGV is not its descendant and
	// inherits nothing from it.
	termServerEnv = "BROWSERTEST_TERM_SERVER"
)

func TestMain(m *testing.M) {
	if i := slices.Index(os.Args, "--"); i > 0 && len(os.Args) == i+4 && os.Args[i+1] == heldEmulatorRole {
		os.Exit(heldEmulator(os.Args[i+2], os.Args[i+3]))
	}
	if sock := os.Getenv(termServerEnv); sock != "" && len(os.Args) > 2 && os.Args[1] == "-e" {
		os.Exit(termClient(sock, os.Args[2:]))
	}
	os.Exit(m.Run())
}

func heldEmulator(port, control string) int {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		return 2
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "EMULATOR\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); line != "EMULATOR\n" {
		fmt.Fprintf(os.Stderr, "emulator: the host answered %q, %v\n", line, err)
		return 2
	}
	ctl, err := net.Dial("unix", control)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		return 2
	}
	defer ctl.Close()
	fmt.Fprintf(ctl, "ready %d %s\n", os.Getppid(), port)
	line, err := bufio.NewReader(ctl).ReadString('\n')
	if n, ok := strings.CutPrefix(strings.TrimSpace(line), "exit "); ok {
		code, _ := strconv.Atoi(n)
		return code
	}
	fmt.Fprintf(os.Stderr, "emulator: control said %q, %v\n", line, err)
	return 3
}

func termClient(sock string, argv []string) int {
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "terminal client:", err)
		return 1
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(argv); err != nil {
		fmt.Fprintln(os.Stderr, "terminal client:", err)
		return 1
	}
	io.Copy(io.Discard, c) // the server closes the connection when ARGV has exited
	return 0
}

// spoofWorld is a portal, proxy and recording host, the user's config with
// a terminal = true profile running the held emulator, and the control
// socket its emulators report on.
type spoofWorld struct {
	bin, root, link string
	env             []string
	host            *recordingHost
	ready           chan emulatorConn
}

// emulatorConn is a held emulator that has reported in.
type emulatorConn struct {
	conn       net.Conn
	parent     int // its parent: the recorder
	tunnelPort int
}

func (e emulatorConn) exit(code int) { fmt.Fprintf(e.conn, "exit %d\n", code) }

func newSpoofWorld(t *testing.T) *spoofWorld {
	t.Helper()
	w := &spoofWorld{bin: peers.BuildTrustlaunch(t), root: t.TempDir(), ready: make(chan emulatorConn, 4)}
	ca := peers.NewCA(t)
	w.host = startRecordingHost(t)
	proxy := startProxy(t)
	portal := startOrigin(t, ca.Issue(t, "127.0.0.1"))
	token := "tok-" + randHex(t)
	proxy.allow(token)
	portal.serveDescriptor("/descriptor/held", "tkt-1", map[string]any{
		"version": 1,
		"session": "recorder test",
		"profile": "held",
		"proxy": map[string]any{
			"address": proxy.Addr, "transport": "connect", "server_name": "127.0.0.1",
			"ca_pem": string(proxy.CA.CertPEM()),
		},
		"destination": map[string]any{"host": "127.0.0.1", "port": port(t, w.host.addr)},
		"token":       token,
	})
	control := filepath.Join(w.root, "control.sock")
	ln, err := net.Listen("unix", control)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				var e emulatorConn
				line, _ := bufio.NewReader(c).ReadString('\n')
				if _, err := fmt.Sscanf(line, "ready %d %d", &e.parent, &e.tunnelPort); err != nil {
					c.Close()
					return
				}
				e.conn = c
				w.ready <- e
			}()
		}
	}()

	config := filepath.Join(w.root, "config")
	if err := os.MkdirAll(filepath.Join(config, "trustlaunch"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(config, "trustlaunch", "whitelist.txt"), []byte(hostPort(t, portal.origin)+"\n"), 0o600)
	profile := fmt.Sprintf("[profile.held]\ncommand = [%q, \"-test.run=^$\", \"--\", %q, \"{port}\", %q]\nterminal = true\n",
		os.Args[0], heldEmulatorRole, control)
	os.WriteFile(filepath.Join(config, "trustlaunch", "profiles.toml"), []byte(profile), 0o600)
	w.link = "trustlaunch://launch?url=" + url.QueryEscape(portal.origin+"/descriptor/held?ticket=tkt-1")
	w.env = []string{
		"HOME=" + w.root, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
		"XDG_CONFIG_HOME=" + config, "XDG_STATE_HOME=" + filepath.Join(w.root, "state"),
		"SSL_CERT_FILE=" + ca.CertFile,
	}
	return w
}

// opened is a running `trustlaunch open`.
type opened struct {
	cmd    *exec.Cmd
	out    lockedBuffer
	exited chan struct{}
}

// open runs `trustlaunch open` as a browser starts it: its own session, no
// terminal, stdin on /dev/null.
func (w *spoofWorld) open(t *testing.T, ctx context.Context, env ...string) *opened {
	t.Helper()
	o := &opened{exited: make(chan struct{})}
	o.cmd = exec.CommandContext(ctx, w.bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", w.link)
	o.cmd.Env = append(slices.Clone(w.env), env...)
	o.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	o.cmd.Stdout, o.cmd.Stderr = &o.out, &o.out
	o.cmd.WaitDelay = 5 * time.Second
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { o.cmd.Wait(); close(o.exited) }()
	t.Cleanup(func() {
		syscall.Kill(-o.cmd.Process.Pid, syscall.SIGKILL)
		<-o.exited
	})
	return o
}

// exitCode waits for open to exit.
func (o *opened) exitCode(t *testing.T, ctx context.Context) int {
	t.Helper()
	select {
	case <-o.exited:
		return o.cmd.ProcessState.ExitCode()
	case <-ctx.Done():
		t.Fatalf("open did not exit: %v\n%s", ctx.Err(), o.out.String())
		return -1
	}
}

// emulator waits for an emulator to report in.
func (w *spoofWorld) emulator(t *testing.T, ctx context.Context, o *opened) emulatorConn {
	t.Helper()
	select {
	case e := <-w.ready:
		return e
	case <-o.exited:
		t.Fatalf("open exited (%s) before its emulator connected:\n%s", o.cmd.ProcessState, o.out.String())
	case <-ctx.Done():
		t.Fatalf("no emulator connected: %v\n%s", ctx.Err(), o.out.String())
	}
	return emulatorConn{}
}

// spoofed is what the spoofing program managed.
type spoofed struct {
	files        []string // the files it wrote in a directory the recorder's command line names
	reportAnswer string   // the report socket's answer ("": none offered, or refused)
	reported     bool     // it sent a report there
	tunnelBytes  int      // what its own connection to the tunnel got back
}

// spoofRecorder is the program that claims to be the recorder with pid:
// this test process. With reportFirst it reports on the report socket
// before it connects to the tunnel.
func spoofRecorder(t *testing.T, recorder, tunnelPort int, reportFirst bool) spoofed {
	t.Helper()
	var s spoofed
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", recorder))
	if err != nil {
		t.Fatalf("the recorder's command line: %v", err)
	}
	args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	i := slices.Index(args, "__in-terminal")
	if i < 0 {
		t.Fatalf("process %d is not the recorder: %q", recorder, args)
	}
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Fields(string(self[strings.LastIndexByte(string(self), ')')+1:]))[19]
	for _, a := range args[i+1:] {
		if a == "--" {
			break
		}
		// A path names a directory of the launch's: report this process
		// there, and an exit status.
		if filepath.IsAbs(a) {
			dir := filepath.Dir(a)
			for name, data := range map[string]string{
				"recorder.pid": fmt.Sprintf("%d %s\n", os.Getpid(), start),
				"status":       "42\n",
			} {
				if os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600) == nil {
					s.files = append(s.files, name)
				}
			}
		}
	}
	report := func() {
		j := slices.Index(args, "--socket")
		if j < 0 || j > slices.Index(args, "--") {
			return
		}
		c, err := net.Dial("unixpacket", args[j+1])
		if err != nil {
			t.Logf("the report socket: %v", err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("report"))
		s.reported = true
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		s.reportAnswer = string(buf[:n])
	}
	if reportFirst {
		report()
	}
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tunnelPort))
	if err == nil {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "SPOOF\n")
		n, _ := io.Copy(io.Discard, c)
		s.tunnelBytes = int(n)
		c.Close()
	}
	if !reportFirst {
		report()
	}
	return s
}

// TestRecorderSpoofXterm: through a real xterm, which passes the launch's
// descriptor on to the recorder, there is no report socket; the spoofing
// program's files change nothing, its connection is refused, and open
// exits with the emulator's status.
func TestRecorderSpoofXterm(t *testing.T) {
	peers.RequireBinary(t, "xterm")
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	w := newSpoofWorld(t)
	display := startXvfb(t, ctx, w.root)
	o := w.open(t, ctx, "DISPLAY="+display, "TERMINAL=xterm")
	emu := w.emulator(t, ctx, o)

	s := spoofRecorder(t, emu.parent, emu.tunnelPort, false)
	if s.reported {
		t.Errorf("a report socket was offered through xterm (answer %q)", s.reportAnswer)
	}
	if s.tunnelBytes != 0 {
		t.Errorf("the spoofing program's connection got %d bytes back through the tunnel", s.tunnelBytes)
	}
	emu.exit(7)
	if code := o.exitCode(t, ctx); code != 7 {
		t.Errorf("open exited %d, want the emulator's 7 (the spoofing program wrote %v):\n%s", code, s.files, o.out.String())
	}
	if got := w.host.received(); got != "EMULATOR\n" {
		t.Errorf("the host received %q, want the emulator's line only", got)
	}
}

// termServer runs the commands terminal clients send it, each as its own
// child in a session of its own, and closes the client's connection when
// the command has exited, as gnome-terminal-server does for gnome-terminal
// --wait. Each command is first handed to hold, which returns when it may
// start.
type termServer struct {
	sock string
	hold func(argv []string)
	mu   sync.Mutex
	runs []*exec.Cmd
}

func startTermServer(t *testing.T, dir string, hold func(argv []string)) *termServer {
	t.Helper()
	s := &termServer{sock: filepath.Join(dir, "term-server.sock"), hold: hold}
	ln, err := net.Listen("unix", s.sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.runs {
			c.Process.Kill()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				var argv []string
				if json.NewDecoder(c).Decode(&argv) != nil || len(argv) == 0 {
					return
				}
				if s.hold != nil {
					s.hold(argv)
				}
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
				cmd.Stdout, cmd.Stderr = &testLog{t: t, name: "window"}, &testLog{t: t, name: "window"}
				s.mu.Lock()
				err := cmd.Start()
				if err == nil {
					s.runs = append(s.runs, cmd)
				}
				s.mu.Unlock()
				if err == nil {
					cmd.Wait()
				}
			})
		}
	})
	return s
}

// testLog writes a process's output to the test log.
type testLog struct {
	t    *testing.T
	name string
}

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s: %s", l.name, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestRecorderSpoofServer: through a terminal that starts the command from
// a server process (the recorder is not open's descendant and inherits
// nothing), the recorder reports on the report socket; the spoofing
// program's connection is refused, and its report there ends the launch
// as tampered with.
func TestRecorderSpoofServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	w := newSpoofWorld(t)
	srv := startTermServer(t, w.root, nil)
	o := w.open(t, ctx, "DISPLAY=:0", "TERMINAL="+os.Args[0], termServerEnv+"="+srv.sock)
	emu := w.emulator(t, ctx, o)

	s := spoofRecorder(t, emu.parent, emu.tunnelPort, false)
	if s.tunnelBytes != 0 {
		t.Errorf("the spoofing program's connection got %d bytes back through the tunnel", s.tunnelBytes)
	}
	if !s.reported || s.reportAnswer != "" {
		t.Errorf("the spoofing program's report: sent %v, answered %q; want it sent and refused", s.reported, s.reportAnswer)
	}
	emu.exit(7) // too late, or ended already: the launch is over
	code := o.exitCode(t, ctx)
	out := o.out.String()
	if code != 1 || !strings.Contains(out, "recorder: another program claimed to be the terminal window's recorder") ||
		!strings.Contains(out, fmt.Sprintf("process %d", os.Getpid())) {
		t.Errorf("open exited %d, want 1 with the tampering by process %d (the spoofing program wrote %v):\n%s", code, os.Getpid(), s.files, out)
	}
	if got := w.host.received(); got != "EMULATOR\n" {
		t.Errorf("the host received %q, want the emulator's line only", got)
	}
}

// TestRecorderImpostorFirst: a program that runs trustlaunch itself with
// the recorder's exact command line, before the terminal server starts the
// real one, passes the check and is the first report: its emulator is
// admitted (what docs/admin.md says a program of the same user can still
// do). The real recorder's report then ends the launch as tampered with,
// and the impostor's emulator is ended with it.
func TestRecorderImpostorFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	w := newSpoofWorld(t)
	held := make(chan []string, 1)
	release := make(chan struct{})
	srv := startTermServer(t, w.root, func(argv []string) {
		held <- argv
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	o := w.open(t, ctx, "DISPLAY=:0", "TERMINAL="+os.Args[0], termServerEnv+"="+srv.sock)
	var argv []string
	select {
	case argv = <-held:
	case <-o.exited:
		t.Fatalf("open exited before its window started:\n%s", o.out.String())
	case <-ctx.Done():
		t.Fatal("no window started")
	}
	impostor := exec.CommandContext(ctx, argv[0], argv[1:]...)
	impostor.Stdout, impostor.Stderr = &testLog{t: t, name: "impostor"}, &testLog{t: t, name: "impostor"}
	if err := impostor.Start(); err != nil {
		t.Fatal(err)
	}
	impostorExit := make(chan int, 1)
	go func() { impostor.Wait(); impostorExit <- impostor.ProcessState.ExitCode() }()
	emu := w.emulator(t, ctx, o)
	if emu.parent != impostor.Process.Pid {
		t.Fatalf("the emulator's parent is %d, not the impostor %d", emu.parent, impostor.Process.Pid)
	}
	close(release) // the real recorder starts, and reports second

	code := o.exitCode(t, ctx)
	out := o.out.String()
	if code != 1 || !strings.Contains(out, fmt.Sprintf("reported itself as the recorder after process %d had", impostor.Process.Pid)) {
		t.Errorf("open exited %d, want 1 with the real recorder's report refused after the impostor's (%d):\n%s", code, impostor.Process.Pid, out)
	}
	select {
	case st := <-impostorExit:
		if st != 129 {
			t.Errorf("the impostor exited %d, want 129: its emulator hung up when the launch ended", st)
		}
	case <-ctx.Done():
		t.Error("the impostor's emulator was not ended with the launch")
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("out of time")
	}
}
