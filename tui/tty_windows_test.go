package tui

import (
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"
)

// TestConsoleClosedEndsPromptWindows: closing the console window (or
// logging off) mid-prompt reaches Go as SIGTERM (CTRL_CLOSE_EVENT,
// CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT); the prompt watches for it and
// ends as a closed terminal, which is No, as on Unix with SIGHUP. Ctrl-C is
// an interruption. Wine gives no way to close a test's console, and Windows
// lets a program raise only Ctrl-C and Ctrl-Break in it, so the mapping is
// what is checked here.
func TestConsoleClosedEndsPromptWindows(t *testing.T) {
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if !slices.Contains(promptSignals, s) {
			t.Errorf("the prompt does not watch for %v", s)
		}
	}
	if err := signalCause(syscall.SIGTERM); !errors.Is(err, ErrTerminalClosed) {
		t.Errorf("SIGTERM (console closed) ends the prompt with %v, want ErrTerminalClosed", err)
	}
	if err := signalCause(os.Interrupt); !errors.Is(err, ErrInterrupted) {
		t.Errorf("Ctrl-C ends the prompt with %v, want ErrInterrupted", err)
	}
}
