package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/link"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

const whitelistUsage = `Inspect and edit the trusted-server lists.

Usage:
  trustlaunch whitelist paths
  trustlaunch whitelist show
  trustlaunch whitelist check FILE
  trustlaunch whitelist add HOST[:PORT]
  trustlaunch whitelist remove HOST[:PORT]
  trustlaunch whitelist explain URL

Subcommands:
  paths    where the admin and user lists are, whether they exist, and
           whether the admin list passes the ownership check
  show     the effective lists and mode, each entry with its file and line
  check    lint a list before pushing it to machines; exit 0 when clean,
           1 with one FILE:LINE: message per problem
  add      add a server to your user list
  remove   remove a server from your user list
  explain  run the decision for a descriptor URL or a link without
           prompting and print each step: exit 0 would launch, 3
           refused, 10 would prompt

Every subcommand takes --admin-whitelist PATH, --user-whitelist PATH and
--admin-policy PATH to use other files (for tests and packaging). The
ownership check still applies to an overridden admin list and policy.

An entry is a host name, IPv4 address or [IPv6] address, optionally :PORT.
A bare entry matches that exact host on any port, not its subdomains.

Examples:
  trustlaunch whitelist check ./whitelist.txt
  trustlaunch whitelist add portal.example.com
  trustlaunch whitelist explain 'trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fs%2F1'
`

// listPaths holds the two list locations and the admin policy's, from
// flags or the per-OS defaults.
type listPaths struct {
	admin, user, policy string
}

// addListFlags registers --admin-whitelist and --user-whitelist on fs.
func addListFlags(fs *pflag.FlagSet) *listPaths {
	p := &listPaths{}
	fs.StringVar(&p.admin, "admin-whitelist", "", "use this admin list instead of "+platform.AdminWhitelistPath()+" (still ownership-checked)")
	fs.StringVar(&p.user, "user-whitelist", "", "use this user list instead of the one in your config directory")
	fs.StringVar(&p.policy, "admin-policy", "", "use this admin policy instead of "+platform.AdminPolicyPath()+" (still ownership-checked)")
	return p
}

// resolve fills in the per-OS defaults.
func (p *listPaths) resolve() error {
	if p.admin == "" {
		p.admin = platform.AdminWhitelistPath()
	}
	if p.policy == "" {
		p.policy = platform.AdminPolicyPath()
	}
	if p.user == "" {
		u, err := platform.UserWhitelistPath()
		if err != nil {
			return err
		}
		p.user = u
	}
	return nil
}

type subcommand struct {
	name  string
	nargs int // exact number of positional arguments
	args  string
	run   func(ctx context.Context, s *stdio, p *listPaths, args []string) int
}

func whitelistSubcommands() []subcommand {
	return []subcommand{
		{"paths", 0, "", wlPaths},
		{"show", 0, "", wlShow},
		{"check", 1, "FILE", wlCheck},
		{"add", 1, "HOST[:PORT]", wlAdd},
		{"remove", 1, "HOST[:PORT]", wlRemove},
		{"explain", 1, "URL", wlExplain},
	}
}

func cmdWhitelist(ctx context.Context, s *stdio, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(s.stderr, whitelistUsage)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(s.stdout, whitelistUsage)
		return exitOK
	}
	for _, sub := range whitelistSubcommands() {
		if sub.name != args[0] {
			continue
		}
		fs := newFlagSet("whitelist "+sub.name, whitelistUsage, s)
		paths := addListFlags(fs)
		if code, ok := parseFlags(fs, args[1:], s); !ok {
			return code
		}
		if fs.NArg() != sub.nargs {
			s.errorf("whitelist %s: want %d argument(s) %s, got %d", sub.name, sub.nargs, sub.args, fs.NArg())
			return exitUsage
		}
		if err := paths.resolve(); err != nil {
			s.errorf("%v", err)
			return exitFailure
		}
		return sub.run(ctx, s, paths, fs.Args())
	}
	s.errorf("whitelist: unknown subcommand %s", safetext.Quote(args[0]))
	s.hintf("run \"trustlaunch whitelist --help\"")
	return exitUsage
}

