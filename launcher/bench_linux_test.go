package launcher

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkLaunchToExecInWindow is BenchmarkLaunchToExec for a launch in a
// terminal window, measured up to the emulator's own start inside it: the
// window (a shell standing in for xterm), the recorder, its report and the
// launch's check of it, then the emulator's exec. "inherited" reports over
// the socketpair the window passes on, "socket" over the report socket.
func BenchmarkLaunchToExecInWindow(b *testing.B) {
	w := newWorld(b, "connect")
	w.set("profile", "fake-tty")
	os.WriteFile(w.profiles, []byte(fmt.Sprintf("[profile.fake-tty]\ncommand = [%q, \"-test.run=^$\", \"{port}\"]\nterminal = true\n", os.Args[0])), 0o600)
	stamp := regexp.MustCompile(`started=(\d+)`)
	for _, mode := range []string{"inherited", "socket"} {
		b.Run(mode, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				var out syncBuffer
				opts, _ := w.options(b, "fake", strings.NewReader(""), &out)
				opts.Env = append(opts.Env, "LAUNCH_TEST_STAMP=1")
				opts.Window = &TerminalWindow{
					Recorder: []string{os.Args[0], recorderArg},
					Terminal: func() ([]string, bool, error) { return shWindow(mode == "socket"), mode == "inherited", nil },
				}
				start := time.Now()
				res := Launch(b.Context(), opts)
				if res.Err != nil || res.ExitStatus != 7 {
					b.Fatalf("launch: %+v", res)
				}
				m := stamp.FindStringSubmatch(out.String())
				if m == nil {
					b.Fatalf("the emulator did not say when it started: %q", out.String())
				}
				ns, _ := strconv.ParseInt(m[1], 10, 64)
				total += time.Unix(0, ns).Sub(start)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/launch-to-exec")
		})
	}
}

// BenchmarkPeerCheck measures the launch's half of the check of a tunnel
// connection (the connector's half is connector's BenchmarkPeerCheck): the
// roots the holder search starts from and AdmitProcess on the holder.
// "emulator": the emulator started by the launch holds it; "window": the
// emulator runs under a recorder that reported itself and is not a
// descendant of the window the launch started, as through gnome-terminal.
func BenchmarkPeerCheck(b *testing.B) {
	hold := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		in, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	b.Run("emulator", func(b *testing.B) {
		tree := newEmulatorTree(false)
		emu := hold("/bin/sh", "-c", "read x")
		tree.started(emu.Process.Pid)
		benchAdmit(b, tree, emu.Process.Pid)
	})
	b.Run("window", func(b *testing.B) {
		tree := newEmulatorTree(false)
		window := hold("/bin/sh", "-c", "read x")
		tree.started(window.Process.Pid)
		emu := startReportedRecorder(b, tree)
		benchAdmit(b, tree, emu)
	})
}

// BenchmarkRecorderCheck measures what the launch does once per launch
// when a report arrives: the check of the sender (its executable, command
// line and start time) and the pidfd that follows it, here on a recorder
// of this test binary, many threads like trustlaunch's.
func BenchmarkRecorderCheck(b *testing.B) {
	tree := newEmulatorTree(false)
	startReportedRecorder(b, tree)
	w := tree.recorder.Load()
	w.mu.Lock()
	pid, want, exe := w.pid, w.want, w.exe
	w.mu.Unlock()
	b.ReportAllocs()
	for b.Loop() {
		start, err := checkRecorderProcess(pid, want, exe)
		if err != nil {
			b.Fatal(err)
		}
		if fd := pinProcess(pid, start); fd >= 0 {
			unix.Close(fd)
		}
	}
}

// startReportedRecorder runs a recorder that reports itself to tree's launch and
// runs a command that waits, and returns that command's PID.
func startReportedRecorder(b *testing.B, tree *emulatorTree) int {
	spec := emulatorSpec{argv: []string{"/bin/sh", "-c", "echo $$; read x"}}
	w, err := prepareWindow(&TerminalWindow{
		Recorder: []string{os.Args[0], recorderArg},
		Terminal: func() ([]string, bool, error) { return nil, false, nil },
	}, &spec)
	if err != nil {
		b.Fatal(err)
	}
	w.serve(func(err error) { b.Errorf("tampered: %v", err) })
	tree.recorder.Store(w)
	cmd := exec.Command(spec.argv[0], spec.argv[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); cmd.Wait(); w.finish() })
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil { // printed once the report was accepted
		b.Fatal(err)
	}
	go io.Copy(io.Discard, out)
	return pid
}

func benchAdmit(b *testing.B, tree *emulatorTree, pid int) {
	b.ReportAllocs()
	for b.Loop() {
		found := false
		for _, r := range tree.roots() {
			found = found || r > 0
		}
		if err := tree.admit(pid); err != nil || !found {
			b.Fatalf("admit(%d): %v (roots %v)", pid, err, tree.roots())
		}
	}
}
