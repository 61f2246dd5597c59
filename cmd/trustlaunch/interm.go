package main

import (
	"context"
	"os"

	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/tui"
)

// inTerminalCommand is the hidden subcommand that `open` runs in the
// terminal window it opens for an emulator when a browser started the
// launch: `trustlaunch __in-terminal STATUSFILE -- ARGV...` runs the
// emulator and records its exit status for the launch, which the window
// itself does not report (launcher.RunRecordingStatus). Nobody types it.
const inTerminalCommand = "__in-terminal"

// inTerminal is open's launcher.Options.InTerminal: the recorder around
// argv, in a terminal window.
func inTerminal(argv []string, statusFile string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return tui.TerminalCommand(os.Environ(), append([]string{exe, inTerminalCommand, statusFile, "--"}, argv...))
}

func cmdInTerminal(_ context.Context, s *stdio, args []string) int {
	if len(args) < 3 || args[1] != "--" {
		s.errorf("usage: trustlaunch %s STATUSFILE -- COMMAND [ARG...]", inTerminalCommand)
		return exitUsage
	}
	status, err := launcher.RunRecordingStatus(args[2:], args[0], s.stdin, s.stdout, s.stderr)
	if err != nil {
		s.errorf("%v", err)
	}
	return status
}
