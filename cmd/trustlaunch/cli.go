package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Exit codes: the one table every subcommand answers from (docs/user.md "Exit codes").
const (
	exitOK          = 0   // success
	exitFailure     = 1   // the operation failed (network, file, lint problems found)
	exitUsage       = 2   // the command line or the link is malformed
	exitRefused     = 3   // refused by policy (whitelist, user said No)
	exitWouldPrompt = 10  // whitelist explain only: the launch would ask the user
	exitInterrupted = 130 // interrupted by a signal
)

const exitCodesHelp = `Exit codes:
  0    success
  1    failure (network, file, problems found by a check command or doctor)
  2    usage error (bad flag, argument or link)
  3    refused by policy (whitelists, the user answered No, admin policy)
  10   whitelist explain only: the launch would prompt the user
  130  interrupted
Once open (or demo) has started the emulator, it exits with the emulator's
status.
`

// stdio is what a command may touch of the outside world; tests pass their own.
type stdio struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// secrets is the process's registry of secrets (the session token,
	// the outbound proxy's credentials, the descriptor URL's ticket): the
	// launcher and the connector add what they learn, and every line
	// written to stderr is scrubbed of them. Nil until registry is called.
	secrets *redact.Set
	// collect, when set, records help pages instead of printing them
	// (helpPages, for the man page and the shell completions).
	collect *helpCollector
	// said keeps the error and hint lines written on stderr, and told is
	// set once the user has been told of this run's failure where stderr
	// is not seen, or needs no telling: see tellIfSilent.
	said []string
	told bool
}

// registry returns the process's registry of secrets, made on first use.
func (s *stdio) registry() *redact.Set {
	if s.secrets == nil {
		s.secrets = &redact.Set{}
	}
	return s.secrets
}

// errorf prints "trustlaunch: error: ..." on stderr.
func (s *stdio) errorf(format string, args ...any) { s.line("error", format, args...) }

// hintf prints "trustlaunch: hint: ..." on stderr, after an error.
func (s *stdio) hintf(format string, args ...any) { s.line("hint", format, args...) }

// warnf prints "trustlaunch: warning: ..." on stderr.
func (s *stdio) warnf(format string, args ...any) { s.line("warning", format, args...) }

// logf prints a log line of the launcher or the connector on stderr,
// "trustlaunch: ...", made inert as every line of ours is: parts of it
// (addresses, status lines, library errors) come from the network.
func (s *stdio) logf(format string, args ...any) {
	fmt.Fprintf(s.stderr, "trustlaunch: %s\n", s.clean(fmt.Sprintf(format, args...)))
}

// line prints one message line. Messages carry text from the network (a
// certificate's names in a TLS error, the start of a proxy's answer):
// whatever a library left unsanitized is made inert here, the last stop
// before the terminal.
func (s *stdio) line(kind, format string, args ...any) {
	msg := s.secrets.Scrub(fmt.Sprintf(format, args...))
	if kind == "error" || kind == "hint" {
		s.said = append(s.said, msg)
	}
	fmt.Fprintf(s.stderr, "trustlaunch: %s: %s\n", kind, safetext.Inert(msg))
}

// clean is the last lock on a line for stderr: every spelling of the
// process's secrets scrubbed, then made inert.
func (s *stdio) clean(msg string) string { return safetext.Inert(s.secrets.Scrub(msg)) }

// command is one row of the subcommand table.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, s *stdio, args []string) int
}

// commands is the hand-written subcommand table; order is the order in --help.
func commands() []command {
	return []command{
		{"open", "open a trustlaunch:// link (what the browser runs)", cmdOpen},
		{"demo", "run the whole flow against an embedded portal, proxy and host", cmdDemo},
		{"connect", "open a TLS tunnel to a host through the security proxy", cmdConnect},
		{"whitelist", "inspect and edit the trusted-server lists", cmdWhitelist},
		{"policy", "lint the admin policy (proxies, destinations, publishers)", cmdPolicy},
		{"profiles", "list the emulator profiles; lint profiles.toml", cmdProfiles},
		{"descriptor", "make publisher keys; sign and verify launch descriptors", cmdDescriptor},
		{"token", "issue and check session tokens (portals, proxies)", cmdToken},
		{"register", "make this binary the handler for trustlaunch:// links", cmdRegister},
		{"unregister", "remove what register wrote", cmdUnregister},
		{"doctor", "check this machine for what a launch needs; write a support bundle", cmdDoctor},
		{"log", "show recent launches from the audit log", cmdLog},
		{"completion", "print a shell completion script: bash, zsh, fish, powershell", cmdCompletion},
		{"version", "print the version, commit, Go version and platform", cmdVersion},
	}
}

