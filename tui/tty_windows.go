//go:build windows

package tui

import (
	"fmt"
	"os"
	"syscall"
)

// openTTY opens the console: CONIN$ and CONOUT$ are the console of the
// process whatever its standard handles are. A path (tests) is used for both.
func openTTY(path string) (*tty, error) {
	inPath, outPath := "CONIN$", "CONOUT$"
	if path != "" {
		inPath, outPath = path, path
	}
	in, err := os.OpenFile(inPath, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoTerminal, err)
	}
	out, err := os.OpenFile(outPath, os.O_RDWR, 0)
	if err != nil {
		_ = in.Close()
		return nil, fmt.Errorf("%w: %w", ErrNoTerminal, err)
	}
	if !isTerminal(in) || !isTerminal(out) {
		_ = in.Close()
		_ = out.Close()
		return nil, fmt.Errorf("%w: %s is not a console", ErrNoTerminal, inPath)
	}
	return &tty{in: in, out: out}, nil
}

// forcesPlain reports whether $TERM rules out the TUI. Windows consoles leave
// TERM unset and run the TUI; only an explicit "dumb" asks for plain text.
func forcesPlain(term string) bool { return term == "dumb" }

// promptSignals end a prompt: Ctrl-C (os.Interrupt), and SIGTERM, which Go
// delivers when the console window is closed or the user logs off.
var promptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func signalCause(s os.Signal) error {
	if s == os.Interrupt {
		return fmt.Errorf("%w (%v)", ErrInterrupted, s)
	}
	return fmt.Errorf("%w (console closed)", ErrTerminalClosed)
}