func wlPaths(_ context.Context, s *stdio, p *listPaths, _ []string) int {
	code := exitOK
	fmt.Fprintf(s.stdout, "admin list: %s\n", p.admin)
	switch err := platform.CheckAdminFile(p.admin); {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(s.stdout, "  does not exist (prompt mode)\n")
	case err != nil:
		state := checkedState(err, "does not exist, but the directories above it are not safe")
		fmt.Fprintf(s.stdout, "  %s; ownership check FAILED: %v\n", state, err)
		if fix := fixFor(err); fix != "" {
			fmt.Fprintf(s.stdout, "  fix: %s\n", fix)
		}
		code = exitFailure
	default:
		fmt.Fprintf(s.stdout, "  exists; ownership check passed\n")
	}
	fmt.Fprintf(s.stdout, "user list: %s\n", p.user)
	switch err := platform.CheckUserFile(p.user); {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(s.stdout, "  does not exist\n")
	case err != nil:
		state := checkedState(err, "does not exist, and its directory is not safe")
		fmt.Fprintf(s.stdout, "  %s; ownership check FAILED, so it is ignored: %v\n", state, err)
		if fix := fixFor(err); fix != "" {
			fmt.Fprintf(s.stdout, "  fix: %s\n", fix)
		}
		code = exitFailure
	default:
		fmt.Fprintf(s.stdout, "  exists; ownership check passed\n")
	}
	if !showPolicy(s, p.policy) {
		code = exitFailure
	}
	if !showGroupPolicy(s) {
		code = exitFailure
	}
	return code
}

// checkedState says whether a file whose check failed is there ("exists")
// or not (missing). A missing file below an unsafe directory still fails the
// check, since whoever can write the directory could have removed it; only
// the words differ.
func checkedState(err error, missing string) string {
	if u := (*platform.UnsafeFileError)(nil); errors.As(err, &u) && u.Missing {
		return missing
	}
	return "exists"
}

// fixFor returns the remedy for a list that cannot be used: the one its
// error carries (an unsafe file, a bad Group Policy value), or what to do
// about a list we may not read.
func fixFor(err error) string {
	if h := hintOf(err); h != "" {
		return h
	}
	if errors.Is(err, fs.ErrPermission) {
		return "trustlaunch runs as you and must be able to read the list: make it readable (an admin list stays owned by root, mode 0644), or ask your administrator"
	}
	return ""
}

// loadLists loads both lists and prints their problems as warnings. A user
// list that cannot be used is ignored (the prompt decides) and said so in
// one line that names the file, what is wrong and the fix; the admin list's
// error is the caller's, since it stops the launch.
func loadLists(s *stdio, p *listPaths) (admin, user whitelist.Source) {
	admin = policy.LoadAdmin(p.admin) // the file, with Group Policy's settings in place of its own
	user = whitelist.LoadUser(p.user)
	if user.Err != nil {
		fix := fixFor(user.Err)
		if fix != "" {
			fix = "; fix: " + fix
		}
		s.warnf("ignoring your user list, so the servers in it will be asked about: %v%s", user.Err, fix)
	}
	for _, src := range []whitelist.Source{admin, user} {
		for _, pr := range src.Problems {
			s.warnf("%s:%d: %s (skipped)", src.Path, pr.Line, pr.Msg)
		}
	}
	return admin, user
}

func wlShow(_ context.Context, s *stdio, p *listPaths, _ []string) int {
	admin, user := loadLists(s, p)
	if admin.Err != nil {
		s.errorf("admin list %v", admin.Err)
		if fix := fixFor(admin.Err); fix != "" {
			s.hintf("%s", fix)
		}
		return exitFailure
	}
	modeFrom := "" // where the mode came from, when not the admin file
	if admin.List != nil && admin.List.ModeFrom != "" {
		modeFrom = " from " + admin.List.ModeFrom
	}
	switch {
	case admin.List != nil && admin.List.AdminOnly:
		fmt.Fprintf(s.stdout, "mode: %s (only servers in the admin list may launch)%s\n", whitelist.Keyword, modeFrom)
	default:
		fmt.Fprintf(s.stdout, "mode: prompt (servers in neither list are asked about)%s\n", modeFrom)
	}
	show := func(label string, src whitelist.Source) {
		switch {
		case src.Err != nil:
			fmt.Fprintf(s.stdout, "%s %s: unusable: %v\n", label, src.Path, src.Err)
		case src.List == nil:
			fmt.Fprintf(s.stdout, "%s %s: does not exist\n", label, src.Path)
		default:
			// List.Path is Group Policy's key when its entries replace the file's.
			fmt.Fprintf(s.stdout, "%s %s: %d entries\n", label, src.List.Path, len(src.List.Entries))
			for _, e := range src.List.Entries {
				fmt.Fprintf(s.stdout, "  %-40s %s\n", e, src.List.Locate(e))
			}
		}
	}
	show("admin list", admin)
	show("user list", user)
	ok := showPolicy(s, p.policy)
	if !showGroupPolicy(s) || !ok {
		return exitFailure
	}
	return exitOK
}

