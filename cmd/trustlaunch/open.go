package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/tui"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

const openUsage = `Open a trustlaunch:// link. This is the command the browser runs.

Usage:
  trustlaunch open [--no-tui] -- 'trustlaunch://launch?url=<https URL>'

The URL must come after "--" and be the only argument, so that a crafted
link can never be read as a flag. trustlaunch decides whether the link's
server may launch anything here: the admin list, then your user list, then
a prompt (Always / Yes / No, default No).

Examples:
  trustlaunch open -- 'trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fs%2F1'
  trustlaunch open --no-tui -- 'trustlaunch://launch?url=...'
`

// openOptions are the flags of `open`.
type openOptions struct {
	noTUI   bool
	timeout time.Duration
	paths   *listPaths
}

func cmdOpen(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("open", openUsage, s)
	var o openOptions
	fs.BoolVar(&o.noTUI, "no-tui", false, "ask with a plain text prompt instead of the full-screen one")
	fs.DurationVar(&o.timeout, "prompt-timeout", 60*time.Second, "answer No when the prompt gets no answer in this time")
	o.paths = addListFlags(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	// Exactly one argument, and it must follow "--": URL-handler argument
	// injection (a link that smuggles "--flag") is the classic launcher attack.
	if fs.ArgsLenAtDash() != 0 || fs.NArg() != 1 {
		s.errorf("open: want exactly one URL after \"--\", as in: trustlaunch open -- 'trustlaunch://launch?url=...'")
		return exitUsage
	}
	if o.timeout <= 0 {
		s.errorf("open: --prompt-timeout must be positive")
		return exitUsage
	}
	target, err := launcher.ParseLaunchURL(fs.Arg(0))
	if err != nil {
		s.errorf("open: %v", err)
		return exitUsage
	}
	if err := o.paths.resolve(); err != nil {
		s.errorf("open: %v", err)
		return exitFailure
	}

	admin, user := loadLists(s, o.paths)
	d := whitelist.Decide(ctx, whitelist.Input{LaunchURL: target, Admin: admin, User: user, Prompter: newPrompter(s, o)})
	if ctx.Err() != nil || errors.Is(d.Err, tui.ErrInterrupted) {
		s.errorf("open: interrupted; nothing was launched")
		return exitInterrupted
	}
	if !d.Proceed {
		s.errorf("%s", d.Message)
		if fix := fixFor(d.Err); fix != "" {
			s.hintf("%s", fix)
		}
		notifyIfNoTerminal(ctx, d.Message)
		return exitRefused
	}
	if d.Step == whitelist.StepPromptAlways {
		entry := whitelist.EntryFor(d.Origin)
		if _, err := whitelist.AddToUserList(ctx, o.paths.user, entry); err != nil {
			// The user said Always, which includes "proceed"; failing to
			// remember it only means they are asked again next time.
			s.warnf("could not add %s to your whitelist: %v", entry, err)
		} else {
			fmt.Fprintf(s.stderr, "trustlaunch: added %s to %s\n", entry, o.paths.user)
		}
	}
	fmt.Fprintf(s.stdout, "trusted %s (%s)\n", d.Origin, d.Step)
	// The descriptor fetch, tunnel and emulator are the launch issue's work;
	// until then `open` stops after the decision and says so.
	fmt.Fprintln(s.stdout, "trustlaunch: this build stops after the trust decision; nothing was launched")
	return exitOK
}

// notifyIfNoTerminal shows msg as a desktop notification when trustlaunch runs
// without a terminal (started by a browser), where nobody would read stderr.
// The window prompter notifies about its own failures.
func notifyIfNoTerminal(ctx context.Context, msg string) {
	if tui.CheckTerminal("") == nil {
		return
	}
	_ = tui.NotifySend(ctx, os.Environ(), "trustlaunch: launch refused", msg)
}
