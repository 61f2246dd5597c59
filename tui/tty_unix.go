//go:build unix

package tui

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

const defaultTTY = "/dev/tty"

// openTTY opens the terminal read-write. /dev/tty is the controlling terminal
// whatever stdin and stdout are; opening it fails (ENXIO) in a process that
// has none, such as a URL handler started by a browser.
func openTTY(path string) (*tty, error) {
	if path == "" {
		path = defaultTTY
	}
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoTerminal, err)
	}
	if !isTerminal(f) {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s is not a terminal", ErrNoTerminal, path)
	}
	if inBackground(f) {
		// Reading the terminal would stop us (SIGTTIN) until someone
		// typed "fg", and the prompt's timeout cannot run while stopped:
		// a browser started as "firefox &" starts its handler there.
		_ = f.Close()
		return nil, fmt.Errorf("%w: this process is in the background of %s", ErrNoTerminal, path)
	}
	return &tty{in: f, out: f}, nil
}

// inBackground reports whether f is our controlling terminal and another
// process group than ours is in its foreground. For a terminal that is not
// our controlling one, TIOCGPGRP fails (ENOTTY) and reading it cannot stop
// us: false.
func inBackground(f *os.File) bool {
	fg := 0
	err := controlFD(f, func(fd uintptr) (err error) { fg, err = foregroundGroup(int(fd)); return err })
	return err == nil && fg != unix.Getpgrp()
}

// discardTypeahead drops what was typed on the terminal before the question
// appeared (tcflush TCIFLUSH): a "y" and Enter meant for another window must
// not answer a prompt the user has not read. Through controlFD: with f in
// blocking mode, closing the terminal would no longer end the plain
// prompter's pending read, which would stay behind and eat the emulator's
// first line of input.
func discardTypeahead(f *os.File) error {
	return controlFD(f, func(fd uintptr) error { return flushInput(int(fd)) })
}

// forcesPlain reports whether $TERM rules out the TUI. An unset TERM on Unix
// means something started us without a terminal description.
func forcesPlain(term string) bool { return term == "" || term == "dumb" }

// promptSignals end a prompt: Ctrl-C outside raw mode, kill, and the hangup
// a terminal sends when its window closes.
var promptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

func signalCause(s os.Signal) error {
	if s == syscall.SIGHUP {
		return fmt.Errorf("%w (SIGHUP)", ErrTerminalClosed)
	}
	return fmt.Errorf("%w (%v)", ErrInterrupted, s)
}
