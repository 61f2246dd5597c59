package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/plural"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/launcher"
)

// profilesGroup is "trustlaunch profiles".
var profilesGroup = group{
	name: "profiles",
	about: `List the emulator profiles a launch descriptor can name, and lint a
profiles.toml before pushing it to machines.
`,
	more: `A profile is defined on this machine: built in, in the administrator's
profiles.toml, or in yours. A descriptor names a profile and nothing more.

Examples:
  trustlaunch profiles list
  trustlaunch profiles check ./profiles.toml
`,
	subs: []subcommand{
		{"list", "the effective profiles, where each comes from, and which cannot be used", profilesList},
		{"check", "lint a profiles.toml before pushing it to machines", profilesCheck},
	},
}

func cmdProfiles(ctx context.Context, s *stdio, args []string) int {
	return profilesGroup.run(ctx, s, args)
}

const profilesListHelp = `Show the profiles a launch can use: the built-in ones, then the
administrator's profiles.toml, then yours, each with the file and line
it comes from, its command, and whether that program is installed.

Usage:
  trustlaunch profiles list [flags]

A profile with a problem in its definition cannot be launched and is
listed with the problem; the other profiles still work. An administrator's
profile wins over yours of the same name. Exit status 1 when a profile
cannot be used or the administrator's file is unusable (which stops every
launch).

Examples:
  trustlaunch profiles list
  trustlaunch profiles list --json
`

const profilesCheckHelp = `Lint a profiles.toml before pushing it to machines.

Usage:
  trustlaunch profiles check [--user] FILE

check prints one FILE:LINE: message per problem and exits 1, or a summary
(FILE: ok, 2 profiles) and exits 0. At launch, a profile with a problem
cannot be used and the others can; a file that is not TOML stops every
launch. The file is read as an administrator's (listen_port allowed);
--user reads it as a user's.

The format:
  [profile.payroll]
  command = ["c3270", "-model", "3279-4-E", "{host}:{port}"]
  terminal = true        # runs in a terminal window when there is none
  listen_port = 23023    # administrator's file only

Examples:
  trustlaunch profiles check ./profiles.toml
`

