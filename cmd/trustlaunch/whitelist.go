package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/plural"
	"github.com/trustlaunch/trustlaunch/link"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// whitelistGroup is "trustlaunch whitelist".
var whitelistGroup = group{
	name: "whitelist",
	about: `Inspect and edit the trusted-server lists: the admin list that
administrators push, and your user list, which answering Always adds to.
`,
	more: `An entry is a host name, IPv4 address or [IPv6] address, optionally :PORT.
A bare entry matches that exact host on any port, not its subdomains.

Examples:
  trustlaunch whitelist check ./whitelist.txt
  trustlaunch whitelist add portal.example.com
  trustlaunch whitelist explain 'trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fs%2F1'
`,
	subs: []subcommand{
		whitelistCommand{name: "paths", json: true, summary: "where the lists and the admin policy are, and whether they pass the ownership check", help: wlPathsHelp, flags: allLists, run: wlPaths}.subcommand(),
		whitelistCommand{name: "show", json: true, summary: "the effective lists and mode, each entry with its file and line", help: wlShowHelp, flags: allLists, run: wlShow}.subcommand(),
		whitelistCommand{name: "check", json: true, summary: "lint a list before pushing it to machines", help: wlCheckHelp, args: []string{"FILE"}, run: wlCheck}.subcommand(),
		whitelistCommand{name: "add", summary: "add a server to your user list", help: wlAddHelp, flags: userList, args: []string{"HOST[:PORT]"}, run: wlAdd}.subcommand(),
		whitelistCommand{name: "remove", summary: "remove a server from your user list", help: wlRemoveHelp, flags: userList, args: []string{"HOST[:PORT]"}, run: wlRemove}.subcommand(),
		whitelistCommand{name: "explain", json: true, summary: "run the decision for a descriptor URL or a link without prompting and print each step", help: wlExplainHelp, flags: allLists, args: []string{"URL"}, run: wlExplain}.subcommand(),
	},
}

const wlPathsHelp = `Show where the admin list, your user list and the admin policy are, whether
each exists, and whether it passes the ownership check.

Usage:
  trustlaunch whitelist paths [flags]

An admin list or admin policy that fails the check stops every launch; a
user list that fails it is ignored, so its servers are asked about. Each
failure is printed with its fix, and the exit status is 1.

Examples:
  trustlaunch whitelist paths
`

const wlShowHelp = `Show the effective mode and lists: each entry with the file and line it
comes from, the admin policy, and on Windows the Group Policy settings that
replace the files' own.

Usage:
  trustlaunch whitelist show [flags]

Invalid entries are shown as warnings and skipped, as a launch skips them.
Exit status 1 when the admin list or the admin policy cannot be used.

Examples:
  trustlaunch whitelist show
`

const wlCheckHelp = `Lint a whitelist file before pushing it to machines.

Usage:
  trustlaunch whitelist check [--json] FILE

check prints one FILE:LINE: message per problem and exits 1, or a summary
(FILE: ok, 2 entries, prompt mode) and exits 0. At launch, invalid entries
are skipped with a warning; check finds them before any user does.
Warnings (FILE:LINE: warning: ...) point at lines that are valid but
probably not meant, such as "portal example.com" (two entries, where a
dot was likely meant) or a single-label host; they leave the entries and
the exit status as they are.

The format: one or more entries per line, # starts a comment; UTF-8 with
or without BOM, or UTF-16 with BOM; CRLF or LF. An entry is a host name,
IPv4 address or [IPv6] address, optionally :PORT. A bare entry matches
that exact host on any port, not its subdomains. AllowAdminListOnly at the
top of an admin list refuses every server it does not list.

Examples:
  trustlaunch whitelist check ./whitelist.txt
  trustlaunch whitelist check /etc/trustlaunch/whitelist.txt
`

const wlAddHelp = `Add a server to your user list, as answering Always at the trust prompt does.

Usage:
  trustlaunch whitelist add [flags] HOST[:PORT]

HOST admits that exact host on any port, not its subdomains; HOST:PORT
only that port. The list is changed under a lock and replaced atomically.
The admin list is the administrator's: add never changes it.

Examples:
  trustlaunch whitelist add portal.example.com
  trustlaunch whitelist add reports.example.com:8443
`

const wlRemoveHelp = `Remove a server from your user list.

Usage:
  trustlaunch whitelist remove [flags] HOST[:PORT]

An entry is removed as written: removing reports.example.com:8443 leaves
reports.example.com in place. "trustlaunch whitelist show" lists the
entries. Exit status 1 when the entry is not in the list.

Examples:
  trustlaunch whitelist remove portal.example.com
`

