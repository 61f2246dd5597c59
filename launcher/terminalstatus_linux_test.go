package launcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// shWindow stands in for a terminal that runs its command and exits 0
// whatever the command returned (xterm -e). It passes its descriptors on
// (sh does), or with closeFD first closes the launch's descriptor, as a
// terminal that starts its command from a server process has none to pass.
func shWindow(closeFD bool) []string {
	script := `"$@"; exit 0`
	if closeFD {
		script = `exec 3>&-; ` + script
	}
	return []string{"/usr/bin/env", "LAUNCH_TEST_IN_TERMINAL=yes", "/bin/sh", "-c", script, "sh"}
}

// TestLaunchInTerminal checks that a profile marked terminal = true runs
// in a terminal window through the recorder when the launch has no
// terminal (a browser started it), that the emulator's exit status comes
// back from the recorder although the window exits 0, whether the window
// passes the launch's descriptor on or the recorder reports on the socket,
// and that the launch is refused when there is no way to open a window.
func TestLaunchInTerminal(t *testing.T) {
	w := newWorld(t, "connect")
	w.set("profile", "fake-tty")
	os.WriteFile(w.profiles, []byte(fmt.Sprintf("[profile.fake-tty]\ncommand = [%q, \"-test.run=^$\", \"{port}\"]\nterminal = true\n", os.Args[0])), 0o600)

	for _, tc := range []struct {
		name     string
		inherits bool // what the terminal is said to do
		closeFD  bool // what it does
	}{
		{"inherited descriptor", true, false},
		{"report socket", false, true},
		{"descriptor preferred to the socket", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := testtmp.Dir(t) // where the report socket's directory is made
			t.Setenv("TMPDIR", tmp)
			var out syncBuffer
			var logs syncBuffer
			opts, audit := w.options(t, "fake", strings.NewReader(""), &out)
			opts.Logf = func(format string, args ...any) { fmt.Fprintf(&logs, format+"\n", args...) }
			opts.Window = &TerminalWindow{
				Recorder: []string{os.Args[0], recorderArg},
				Terminal: func() ([]string, bool, error) { return shWindow(tc.closeFD), tc.inherits, nil },
			}
			res := Launch(t.Context(), opts)
			if res.Err != nil || res.ExitStatus != 7 {
				t.Fatalf("Launch through a recorder: %+v, want the emulator's status 7; log:\n%s", res, logs.String())
			}
			if !strings.Contains(out.String(), `reply="PING\n" in-terminal="yes"`) {
				t.Errorf("the emulator did not run in the window, or not through the tunnel: %q", out.String())
			}
			if strings.Contains(logs.String(), "unknown") {
				t.Errorf("no status from the recorder; log:\n%s", logs.String())
			}
			recs, err := audit.ReadRecent(1)
			if err != nil || len(recs) != 1 || recs[0].ExitStatus == nil || *recs[0].ExitStatus != 7 {
				t.Errorf("audit: %+v, %v", recs, err)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("left behind in the temporary directory: %v", left)
			}
		})
	}

	// A window that never runs the recorder: the status is the window's,
	// and the log says that the emulator's is unknown.
	var logs syncBuffer
	opts, _ := w.options(t, "fake", strings.NewReader(""), io.Discard)
	opts.Logf = func(format string, args ...any) { fmt.Fprintf(&logs, format+"\n", args...) }
	opts.Window = &TerminalWindow{
		Recorder: []string{os.Args[0], recorderArg},
		Terminal: func() ([]string, bool, error) { return []string{"/bin/sh", "-c", "exit 0", "sh"}, false, nil },
	}
	if res := Launch(t.Context(), opts); res.Err != nil || res.ExitStatus != 0 || !strings.Contains(logs.String(), "exit status is unknown") {
		t.Errorf("without a recorder: %+v, log %q", res, logs.String())
	}

	opts, _ = w.options(t, "fake", strings.NewReader(""), io.Discard)
	opts.Window = &TerminalWindow{
		Recorder: []string{os.Args[0], recorderArg},
		Terminal: func() ([]string, bool, error) { return nil, false, errors.New("no terminal program installed") },
	}
	if res := Launch(t.Context(), opts); res.Step != StepEmulator || !strings.Contains(fmt.Sprint(res.Err), "no terminal program") {
		t.Errorf("without a terminal window: %s %v", res.Step, res.Err)
	}
	opts.Window = nil
	if res := Launch(t.Context(), opts); res.Step != StepEmulator || !strings.Contains(fmt.Sprint(res.Err), "has none") {
		t.Errorf("without Options.Window: %s %v", res.Step, res.Err)
	}
	var out syncBuffer
	opts.Interactive = true // with a terminal, the profile runs as it is
	opts.Stdout = &out
	if res := Launch(t.Context(), opts); res.Err != nil || res.ExitStatus != 7 {
		t.Errorf("interactive: %+v", res)
	}
}