const mainUsage = `trustlaunch opens terminal sessions from "Launch session" links on trusted
company portals, through a TLS tunnel to the security proxy.

Usage:
  trustlaunch COMMAND [flags] [arguments]

Commands:
%s
Run "trustlaunch help COMMAND" (or "trustlaunch COMMAND --help") for a
command's flags and examples.

Examples:
  trustlaunch demo
  trustlaunch whitelist explain https://portal.example.com/launch/123
  trustlaunch whitelist check /etc/trustlaunch/whitelist.txt

%s`

// topPage is trustlaunch's own help page, its commands from the table.
func topPage() helpPage {
	var b strings.Builder
	p := helpPage{}
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-11s %s\n", c.name, c.summary)
		p.subs = append(p.subs, helpEntry{c.name, c.summary})
	}
	p.text = fmt.Sprintf(mainUsage, b.String(), exitCodesHelp)
	return p
}

// run is main without the process: it returns an exit code from the table.
func run(ctx context.Context, args []string, s *stdio) int {
	if len(args) == 0 {
		s.showHelp(s.stderr, topPage())
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		s.showHelp(s.stdout, topPage())
		return exitOK
	case "help":
		return cmdHelp(ctx, s, args[1:])
	case "-v", "--version":
		return cmdVersion(ctx, s, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, s, args[1:])
		}
	}
	switch args[0] {
	case promptWindowCommand:
		return cmdPromptWindow(ctx, s, args[1:])
	case messageWindowCommand:
		return cmdMessageWindow(ctx, s, args[1:])
	case inTerminalCommand:
		return cmdInTerminal(ctx, s, args[1:])
	case demoLinkCommand:
		return cmdDemoLink(ctx, s, args[1:])
	case pacCommand:
		return cmdPAC(ctx, s, args[1:])
	}
	if strings.Contains(args[0], "://") {
		// What a browser runs when it was given this program's path rather
		// than the registered command (Firefox's Handlers policy with a
		// "path"). The link is not shown: its query holds the ticket.
		s.errorf("a trustlaunch:// link was given as the command; the handler must run \"trustlaunch open -- URL\"")
		s.hintf("register the handler again with \"trustlaunch register\"; a browser policy that names trustlaunch's path (Firefox's Handlers \"path\") must use the system default instead")
		tellIfSilent(ctx, s, exitUsage)
		return exitUsage
	}
	s.errorf("unknown command %s", safetext.Quote(args[0]))
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if m := suggest(args[0], names); len(m) > 0 {
		s.hintf("did you mean %s?", orList(prefixed("trustlaunch ", m)))
	} else {
		s.hintf("run \"trustlaunch --help\" for the list of commands")
	}
	return exitUsage
}

// newFlagSet returns a flag set that reports errors instead of exiting, prints
// --help to stdout, and refuses a repeated flag (see parseFlags). name is
// the command as typed after trustlaunch ("whitelist explain"), help its
// page (help.go says its shape).
func newFlagSet(name, help string, s *stdio) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() { s.showHelp(s.stdout, helpPage{path: name, text: help, flags: fs}) }
	return fs
}

// parseFlags parses args, handling --help and usage errors uniformly. It
// returns ok=false with the exit code to use when the command must stop.
func parseFlags(fs *pflag.FlagSet, args []string, s *stdio) (code int, ok bool) {
	seen := map[string]bool{}
	// pflag accepts a repeated scalar flag silently (the last one wins); a
	// launcher must not, because "--x=safe ... --x=evil" hides intent.
	// Slice flags (--pin) are meant to repeat.
	err := fs.ParseAll(args, func(f *pflag.Flag, value string) error {
		if seen[f.Name] && !strings.HasSuffix(f.Value.Type(), "Slice") {
			return fmt.Errorf("flag --%s given more than once", f.Name)
		}
		seen[f.Name] = true
		return fs.Set(f.Name, value)
	})
	var unknown *pflag.NotExistError
	switch {
	case errors.As(err, &unknown):
		unknownFlag(s, fs, unknown)
		return exitUsage, false
	case errors.Is(err, pflag.ErrHelp):
		// pflag has already called fs.Usage for --help and -h; calling it
		// again here printed the usage twice.
		return exitOK, false
	case err != nil:
		s.errorf("%s: %v", fs.Name(), err)
		s.hintf("run \"trustlaunch %s --help\"", fs.Name())
		return exitUsage, false
	}
	return 0, true
}
