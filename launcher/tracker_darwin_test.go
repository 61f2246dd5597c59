package launcher

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/proctree"
)

// The teardown on macOS, which only a Mac runs: the tracker sees a
// grandchild that calls setsid, keeps it after its parent exits (launchd
// adopts it), and endDescendants kills it. Roles of this test binary
// (TestMain's emulatorRoleEnv): "escape" starts an "escapee" in a session
// of its own and prints its pid; with LAUNCH_TEST_ESCAPE=exit it exits at
// once, else it waits.
func TestTrackerEndsOrphanedGrandchild(t *testing.T) {
	if err := proctree.Start(); err != nil {
		t.Fatal(err)
	}
	tr := proctree.Active()
	ended := false
	defer func() {
		if !ended {
			endDescendants()
		}
	}()

	cmd := exec.Command(os.Args[0], "-test.run=^$", "0")
	cmd.Env = append(os.Environ(), emulatorRoleEnv+"=escape")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var self, port, grandchild int
	if _, err := fmt.Fscan(bufio.NewReader(out), &self, &port, &grandchild); err != nil || grandchild <= 0 {
		t.Fatalf("the child reported no grandchild: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(grandchild, syscall.SIGKILL) })
	// The child waits (it sleeps) while the tracker looks: a scan of our
	// own makes the look deterministic, where the tracker's own might come
	// a few milliseconds later.
	tr.Scan()
	if !tr.Saw(grandchild) {
		t.Fatalf("the tracker did not see the grandchild %d under the child %d", grandchild, cmd.Process.Pid)
	}
	// The child dies: the grandchild is launchd's now.
	cmd.Process.Kill()
	cmd.Wait()
	stdin.Close()
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", grandchild)
	if err != nil || kp.Eproc.Ppid != 1 {
		t.Fatalf("the grandchild's parent: %v, %v; want launchd (1)", kp, err)
	}

	exited := watchExit(t, grandchild)
	endDescendants()
	ended = true
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("the orphaned grandchild %d outlived endDescendants", grandchild)
	}
	if proctree.Active() != nil {
		t.Fatal("the tracker still runs after endDescendants")
	}
}

// watchExit returns a channel closed when pid exits (EVFILT_PROC,
// NOTE_EXIT).
func watchExit(t *testing.T, pid int) <-chan struct{} {
	t.Helper()
	kq, err := unix.Kqueue()
	if err != nil {
		t.Fatal(err)
	}
	var ev unix.Kevent_t
	unix.SetKevent(&ev, pid, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	ev.Fflags = unix.NOTE_EXIT
	if _, err := unix.Kevent(kq, []unix.Kevent_t{ev}, nil, nil); err != nil {
		unix.Close(kq)
		t.Fatalf("watch process %d: %v", pid, err)
	}
	done := make(chan struct{})
	go func() {
		defer unix.Close(kq)
		events := make([]unix.Kevent_t, 1)
		timeout := unix.NsecToTimespec(int64(15 * time.Second))
		if n, _ := unix.Kevent(kq, nil, events, &timeout); n == 1 {
			close(done)
		}
	}()
	return done
}

// TestTrackerOne: the tracker belongs to the process; a second start is
// refused, and a stop with none running is harmless.
func TestTrackerOne(t *testing.T) {
	if err := proctree.Start(); err != nil {
		t.Fatal(err)
	}
	if err := proctree.Start(); err == nil {
		t.Error("a second tracker started")
	}
	endDescendants()
	if tr := proctree.Stop(); tr != nil {
		t.Error("stopTracker with none running returned one")
	}
}

// TestAdmitDarwin: the parent chain admits the emulator's child and
// refuses this process and launchd.
func TestAdmitDarwin(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), emulatorRoleEnv+"=escapee")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	tree := newEmulatorTree(false)
	tree.started(os.Getpid()) // "the emulator" is this process: its child is a descendant
	if err := tree.admit(cmd.Process.Pid); err != nil {
		t.Errorf("a child of the emulator refused: %v", err)
	}
	other := newEmulatorTree(false)
	other.started(cmd.Process.Pid)
	if err := other.admit(os.Getpid()); err == nil {
		t.Error("the emulator's parent admitted")
	}
	if err := other.admit(1); err == nil {
		t.Error("launchd admitted")
	}
}