// watchCase is one recorder watch with the test binary as its recorder,
// whose command says "running", waits for a line on its stdin and exits 5.
type watchCase struct {
	t     *testing.T
	w     *recorderWatch
	spec  emulatorSpec
	ended chan error // what the watch ended the launch with
}

func newWatchCase(t *testing.T, inherits bool) *watchCase {
	t.Helper()
	c := &watchCase{t: t, ended: make(chan error, 4)}
	c.spec = emulatorSpec{argv: []string{"/bin/sh", "-c", "echo running; read x; exit 5"}}
	var err error
	c.w, err = prepareWindow(&TerminalWindow{
		Recorder: []string{os.Args[0], recorderArg},
		Terminal: func() ([]string, bool, error) { return nil, inherits, nil },
	}, &c.spec)
	if err != nil {
		t.Fatal(err)
	}
	c.w.serve(func(err error) { c.ended <- err })
	t.Cleanup(func() { c.w.finish() })
	return c
}

// socket is the report socket the recorder's command line names.
func (c *watchCase) socket() string {
	i := slices.Index(c.spec.argv, "--socket")
	if i < 0 {
		c.t.Fatalf("no report socket in %q", c.spec.argv)
	}
	return c.spec.argv[i+1]
}

// recorder is one run of the recorder's command line.
type recorder struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr syncBuffer
	done   chan int // its exit status
}

// start runs the recorder's command line: as the window's command, with
// the launch's descriptor (pass), or as a server process would, without.
// cmdPath, when set, is the executable run under that command line.
func (c *watchCase) start(pass bool, cmdPath string) *recorder {
	c.t.Helper()
	r := &recorder{done: make(chan int, 1)}
	r.cmd = exec.Command(c.spec.argv[0], c.spec.argv[1:]...)
	if cmdPath != "" {
		r.cmd.Path = cmdPath
	}
	if pass {
		// A duplicate: each run hands its own copy over, as the window's
		// terminal would.
		peer, err := dupFile(c.spec.extraFiles[0])
		if err != nil {
			c.t.Fatal(err)
		}
		defer peer.Close()
		r.cmd.ExtraFiles = []*os.File{peer}
	}
	r.cmd.Stderr = &r.stderr
	var err error
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		c.t.Fatal(err)
	}
	// A pipe of the test's, not StdoutPipe: Wait would close that one
	// while a read waits on it.
	out, w, err := os.Pipe()
	if err != nil {
		c.t.Fatal(err)
	}
	defer w.Close()
	c.t.Cleanup(func() { out.Close() })
	r.cmd.Stdout = w
	r.stdout = bufio.NewReader(out)
	if err := r.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		r.cmd.Wait()
		r.done <- r.cmd.ProcessState.ExitCode()
	}()
	c.t.Cleanup(func() {
		r.cmd.Process.Kill()
		r.stdin.Close()
	})
	return r
}

func dupFile(f *os.File) (*os.File, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var dup *os.File
	var derr error
	raw.Control(func(fd uintptr) {
		var nfd int
		if nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); derr == nil {
			dup = os.NewFile(uintptr(nfd), f.Name())
		}
	})
	return dup, derr
}

// exit waits for the recorder's exit status.
func (r *recorder) exit(t *testing.T) int {
	t.Helper()
	select {
	case st := <-r.done:
		return st
	case <-time.After(20 * time.Second):
		t.Fatalf("the recorder did not exit within 20 s; its stderr: %s", r.stderr.String())
		return -1
	}
}

// accepted waits until r runs its command, which it does once the watch
// has accepted its report, and checks that the watch admits it.
func (c *watchCase) accepted(r *recorder) {
	c.t.Helper()
	line := make(chan string, 1)
	go func() {
		l, _ := r.stdout.ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if l != "running\n" {
			c.t.Fatalf("the recorder's command did not run (%q); its stderr: %s", l, r.stderr.String())
		}
	case err := <-c.ended:
		c.t.Fatalf("the launch was ended before process %d was accepted: %v", r.cmd.Process.Pid, err)
	case <-time.After(20 * time.Second):
		c.t.Fatalf("process %d did not run its command within 20 s; its stderr: %s", r.cmd.Process.Pid, r.stderr.String())
	}
	if p, ok := c.w.admitted(); !ok || p != r.cmd.Process.Pid {
		c.t.Fatalf("admitted = %d, %v; want the recorder, %d", p, ok, r.cmd.Process.Pid)
	}
}