const wlExplainHelp = `Run the decision a launch would make for a URL, without prompting, and print
each step.

Usage:
  trustlaunch whitelist explain [flags] URL

URL is a descriptor URL (https://...) or a whole trustlaunch:// link.
Nothing is fetched, nobody is asked and no list changes. The exit status
says what a launch would do: 0 launch without a prompt, 3 refuse, 10 ask
the user.

Examples:
  trustlaunch whitelist explain https://portal.example.com/launch/123
  trustlaunch whitelist explain 'trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fs%2F1'
`

// listPaths holds the two list locations and the admin policy's, from
// flags or the per-OS defaults.
type listPaths struct {
	admin, user, policy string
}

// addListFlags registers --admin-whitelist, --user-whitelist and
// --admin-policy on fs.
func addListFlags(fs *pflag.FlagSet) *listPaths {
	p := &listPaths{}
	fs.StringVar(&p.admin, "admin-whitelist", "", "use the admin list `FILE` instead of "+platform.AdminWhitelistPath()+" (still ownership-checked)")
	addUserListFlag(fs, p)
	fs.StringVar(&p.policy, "admin-policy", "", "use the admin policy `FILE` instead of "+platform.AdminPolicyPath()+" (still ownership-checked)")
	return p
}

// addUserListFlag registers --user-whitelist alone, for the subcommands
// that touch only the user list.
func addUserListFlag(fs *pflag.FlagSet, p *listPaths) {
	fs.StringVar(&p.user, "user-whitelist", "", "use the user list `FILE` instead of the one in your config directory")
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

// listFlags says which of the list flags a whitelist subcommand takes.
type listFlags int

const (
	noLists  listFlags = iota // check: reads the FILE it is given
	userList                  // add, remove: only the user list changes
	allLists                  // paths, show, explain: every list a launch reads
)

// whitelistCommand is a whitelist subcommand: its flags are the lists it
// reads, and it takes exactly len(args) arguments.
type whitelistCommand struct {
	name, summary, help string
	flags               listFlags
	json                bool     // it takes --json
	args                []string // names of its arguments, for the usage error
	run                 func(ctx context.Context, s *stdio, p *listPaths, out output, args []string) int
}

// output says how a command prints its result: text for a person, or
// with --json one object for a script (jsonout.go).
type output struct{ json bool }

func (c whitelistCommand) subcommand() subcommand {
	return subcommand{name: c.name, summary: c.summary, run: func(ctx context.Context, s *stdio, args []string) int {
		fs := newFlagSet("whitelist "+c.name, c.help, s)
		paths := &listPaths{}
		switch c.flags {
		case allLists:
			paths = addListFlags(fs)
		case userList:
			addUserListFlag(fs, paths)
		}
		var out output
		asJSON := &out.json
		if c.json {
			asJSON = addJSONFlag(fs)
		}
		if code, ok := parseFlags(fs, args, s); !ok {
			return code
		}
		if fs.NArg() != len(c.args) {
			s.errorf("whitelist %s: want %s, got %d", c.name, wantArgs(c.args), fs.NArg())
			s.hintf("run \"trustlaunch whitelist %s --help\"", c.name)
			return exitUsage
		}
		if err := paths.resolve(); err != nil {
			s.errorf("%v", err)
			return exitFailure
		}
		out.json = *asJSON
		return c.run(ctx, s, paths, out, fs.Args())
	}}
}

// wantArgs says what arguments a command takes: "no arguments",
// "1 argument (FILE)".
func wantArgs(names []string) string {
	if len(names) == 0 {
		return "no arguments"
	}
	return plural.Count(len(names), "argument", "arguments") + " (" + strings.Join(names, " ") + ")"
}

func cmdWhitelist(ctx context.Context, s *stdio, args []string) int {
	return whitelistGroup.run(ctx, s, args)
}

func wlPaths(_ context.Context, s *stdio, p *listPaths, out output, _ []string) int {
	if out.json {
		d := wlPathsDoc(p)
		return writeJSON(s, d, d.OK)
	}
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
			if pr.Warning {
				s.warnf("%s:%d: %s", src.Path, pr.Line, pr.Msg)
			} else {
				s.warnf("%s:%d: %s (skipped)", src.Path, pr.Line, pr.Msg)
			}
		}
	}
	return admin, user
}

