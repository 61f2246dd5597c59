//go:build unix

package launcher

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// processGroup runs the emulator as the leader of a new process group. When
// stdin is our terminal the group also becomes the terminal's foreground
// group, as a shell does for a job, so the emulator can read the keyboard and
// Ctrl-C reaches it rather than us; afterwards the terminal is given back.
type processGroup struct {
	cmd *exec.Cmd
	tty *os.File // the terminal handed to the emulator, or nil
}

// newConsole is for Windows; prepareWindow never asks for it here.
func newProcessGroup(cmd *exec.Cmd, _ bool) *processGroup {
	g := &processGroup{cmd: cmd}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if f, ok := cmd.Stdin.(*os.File); ok && isTerminal(f) {
		g.tty = f
		attr.Foreground = true
		attr.Ctty = 0 // the child's stdin
	}
	setDeathSignal(attr)
	cmd.SysProcAttr = attr
	return g
}

func (g *processGroup) started() error { return nil }

func (g *processGroup) signal(sig syscall.Signal) {
	if g.cmd.Process != nil {
		// The group id is the leader's pid (Setpgid with Pgid 0).
		_ = syscall.Kill(-g.cmd.Process.Pid, sig)
	}
}

func (g *processGroup) terminate() {
	g.signal(syscall.SIGHUP) // what a terminal emulator sends when it goes away
	g.signal(syscall.SIGTERM)
}

func (g *processGroup) kill() { g.signal(syscall.SIGKILL) }

// finished gives the terminal's foreground back to trustlaunch. A background
// process that calls tcsetpgrp gets SIGTTOU, hence the brief ignore.
func (g *processGroup) finished() {
	if g.tty == nil {
		return
	}
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	_ = unix.IoctlSetPointerInt(int(g.tty.Fd()), unix.TIOCSPGRP, unix.Getpgrp())
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}

func statusOf(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// holdTerminalSignals keeps this process alive through the signals a
// terminal sends its foreground process group (the recorder's emulator
// gets them too) until the returned func is called. Caught, not ignored:
// an ignored signal would stay ignored in the emulator started meanwhile.
func holdTerminalSignals() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	return func() { signal.Stop(ch) }
}