// endedWith waits for the watch to end the launch, and returns why.
func (c *watchCase) endedWith() error {
	c.t.Helper()
	select {
	case err := <-c.ended:
		return err
	case <-time.After(20 * time.Second):
		c.t.Fatal("the launch was not ended within 20 s")
		return nil
	}
}

// send connects to the report socket, as another program of the user
// can, and sends msg; it returns what came back (nothing: refused).
func (c *watchCase) send(msg string) string {
	c.t.Helper()
	conn, err := net.Dial("unixpacket", c.socket())
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := conn.Read(buf)
	return string(buf[:n])
}

// TestRecorderWatch: the first report wins when its sender runs the
// recorder's executable with exactly its command line; anything after it,
// or a first report that fails that check, ends the launch as tampered
// with; the exit status comes only from the accepted recorder.
func TestRecorderWatch(t *testing.T) {
	for _, tc := range []struct {
		name           string
		inherits, pass bool // what the terminal is said to do, and does
	}{
		{"inherited descriptor", true, true},
		{"report socket", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newWatchCase(t, tc.inherits)
			if tc.inherits && slices.Contains(c.spec.argv, "--socket") {
				t.Errorf("a report socket was offered to a terminal that passes descriptors on: %q", c.spec.argv)
			}
			r := c.start(tc.pass, "")
			c.accepted(r)
			io.WriteString(r.stdin, "go\n")
			if st := r.exit(t); st != 5 {
				t.Errorf("the recorder exited %d, want its command's 5; stderr: %s", st, r.stderr.String())
			}
			if st, ok, err := c.w.finish(); st != 5 || !ok || err != nil {
				t.Errorf("finish = %d, %v, %v; want 5 from the recorder", st, ok, err)
			}
			if _, ok := c.w.admitted(); ok {
				t.Error("the recorder is still admitted after it exited")
			}
		})
	}

	t.Run("another program reports first", func(t *testing.T) {
		c := newWatchCase(t, false)
		if got := c.send(msgReport); got != "" {
			t.Errorf("this test process's report was answered %q", got)
		}
		err := c.endedWith()
		if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) || !strings.Contains(err.Error(), "command line") {
			t.Errorf("ended with %v; want tampering by this process, whose command line is not the recorder's", err)
		}
		// The real recorder comes too late: it runs nothing.
		r := c.start(true, "")
		if st := r.exit(t); st != startFailedStatus || !strings.Contains(r.stderr.String(), "did not accept") {
			t.Errorf("the recorder after tampering exited %d, stderr %q; want %d without running its command", st, r.stderr.String(), startFailedStatus)
		}
		if _, ok, err := c.w.finish(); ok || !errors.Is(err, ErrTampered) {
			t.Errorf("finish = %v, %v; want no status and the tampering", ok, err)
		}
	})

	t.Run("a second report", func(t *testing.T) {
		c := newWatchCase(t, false)
		r := c.start(true, "")
		c.accepted(r)
		c.send(msgReport)
		err := c.endedWith()
		if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), fmt.Sprintf("after process %d had", r.cmd.Process.Pid)) {
			t.Errorf("ended with %v; want a second report after the recorder's", err)
		}
		// The recorder learns that the launch ended, and ends its command
		// (SIGHUP: 128+1) without waiting for its line.
		if st := r.exit(t); st != 129 {
			t.Errorf("the recorder exited %d, want 129 (its command hung up); stderr: %s", st, r.stderr.String())
		}
		if _, ok := c.w.admitted(); ok {
			t.Error("the recorder is still admitted after the launch was tampered with")
		}
	})

	t.Run("the same command line first, through the socket", func(t *testing.T) {
		// A program that runs trustlaunch itself with the recorder's
		// command line passes the check and wins the race; the real
		// recorder's report then ends the launch.
		c := newWatchCase(t, false)
		impostor := c.start(false, "")
		c.accepted(impostor)
		r := c.start(true, "")
		err := c.endedWith()
		if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", r.cmd.Process.Pid)) {
			t.Errorf("ended with %v; want the real recorder's report refused as a second one", err)
		}
		if st := r.exit(t); st != startFailedStatus {
			t.Errorf("the refused recorder exited %d, want %d", st, startFailedStatus)
		}
		if st := impostor.exit(t); st != 129 {
			t.Errorf("the accepted one exited %d, want 129 (its command hung up)", st)
		}
	})

	t.Run("another executable", func(t *testing.T) {
		// The recorder's command line exactly, under another program:
		// here a copy of the test binary.
		copyPath := filepath.Join(testtmp.Dir(t), "impostor")
		data, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copyPath, data, 0o700); err != nil {
			t.Fatal(err)
		}
		c := newWatchCase(t, false)
		r := c.start(false, copyPath)
		err = c.endedWith()
		if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "impostor") {
			t.Errorf("ended with %v; want a report from another executable refused", err)
		}
		if st := r.exit(t); st != startFailedStatus {
			t.Errorf("the refused recorder exited %d, want %d", st, startFailedStatus)
		}
	})

	t.Run("a status from another program", func(t *testing.T) {
		c := newWatchCase(t, false)
		r := c.start(true, "")
		c.accepted(r)
		c.send(msgStatus + "42")
		if err := c.endedWith(); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), `"status 42"`) {
			t.Errorf("ended with %v; want the status from this process refused", err)
		}
		if st, ok, err := c.w.finish(); ok || st == 42 || !errors.Is(err, ErrTampered) {
			t.Errorf("finish = %d, %v, %v; want no status and the tampering", st, ok, err)
		}
	})

	t.Run("a status before any report", func(t *testing.T) {
		c := newWatchCase(t, false)
		c.send(msgStatus + "42")
		if err := c.endedWith(); !errors.Is(err, ErrTampered) {
			t.Errorf("ended with %v; want tampering", err)
		}
	})
}

