package tui

import (
	"fmt"
	"os"

	"github.com/charmbracelet/x/term"
)

// tty is the terminal a prompt asks on: in and out are one file on Unix,
// CONIN$ and CONOUT$ on Windows.
type tty struct{ in, out *os.File }

func (t *tty) close() {
	_ = t.in.Close()
	if t.out != t.in {
		_ = t.out.Close()
	}
}

// ttyInput turns the end of the terminal's input into ErrTerminalClosed.
// Bubble Tea ends its read loop quietly on io.EOF and would then wait for the
// timeout; a hung-up terminal reads as EOF (or EIO), and must answer No now.
// It keeps Fd and Name, so Bubble Tea still puts the terminal in raw mode and
// cancels reads with epoll/kqueue rather than leaving a reader behind.
type ttyInput struct{ *os.File }

func (t ttyInput) Read(p []byte) (int, error) {
	n, err := t.File.Read(p)
	if err != nil {
		// %v, not %w: Bubble Tea checks errors.Is(err, io.EOF) to end its
		// read loop quietly, which is exactly what must not happen here.
		return n, fmt.Errorf("%w: %v", ErrTerminalClosed, err)
	}
	return n, nil
}

// CheckTerminal reports whether a prompt can ask on the terminal at path ("":
// the controlling terminal, see Options.TTYPath). It returns an error wrapping
// ErrNoTerminal when the terminal cannot be opened, as when a browser started
// the handler without one: the caller then asks in a terminal window
// (NewWindowPrompter) instead.
func CheckTerminal(path string) error {
	t, err := openTTY(path)
	if err != nil {
		return err
	}
	t.close()
	return nil
}

// isTerminal reports whether f is a terminal without calling f.Fd, which
// would switch f to blocking mode: the plain prompter relies on the runtime
// poller so that closing the terminal ends a pending read.
func isTerminal(f *os.File) bool {
	ok := false
	return controlFD(f, func(fd uintptr) error { ok = term.IsTerminal(fd); return nil }) == nil && ok
}

// controlFD runs fn on f's descriptor through SyscallConn, not f.Fd, which
// would switch f to blocking mode (see isTerminal), and returns fn's error.
func controlFD(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(fd) }); err != nil {
		return err
	}
	return ferr
}
