package main

import (
	"context"
	"errors"
	"os"

	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/tui"
)

// inTerminalCommand is the hidden subcommand that `open` runs in the
// terminal window it opens for an emulator when a browser started the
// launch: `trustlaunch __in-terminal ARGS -- ARGV...` reports itself to the
// launch, runs the emulator and hands its exit status back, which the
// window itself does not report (launcher.RunRecorder). Nobody types it.
const inTerminalCommand = "__in-terminal"

// terminalWindow is open's launcher.Options.Window: the recorder is this
// executable's __in-terminal, in the terminal tui.FindTerminal chooses.
// Nil when this executable cannot be found: such a launch then fails.
func terminalWindow() *launcher.TerminalWindow {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return &launcher.TerminalWindow{
		Recorder: []string{exe, inTerminalCommand},
		Terminal: func() ([]string, bool, error) {
			t, err := tui.FindTerminal(os.Environ())
			return t.Argv, t.Inherits, err
		},
	}
}

func cmdInTerminal(_ context.Context, s *stdio, args []string) int {
	status, err := launcher.RunRecorder(args, s.stdin, s.stdout, s.stderr)
	if errors.Is(err, launcher.ErrRecorderUsage) {
		s.errorf("%v", err)
		s.errorf("usage: trustlaunch %s [--fd N --inode N] [--socket PATH] -- COMMAND [ARG...] (run by open, not by hand)", inTerminalCommand)
		return exitUsage
	}
	if err != nil {
		s.errorf("%v", err)
	}
	return status
}
