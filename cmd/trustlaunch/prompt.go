package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/trustlaunch/trustlaunch/tui"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// promptWindowCommand is the hidden subcommand that runs the trust prompt in
// a terminal window that `open` started because it had no terminal of its own
// (a browser runs URL handlers without one). It is not in the command table's
// help: nobody types it.
const promptWindowCommand = "__prompt-window"

// newPrompter picks how `open` asks: on the controlling terminal when there is
// one (the full-screen prompt, or the plain one with --no-tui or TERM=dumb),
// otherwise in a terminal window it opens. Both answer No on every failure.
func newPrompter(s *stdio, o openOptions) whitelist.Prompter {
	noColor := s.getenv("NO_COLOR") != ""
	if err := tui.CheckTerminal(""); err == nil {
		return tui.NewPrompter(tui.Options{Plain: o.noTUI, Timeout: o.timeout, NoColor: noColor, Getenv: s.getenv})
	}
	exe, err := os.Executable()
	if err != nil {
		return failingPrompter{fmt.Errorf("no terminal, and cannot find this program to open one: %w", err)}
	}
	return tui.NewWindowPrompter(tui.WindowOptions{
		Command: func(handoff string) []string {
			args := []string{exe, promptWindowCommand, "--prompt-timeout", o.timeout.String()}
			if o.noTUI {
				args = append(args, "--no-tui")
			}
			return append(args, "--", handoff)
		},
		// The window's own prompt times out first; this bounds the wait for
		// the window to answer at all.
		Timeout: o.timeout + tui.DefaultWindowStartTimeout,
	})
}

// failingPrompter answers No with a fixed reason.
type failingPrompter struct{ err error }

func (p failingPrompter) Prompt(context.Context, whitelist.PromptRequest) (whitelist.Answer, error) {
	return whitelist.AnswerNo, p.err
}

// cmdPromptWindow is the far end of newPrompter's window flow: it asks on the
// window's terminal and hands the answer back to the waiting `open`.
func cmdPromptWindow(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet(promptWindowCommand, "internal: the trust prompt in a terminal window opened by trustlaunch open\n", s)
	var o openOptions
	fs.BoolVar(&o.noTUI, "no-tui", false, "plain prompt")
	fs.DurationVar(&o.timeout, "prompt-timeout", tui.DefaultTimeout, "answer No after this long")
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.ArgsLenAtDash() != 0 || fs.NArg() != 1 {
		s.errorf("%s: want one hand-off directory after --", promptWindowCommand)
		return exitUsage
	}
	p := tui.NewPrompter(tui.Options{Plain: o.noTUI, Timeout: o.timeout, NoColor: s.getenv("NO_COLOR") != "", Getenv: s.getenv})
	if err := tui.ServeWindow(ctx, fs.Arg(0), p); err != nil {
		s.errorf("%v", err)
		if errors.Is(err, context.Canceled) {
			return exitInterrupted
		}
		return exitFailure
	}
	return exitOK
}