// profileJSON is one profile in profiles list and check --json.
type profileJSON struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`              // command, raw or none
	Source  string   `json:"source"`            // "built-in" or FILE:LINE
	Command []string `json:"command,omitempty"` // the template, placeholders unexpanded
	// Program is where argv[0] was found, "" when it was not (see
	// Problem) or the profile runs none.
	Program    string `json:"program,omitempty"`
	Terminal   bool   `json:"terminal"`
	ListenPort int    `json:"listen_port,omitempty"`
	// Problem says why the profile cannot be launched.
	Problem string `json:"problem,omitempty"`
}

func newProfileJSON(p *launcher.Profile) profileJSON {
	return profileJSON{Name: p.Name, Kind: p.Kind.String(), Source: p.Source, Command: p.Argv, Terminal: p.Terminal, ListenPort: p.ListenPort}
}

// profilesListJSON is profiles list --json.
type profilesListJSON struct {
	jsonHead
	Files    []profileFileJSON `json:"files"`
	Profiles []profileJSON     `json:"profiles"`
}

// profileFileJSON is one profiles.toml and what became of it.
type profileFileJSON struct {
	Path  string `json:"path"`
	Owner string `json:"owner"` // "admin" or "user"
	// State is "read", "absent", "ignored" (a user file that failed the
	// ownership rule) or "unusable" (an admin file that stops every launch).
	State string `json:"state"`
}

// profilePaths are the profiles files from flags; empty for the defaults.
type profilePaths struct{ admin, user string }

func addProfileFlags(fs *pflag.FlagSet) *profilePaths {
	p := &profilePaths{}
	fs.StringVar(&p.admin, "admin-profiles", "", "use the admin profiles `FILE` instead of "+launcher.DefaultAdminProfilesFile()+" (still ownership-checked)")
	fs.StringVar(&p.user, "user-profiles", "", "use your profiles `FILE` instead of the one in your config directory")
	return p
}

// profilesReport is what profiles list and doctor show: the profiles,
// each with its program looked up, and the problems.
type profilesReport struct {
	doc profilesListJSON
	err error // the admin file is unusable: every launch stops
}

// loadProfilesReport loads the profiles as a launch does and looks up
// each command's program.
func loadProfilesReport(p profilePaths) profilesReport {
	r := profilesReport{doc: profilesListJSON{jsonHead: newHead("profiles list"), Files: []profileFileJSON{}, Profiles: []profileJSON{}}}
	ps, err := launcher.LoadProfiles(launcher.ProfileOptions{AdminFile: p.admin, UserFile: p.user})
	if err != nil {
		r.err = err
		path := p.admin
		if path == "" {
			path = launcher.DefaultAdminProfilesFile()
		}
		var pe *launcher.ProfileFileError
		prob := jsonProblem{Severity: severityError, Message: "every launch stops: " + err.Error(), Fix: fixFor(err)}
		if errors.As(err, &pe) {
			prob.File, prob.Line, prob.Message = pe.Path, pe.Line, "every launch stops: "+pe.Msg
		}
		r.doc.add(prob)
		r.doc.Files = append(r.doc.Files, profileFileJSON{Path: path, Owner: "admin", State: "unusable"})
		return r
	}
	for _, f := range ps.Files {
		owner, state := "user", "read"
		if f.Admin {
			owner = "admin"
		}
		switch {
		case f.Ignored != "":
			state = "ignored"
			r.doc.add(jsonProblem{File: f.Path, Severity: severityWarning, Message: f.Ignored})
		case f.Absent:
			state = "absent"
		}
		r.doc.Files = append(r.doc.Files, profileFileJSON{Path: f.Path, Owner: owner, State: state})
	}
	for _, pr := range ps.All() {
		j := newProfileJSON(pr)
		if pr.Kind == launcher.ProfileCommand {
			if path, err := exec.LookPath(pr.Argv[0]); err == nil {
				j.Program = path
			} else {
				j.Problem = "program " + safetext.Quote(pr.Argv[0]) + " not found"
				if hint := launcher.InstallHint(pr.Argv[0]); hint != "" {
					j.Problem += "; " + hint
				}
			}
		}
		r.doc.Profiles = append(r.doc.Profiles, j)
	}
	for _, e := range ps.Broken() {
		r.doc.Profiles = append(r.doc.Profiles, profileJSON{Name: e.Profile, Source: fmt.Sprintf("%s:%d", e.Path, e.Line), Problem: e.Msg})
	}
	for _, e := range ps.Problems {
		r.doc.add(profileProblem(e))
	}
	return r
}

func profilesList(_ context.Context, s *stdio, args []string) int {
	fs := newFlagSet("profiles list", profilesListHelp, s)
	paths := addProfileFlags(fs)
	asJSON := addJSONFlag(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 {
		s.errorf("profiles list takes no arguments")
		return exitUsage
	}
	r := loadProfilesReport(*paths)
	// A program that is not installed is reported, not counted: a machine
	// has the emulators its users need, not every built-in's.
	r.doc.OK = r.err == nil
	for _, p := range r.doc.Problems {
		if p.Severity == severityError {
			r.doc.OK = false
		}
	}
	if *asJSON {
		return writeJSON(s, r.doc, r.doc.OK)
	}
	if r.err != nil {
		s.errorf("profiles: %v", r.err)
		if fix := fixFor(r.err); fix != "" {
			s.hintf("%s", fix)
		}
		return exitFailure
	}
	for _, f := range r.doc.Files {
		fmt.Fprintf(s.stdout, "%s profiles: %s (%s)\n", f.Owner, f.Path, f.State)
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tCOMMAND")
	for _, p := range r.doc.Profiles {
		what := strings.Join(quoteArgs(p.Command), " ")
		switch {
		case p.Kind == "":
			what = "CANNOT BE USED: " + p.Problem
		case p.Kind != launcher.ProfileCommand.String():
			what = "(" + p.Kind + ": runs no command)"
		case p.Problem != "":
			what += "  (" + p.Problem + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Source, safetext.Sanitize(what))
	}
	tw.Flush()
	for _, p := range r.doc.Problems {
		if p.Severity == severityWarning {
			s.warnf("%s", p.Message)
			continue
		}
		fmt.Fprintf(s.stdout, "%s:%d: %s\n", p.File, p.Line, p.Message)
	}
	if !r.doc.OK {
		return exitFailure
	}
	return exitOK
}

// profileProblem is a profiles.toml problem for --json: its file and
// line in their fields, the profile in the message.
func profileProblem(e *launcher.ProfileFileError) jsonProblem {
	msg := e.Msg
	if e.Profile != "" {
		msg = "profile " + safetext.Quote(e.Profile) + ": " + msg
	}
	return jsonProblem{File: e.Path, Line: e.Line, Severity: severityError, Message: msg}
}

// quoteArgs quotes the arguments that hold spaces, for a readable command.
func quoteArgs(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = safetext.Quote(a)
		}
		out[i] = a
	}
	return out
}

// profilesCheckJSON is profiles check --json.
type profilesCheckJSON struct {
	jsonHead
	File     string        `json:"file"`
	Profiles []profileJSON `json:"profiles"`
}

func profilesCheck(ctx context.Context, s *stdio, args []string) int {
	flags := newFlagSet("profiles check", profilesCheckHelp, s)
	user := flags.Bool("user", false, "read FILE as a user's profiles.toml (no listen_port)")
	asJSON := addJSONFlag(flags)
	if code, ok := parseFlags(flags, args, s); !ok {
		return code
	}
	if flags.NArg() != 1 {
		s.errorf("profiles check: want 1 argument (FILE), got %d", flags.NArg())
		s.hintf("run \"trustlaunch profiles check --help\"")
		return exitUsage
	}
	path := flags.Arg(0)
	type read struct {
		ps    []*launcher.Profile
		probs []*launcher.ProfileFileError
	}
	r, err := interruptible(ctx, func() (read, error) {
		ps, probs, err := launcher.CheckProfileFile(path, *user)
		return read{ps, probs}, err
	})
	if ctx.Err() != nil {
		s.errorf("profiles check: interrupted")
		return exitInterrupted
	}
	doc := profilesCheckJSON{jsonHead: newHead("profiles check"), File: path, Profiles: []profileJSON{}}
	if err != nil {
		msg := readFailure(err)
		if *asJSON {
			doc.add(jsonProblem{File: path, Severity: severityError, Message: msg})
			return writeJSON(s, doc, false)
		}
		s.errorf("profiles check: %s: %s", path, msg)
		return exitFailure
	}
	for _, p := range r.ps {
		doc.Profiles = append(doc.Profiles, newProfileJSON(p))
	}
	for _, e := range r.probs {
		doc.add(profileProblem(e))
	}
	doc.OK = len(r.probs) == 0
	if *asJSON {
		return writeJSON(s, doc, doc.OK)
	}
	for _, e := range r.probs {
		fmt.Fprintln(s.stdout, e.Error())
	}
	if !doc.OK {
		return exitFailure
	}
	fmt.Fprintf(s.stdout, "%s: ok, %s\n", path, plural.Count(len(r.ps), "profile", "profiles"))
	return exitOK
}
