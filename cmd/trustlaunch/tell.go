package main

import (
	"context"
	"os"
	"strings"

	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/tui"
)

// messageWindowCommand is the hidden subcommand that shows a message in a
// terminal window that `open` started because it had no terminal and no
// desktop notification could be shown (tellUser). Nobody types it.
const messageWindowCommand = "__message-window"

// tellUser makes sure a user who has no terminal (a browser started the
// handler) learns why a launch failed or was refused: a desktop
// notification, or else a window of its own. With a terminal, stderr has
// said it already. It returns how the user was told, for the audit record
// (tui.Told*, with the reasons after "nobody").
func tellUser(ctx context.Context, title, text string) string {
	if tui.CheckTerminal("") == nil {
		return tui.ToldTerminal
	}
	opts := tui.WindowOptions{}
	if exe, err := os.Executable(); err == nil {
		opts.Command = func(handoff string) []string { return []string{exe, messageWindowCommand, "--", handoff} }
	}
	// The launch is over: a cancelled context would not stop the telling.
	how, err := tellWithoutTerminal(context.WithoutCancel(ctx), opts, title, text)
	if err != nil {
		return how + ": " + err.Error()
	}
	return how
}

// tellWithoutTerminal is tui.TellWithoutTerminal. This package's tests
// replace it (TestMain): their binary cannot serve a message window, and a
// real one, left open for tui.DefaultMessageTimeout by each failing run of
// a script, would outlive the test (under Wine it holds the test's output
// open, and go test fails the package).
var tellWithoutTerminal = tui.TellWithoutTerminal

// tellIfSilent tells a user who has no terminal why a run of open (or a
// link given as the command) ended with code: the error and hint lines it
// wrote on stderr, which nobody reads when a browser started it. It does
// nothing when the run succeeded, wrote no error, or was told already:
// a launch tells of its own failures and refusals (launcher.Options.Tell),
// a malformed link and an unusable outbound proxy setting are told where
// they are recorded (openFailed), and a detection, a portal's check in the
// background, tells nobody. Each of those sets s.told; this catches
// every other way out, present and future, so that no click ends in
// silence.
func tellIfSilent(ctx context.Context, s *stdio, code int) {
	if code == exitOK || s.told || len(s.said) == 0 {
		return
	}
	s.told = true
	tellUser(ctx, "trustlaunch: launch failed", s.secrets.Scrub(strings.Join(s.said, "\n")))
}

// tellLaunch is launcher.Options.Tell for `open` and `demo`: the one line
// stderr gets, and the hint under it, scrubbed of the run's secrets.
func tellLaunch(s *stdio) func(context.Context, *launcher.Result) string {
	return func(ctx context.Context, res *launcher.Result) string {
		title, text := "trustlaunch: launch refused", res.Decision.Message
		if res.Err != nil {
			title = "trustlaunch: launch failed"
			text = res.Step + ": " + res.Err.Error()
			if h := hintOf(res.Err); h != "" {
				text += "\n" + h
			}
		} else if fix := fixFor(res.Decision.Err); fix != "" {
			text += "\n" + fix
		}
		return tellUser(ctx, title, s.secrets.Scrub(text))
	}
}

// cmdMessageWindow is the far end of tellUser's window: it shows the
// message on the window's terminal until Enter.
func cmdMessageWindow(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet(messageWindowCommand, "internal: a message in a terminal window opened by trustlaunch open\n", s)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.ArgsLenAtDash() != 0 || fs.NArg() != 1 {
		s.errorf("%s: want one hand-off directory after --", messageWindowCommand)
		return exitUsage
	}
	if err := tui.ServeMessage(ctx, fs.Arg(0), s.stdin, s.stdout, 0); err != nil {
		s.errorf("%s", strings.TrimSpace(err.Error()))
		return exitFailure
	}
	return exitOK
}
