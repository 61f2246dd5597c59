package launcher

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// consoleEmulator is the "console" helper role: the emulator inside the
// console window of a launch. It relays a line through the tunnel
// (TL_JOB_CONNECT), then tells the test on its control connection
// (TL_CONSOLE_CONTROL) "ready PID PARENT STDIN STDOUT REPLY", the last
// three being what its standard input and output are (GetFileType: 2 is
// a character device, such as a console) and the host's answer, and
// exits with the N of the "exit N" it is sent there.
func consoleEmulator() int {
	reply := "none"
	if c, err := net.Dial("tcp", os.Getenv("TL_JOB_CONNECT")); err == nil {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "ping from the console\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		reply = strconv.Quote(strings.TrimSuffix(line, "\n"))
		c.Close()
	}
	ctl, err := net.Dial("tcp", os.Getenv("TL_CONSOLE_CONTROL"))
	if err != nil {
		return 3
	}
	defer ctl.Close()
	in, _ := windows.GetFileType(windows.Handle(os.Stdin.Fd()))
	out, _ := windows.GetFileType(windows.Handle(os.Stdout.Fd()))
	fmt.Fprintf(ctl, "ready %d %d %d %d %s\n", os.Getpid(), os.Getppid(), in, out, reply)
	line, _ := bufio.NewReader(ctl).ReadString('\n')
	if n, ok := strings.CutPrefix(strings.TrimSpace(line), "exit "); ok {
		code, _ := strconv.Atoi(n)
		return code
	}
	return 4
}

// TestRecorderConsoleWindow: a launch without a console runs the recorder
// in a console window of its own, in the emulator's Job Object; the
// emulator gets that console as its standard input and output, uses the
// tunnel, and its status comes back as the recorder's exit code. This
// process, a program of the same user outside the job, is refused by the
// tunnel, and there is nothing it could report or write to claim the
// recorder's place or its status.
func TestRecorderConsoleWindow(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	tree := newEmulatorTree(false)
	tun := startJobTunnel(t, ctx, tree)
	control, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The launch's own standard handles are pipes, as a launch without a
	// console has no console handles.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inW.Close()
	spec := emulatorSpec{
		argv: []string{self},
		env: append(CleanEnv(os.Environ()), jobHelperEnv+"=console",
			"TL_JOB_CONNECT="+tun.addr, "TL_CONSOLE_CONTROL="+control.Addr().String()),
		stdin:   inR,
		stdout:  &testWriter{t: t},
		stderr:  &testWriter{t: t},
		started: tree.running,
	}
	rec, err := prepareWindow(&TerminalWindow{Recorder: []string{self, recorderArg}}, &spec)
	if err != nil || rec != nil || !spec.newConsole {
		t.Fatalf("prepareWindow = %v, %v, new console %v; want no watch and a console of its own", rec, err, spec.newConsole)
	}
	if want := []string{self, recorderArg, "--", self}; strings.Join(spec.argv, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("the window's command line %q, want %q", spec.argv, want)
	}
	done := make(chan runResult, 1)
	go func() {
		st, err := runEmulator(ctx, spec)
		inR.Close()
		done <- runResult{st, err}
	}()

	type accepted struct {
		c   net.Conn
		err error
	}
	acc := make(chan accepted, 1)
	go func() { c, err := control.Accept(); acc <- accepted{c, err} }()
	var ctl net.Conn
	select {
	case a := <-acc:
		if a.err != nil {
			t.Fatal(a.err)
		}
		ctl = a.c
	case r := <-done:
		t.Fatalf("the window ended (%d, %v) before its emulator reported", r.status, r.err)
	case <-ctx.Done():
		t.Fatal("the emulator in the console window did not report")
	}
	defer ctl.Close()
	ctl.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(ctl).ReadString('\n')
	if err != nil {
		t.Fatalf("the emulator's report: %v", err)
	}
	var pid, parent int
	var in, out uint32
	f := strings.SplitN(strings.TrimSuffix(line, "\n"), " ", 6)
	if len(f) != 6 {
		t.Fatalf("the emulator's report %q", line)
	}
	if _, err := fmt.Sscanf(strings.Join(f[:5], " "), "ready %d %d %d %d", &pid, &parent, &in, &out); err != nil {
		t.Fatalf("the emulator's report %q: %v", line, err)
	}
	reply := f[5]
	if recorder := tree.emulatorPID(); parent != recorder {
		t.Errorf("the emulator's parent is %d, not the recorder the launch started (%d)", parent, recorder)
	}
	if in != windows.FILE_TYPE_CHAR || out != windows.FILE_TYPE_CHAR {
		t.Errorf("the emulator's standard input and output are of types %d and %d, want the console's (%d): not the launch's pipes", in, out, windows.FILE_TYPE_CHAR)
	}
	if want := strconv.Quote("echo: ping from the console"); reply != want {
		t.Errorf("the emulator got %s through the tunnel, want %s", reply, want)
	}
	if err := tree.admit(pid); err != nil {
		t.Errorf("the emulator in the console window was refused: %v", err)
	}

	// This process: same user, outside the job.
	if err := tree.admit(os.Getpid()); err == nil {
		t.Errorf("this process (%d), outside the job, was admitted", os.Getpid())
	}
	c, err := net.Dial("tcp", tun.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "SPOOF\n")
	if n, _ := io.Copy(io.Discard, c); n != 0 {
		t.Errorf("a connection from outside the job got %d bytes back", n)
	}
	c.Close()

	hs := openAll(t, parent, pid)
	defer func() {
		for _, h := range hs {
			windows.TerminateProcess(h, 1)
			windows.CloseHandle(h)
		}
	}()
	fmt.Fprintf(ctl, "exit 7\n")
	select {
	case r := <-done:
		if r.err != nil || r.status != 7 {
			t.Errorf("the window's run: %d, %v; want the emulator's 7 as the recorder's exit code", r.status, r.err)
		}
	case <-ctx.Done():
		t.Fatal("the window did not end")
	}
	assertAllGone(t, "console window", hs, parent, pid)
	if n := len(tun.proxy.Targets()); n != 1 {
		t.Errorf("the proxy saw %d tunnels, want the emulator's only", n)
	}
}