func wlCheck(ctx context.Context, s *stdio, _ *listPaths, args []string) int {
	path := args[0]
	type read struct {
		l     *whitelist.List
		probs []whitelist.Problem
	}
	r, err := interruptible(ctx, func() (read, error) {
		l, probs, err := whitelist.ReadFile(path)
		return read{l, probs}, err
	})
	l, probs := r.l, r.probs
	if ctx.Err() != nil {
		s.errorf("whitelist check: interrupted")
		return exitInterrupted
	}
	if err != nil {
		var fe *whitelist.FormatError
		var pe *fs.PathError
		switch {
		case errors.As(err, &fe):
			fmt.Fprintln(s.stdout, fe.Error())
		case errors.Is(err, fs.ErrNotExist):
			// One line naming the file as given, not "stat PATH: ...".
			s.errorf("whitelist check: %s: no such file", path)
		case errors.Is(err, fs.ErrPermission):
			s.errorf("whitelist check: %s: cannot read it: permission denied", path)
		case errors.As(err, &pe):
			s.errorf("whitelist check: %s: cannot read it: %v", path, pe.Err)
		default:
			s.errorf("whitelist check: %s: %v", path, err)
		}
		return exitFailure
	}
	for _, pr := range probs {
		fmt.Fprintf(s.stdout, "%s:%d: %s\n", path, pr.Line, pr.Msg)
	}
	if len(probs) > 0 {
		return exitFailure
	}
	mode := "prompt mode"
	if l.AdminOnly {
		mode = whitelist.Keyword + " mode"
	}
	fmt.Fprintf(s.stdout, "%s: ok, %d entries, %s\n", path, len(l.Entries), mode)
	return exitOK
}

func wlAdd(ctx context.Context, s *stdio, p *listPaths, args []string) int {
	e, err := whitelist.ParseEntry(args[0])
	if err != nil {
		s.errorf("whitelist add: %v", err)
		return exitUsage
	}
	changed, err := whitelist.AddToUserList(ctx, p.user, e)
	if err != nil {
		s.errorf("whitelist add: %v", err)
		return exitFailure
	}
	if changed {
		fmt.Fprintf(s.stdout, "added %s to %s\n", e, p.user)
	} else {
		fmt.Fprintf(s.stdout, "%s is already admitted by %s\n", e, p.user)
	}
	return exitOK
}

func wlRemove(ctx context.Context, s *stdio, p *listPaths, args []string) int {
	e, err := whitelist.ParseEntry(args[0])
	if err != nil {
		s.errorf("whitelist remove: %v", err)
		return exitUsage
	}
	changed, err := whitelist.RemoveFromUserList(ctx, p.user, e)
	if err != nil {
		s.errorf("whitelist remove: %v", err)
		return exitFailure
	}
	if !changed {
		s.errorf("whitelist remove: %s is not in %s", e, p.user)
		s.hintf("entries are removed exactly as written (with or without :PORT); see \"trustlaunch whitelist show\"")
		return exitFailure
	}
	fmt.Fprintf(s.stdout, "removed %s from %s\n", e, p.user)
	return exitOK
}

func wlExplain(ctx context.Context, s *stdio, p *listPaths, args []string) int {
	target := args[0]
	if strings.HasPrefix(strings.ToLower(target), "trustlaunch:") {
		u, err := link.DescriptorURL(target)
		if err != nil {
			s.errorf("%v", err)
			return exitUsage
		}
		target = u
	}
	admin, user := loadLists(s, p)
	d := whitelist.Decide(ctx, whitelist.Input{LaunchURL: target, Admin: admin, User: user, Explain: true})
	for _, line := range d.Trace {
		fmt.Fprintln(s.stdout, line)
	}
	switch {
	case d.Proceed:
		fmt.Fprintf(s.stdout, "result: would launch without a prompt (%s)\n", d.Step)
		return exitOK
	case d.Step == whitelist.StepWouldPrompt:
		fmt.Fprintf(s.stdout, "result: would ask the user about %s\n", d.Origin)
		return exitWouldPrompt
	default:
		fmt.Fprintf(s.stdout, "result: refused (%s): %s\n", d.Step, d.Message)
		return exitRefused
	}
}
