package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/tui"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// promptWindowCommand is the hidden subcommand that runs the trust prompt in
// a terminal window that `open` started because it had no terminal of its own
// (a browser runs URL handlers without one). It is not in the command table's
// help: nobody types it.
const promptWindowCommand = "__prompt-window"

// promptFlags are the flags of every command that may show the trust
// prompt: open, its re-executed form, demo, and the prompt window that open
// starts with the values it was given. They are defined once, here, so that
// every form of the prompt answers No after the same time.
type promptFlags struct {
	noTUI   bool          // --no-tui
	timeout time.Duration // --prompt-timeout
}

// addPromptFlags registers --no-tui and --prompt-timeout on fs. The default
// time is the prompt's own (tui.DefaultTimeout), so the flag's help says
// what a prompt built without the flag would do.
func addPromptFlags(fs *pflag.FlagSet) *promptFlags {
	p := &promptFlags{}
	fs.BoolVar(&p.noTUI, "no-tui", false, "ask with a plain text prompt instead of the full-screen one")
	fs.DurationVar(&p.timeout, "prompt-timeout", tui.DefaultTimeout, "answer No when the prompt gets no answer in this time")
	return p
}

// check refuses a --prompt-timeout that is not positive: the prompt would
// quietly take its default instead, and the window prompter's wait for the
// window (this time plus tui.DefaultWindowStartTimeout) would end before
// the window's own prompt does.
func (p *promptFlags) check(s *stdio, cmd string) (code int, ok bool) {
	if p.timeout <= 0 {
		s.errorf("%s: --prompt-timeout must be positive", cmd)
		return exitUsage, false
	}
	return 0, true
}

// options is the prompt on this process's terminal that the flags ask for.
func (p *promptFlags) options(s *stdio) tui.Options {
	return tui.Options{Plain: p.noTUI, Timeout: p.timeout, NoColor: s.getenv("NO_COLOR") != "", Getenv: s.getenv}
}

// newPrompter picks how `open` asks: on the controlling terminal when there is
// one (the full-screen prompt, or the plain one with --no-tui or TERM=dumb),
// otherwise in a terminal window it opens. Both answer No on every failure.
func newPrompter(s *stdio, p *promptFlags) whitelist.Prompter {
	if err := tui.CheckTerminal(""); err == nil {
		return tui.NewPrompter(p.options(s))
	}
	exe, err := os.Executable()
	if err != nil {
		return failingPrompter{fmt.Errorf("no terminal, and cannot find this program to open one: %w", err)}
	}
	return tui.NewWindowPrompter(tui.WindowOptions{
		Command: func(handoff string) []string {
			args := []string{exe, promptWindowCommand, "--prompt-timeout", p.timeout.String()}
			if p.noTUI {
				args = append(args, "--no-tui")
			}
			return append(args, "--", handoff)
		},
		// The window's own prompt times out first; this bounds the wait for
		// the window to answer at all.
		Timeout: p.timeout + tui.DefaultWindowStartTimeout,
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
	prompt := addPromptFlags(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.ArgsLenAtDash() != 0 || fs.NArg() != 1 {
		s.errorf("%s: want one hand-off directory after --", promptWindowCommand)
		return exitUsage
	}
	if code, ok := prompt.check(s, promptWindowCommand); !ok {
		return code
	}
	if err := tui.ServeWindow(ctx, fs.Arg(0), tui.NewPrompter(prompt.options(s))); err != nil {
		s.errorf("%v", err)
		if errors.Is(err, context.Canceled) {
			return exitInterrupted
		}
		return exitFailure
	}
	return exitOK
}