// TestRecorderWithoutChannel: a recorder whose window passed no descriptor
// on and that was offered no socket refuses to run its command.
func TestRecorderWithoutChannel(t *testing.T) {
	marker := filepath.Join(testtmp.Dir(t), "ran")
	st, err := RunRecorder([]string{"--fd", "3", "--inode", "1", "--", "/bin/sh", "-c", "touch " + marker}, nil, io.Discard, io.Discard)
	if st != startFailedStatus || err == nil || !strings.Contains(err.Error(), "descriptor 3") {
		t.Errorf("RunRecorder = %d, %v; want %d and why", st, err, startFailedStatus)
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the command ran: %v", err)
	}
}

// TestLaunchInTerminalTampered: a report on the launch's report socket
// from a program that is not the recorder, while the emulator runs in its
// window, ends the launch: Launch fails at StepRecorder with ErrTampered,
// the audit record says so, and the emulator and the tunnel are gone.
func TestLaunchInTerminalTampered(t *testing.T) {
	w := newWorld(t, "connect")
	w.set("profile", "sleeper-tty")
	os.WriteFile(w.profiles, []byte(fmt.Sprintf("[profile.sleeper-tty]\ncommand = [%q, \"-test.run=^$\", \"{port}\"]\nterminal = true\n", os.Args[0])), 0o600)
	pr, pw := io.Pipe()
	opts, audit := w.options(t, "sleep", strings.NewReader(""), pw)
	opts.Window = &TerminalWindow{
		Recorder: []string{os.Args[0], recorderArg},
		Terminal: func() ([]string, bool, error) { return shWindow(false), false, nil },
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	done := make(chan *Result, 1)
	go func() {
		done <- Launch(ctx, opts)
		pw.Close()
	}()
	pid, port := readStarted(t, pr) // the emulator has connected

	recorder, err := parentOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", recorder))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(string(cmdline), "\x00")
	i := slices.Index(args, "--socket")
	if i < 0 {
		t.Fatalf("the recorder's command line %q offers no report socket", args)
	}
	c, err := net.Dial("unixpacket", args[i+1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(msgReport))

	var res *Result
	select {
	case res = <-done:
	case <-ctx.Done():
		t.Fatal("the launch was not ended")
	}
	if res.Step != StepRecorder || !errors.Is(res.Err, ErrTampered) || !strings.Contains(res.Err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Errorf("Launch = %s, %v; want the tampering by this process at step %s", res.Step, res.Err, StepRecorder)
	}
	recs, err := audit.ReadRecent(1)
	if err != nil || len(recs) != 1 || recs[0].Step != StepRecorder || recs[0].Decision != "failed" || recs[0].ExitStatus != nil {
		t.Errorf("audit: %+v, %v; want a failed launch at step %s", recs, err, StepRecorder)
	}
	assertGone(t, pid, port)
}