func wlShow(_ context.Context, s *stdio, p *listPaths, out output, _ []string) int {
	if out.json {
		d := wlShowDoc(p)
		return writeJSON(s, d, d.OK)
	}
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
			fmt.Fprintf(s.stdout, "%s %s: %s\n", label, src.List.Path, plural.Count(len(src.List.Entries), "entry", "entries"))
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

// wlCheckJSON is whitelist check --json.
type wlCheckJSON struct {
	jsonHead
	File    string      `json:"file"`
	Mode    string      `json:"mode,omitempty"` // "prompt" or "AllowAdminListOnly"; absent when unreadable
	Entries []entryJSON `json:"entries"`
}

// entryJSON is one whitelist entry and the line of its file.
type entryJSON struct {
	Entry string `json:"entry"`
	Line  int    `json:"line"`
}

func wlCheck(ctx context.Context, s *stdio, _ *listPaths, out output, args []string) int {
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
	doc := wlCheckJSON{jsonHead: newHead("whitelist check"), File: path, Entries: []entryJSON{}}
	if err != nil {
		var fe *whitelist.FormatError
		if errors.As(err, &fe) {
			if out.json {
				doc.add(jsonProblem{File: path, Line: fe.Line, Severity: severityError, Message: fe.Msg})
				return writeJSON(s, doc, false)
			}
			fmt.Fprintln(s.stdout, fe.Error())
			return exitFailure
		}
		msg := readFailure(err)
		if out.json {
			doc.add(jsonProblem{File: path, Severity: severityError, Message: msg})
			return writeJSON(s, doc, false)
		}
		s.errorf("whitelist check: %s: %s", path, msg)
		return exitFailure
	}
	errs, warnings := 0, 0
	for _, pr := range probs {
		sev := severityError
		if pr.Warning {
			sev, warnings = severityWarning, warnings+1
		} else {
			errs++
		}
		doc.add(jsonProblem{File: path, Line: pr.Line, Severity: sev, Message: pr.Msg})
		if !out.json {
			fmt.Fprintf(s.stdout, "%s:%s\n", path, pr)
		}
	}
	doc.Mode = "prompt"
	if l.AdminOnly {
		doc.Mode = whitelist.Keyword
	}
	for _, e := range l.Entries {
		doc.Entries = append(doc.Entries, entryJSON{e.String(), e.Line})
	}
	// Warnings leave the exit status alone: the file means what it says,
	// and an intranet's short names are sometimes meant.
	doc.OK = errs == 0
	if out.json {
		return writeJSON(s, doc, doc.OK)
	}
	if errs > 0 {
		return exitFailure
	}
	warned := ""
	if warnings > 0 {
		warned = ", " + plural.Count(warnings, "warning", "warnings")
	}
	fmt.Fprintf(s.stdout, "%s: ok, %s, %s mode%s\n", path, plural.Count(len(l.Entries), "entry", "entries"), doc.Mode, warned)
	return exitOK
}

// readFailure says in a few words why a file given on the command line
// could not be read: one line naming the file as given, not "stat PATH:
// ...".
func readFailure(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "cannot read it: permission denied"
	case errors.As(err, &pe):
		return fmt.Sprintf("cannot read it: %v", pe.Err)
	}
	return err.Error()
}

func wlAdd(ctx context.Context, s *stdio, p *listPaths, _ output, args []string) int {
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

func wlRemove(ctx context.Context, s *stdio, p *listPaths, _ output, args []string) int {
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

func wlExplain(ctx context.Context, s *stdio, p *listPaths, out output, args []string) int {
	target := args[0]
	if strings.HasPrefix(strings.ToLower(target), "trustlaunch:") {
		u, err := link.DescriptorURL(target)
		if err != nil {
			s.errorf("%v", err)
			return exitUsage
		}
		target = u
	}
	var admin, user whitelist.Source
	if out.json {
		admin, user = policy.LoadAdmin(p.admin), whitelist.LoadUser(p.user)
	} else {
		admin, user = loadLists(s, p)
	}
	d := whitelist.Decide(ctx, whitelist.Input{LaunchURL: target, Admin: admin, User: user, Explain: true})
	if out.json {
		writeJSON(s, wlExplainDoc(d, admin, user), true)
		return explainCode(d)
	}
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

// explainCode is whitelist explain's exit status for a decision.
func explainCode(d whitelist.Decision) int {
	switch {
	case d.Proceed:
		return exitOK
	case d.Step == whitelist.StepWouldPrompt:
		return exitWouldPrompt
	}
	return exitRefused
}
