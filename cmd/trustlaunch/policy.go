package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/plural"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// policyGroup is "trustlaunch policy". The policy has a command of its own
// rather than a mode of `whitelist check`: it is another file, in another
// format (TOML), with its own keys, and a linter that guessed the format
// from the file's name would report a policy's mistakes as a whitelist's.
var policyGroup = group{
	name: "policy",
	about: `Lint the admin policy: which proxies and destinations a launch descriptor
may name, which publisher keys may sign descriptors, and whether a signature
is required.
`,
	more: `Examples:
  trustlaunch policy check ./policy.toml
`,
	subs: []subcommand{{"check", "lint an admin policy file before pushing it to machines", policyCheck}},
}

const policyCheckHelp = `Lint an admin policy file before pushing it to machines.

Usage:
  trustlaunch policy check [--json] FILE

check prints one FILE:LINE: message per problem (FILE: key: message where the
TOML decoder gives no line) and exits 1; a clean file prints a summary and
exits 0. At launch time a policy with any problem stops every launch.

A FILE ending in .plist is read as macOS managed preferences (the payload
of a configuration profile for the domain io.github.trustlaunch): its first
problem is printed as FILE: key: message.

The admin policy lives beside the admin whitelist, as policy.toml:
%s.
"trustlaunch whitelist show" and "paths" include it.

Examples:
  trustlaunch policy check ./policy.toml
`

func cmdPolicy(ctx context.Context, s *stdio, args []string) int {
	return policyGroup.run(ctx, s, args)
}

func policyCheck(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("policy check", fmt.Sprintf(policyCheckHelp, platform.AdminPolicyPath()), s)
	asJSON := addJSONFlag(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 1 {
		s.errorf("policy check: want 1 argument (FILE), got %d", fs.NArg())
		return exitUsage
	}
	path := fs.Arg(0)
	if strings.HasSuffix(strings.ToLower(path), ".plist") {
		return policyCheckManaged(s, path)
	}
	p, probs, err := readPolicy(ctx, path)
	if ctx.Err() != nil {
		s.errorf("policy check: interrupted")
		return exitInterrupted
	}
	if *asJSON {
		d := policyCheckJSON{jsonHead: newHead("policy check"), File: path}
		if err != nil {
			d.add(jsonProblem{File: path, Severity: severityError, Message: err.Error(), Fix: policyFix(err)})
		}
		for _, pr := range probs {
			d.add(jsonProblem{File: path, Line: pr.Line, Key: pr.Key, Severity: severityError, Message: pr.Msg})
		}
		d.OK = len(d.Problems) == 0
		if d.OK {
			d.Policy = newPolicyJSON(p)
		}
		return writeJSON(s, d, d.OK)
	}
	if err != nil {
		s.errorf("policy check: %v", err)
		return exitFailure
	}
	for _, pr := range probs {
		fmt.Fprintln(s.stdout, pr.Format(path))
	}
	if len(probs) > 0 {
		return exitFailure
	}
	fmt.Fprintf(s.stdout, "%s: ok, %s\n", path, p.Summary())
	for _, pub := range p.Publishers {
		fmt.Fprintf(s.stdout, "  publisher %s: %s kid %s\n", safetext.Quote(pub.Name), pub.Alg, pub.KeyID)
	}
	return exitOK
}

// policyCheckManaged lints macOS managed preferences.
func policyCheckManaged(s *stdio, path string) int {
	m, err := policy.ReadManagedPrefsFile(path)
	var ge *policy.GPError
	switch {
	case errors.As(err, &ge):
		fmt.Fprintln(s.stdout, ge.Error())
		return exitFailure
	case err != nil:
		s.errorf("policy check: %v", err)
		return exitFailure
	}
	keys := "sets nothing"
	if k := m.Keys(); len(k) > 0 {
		keys = "sets " + strings.Join(k, ", ")
	}
	fmt.Fprintf(s.stdout, "%s: ok, managed preferences; %s\n", path, keys)
	return exitOK
}

// readPolicy is policy.ReadFile, given up when ctx ends (see
// interruptible).
func readPolicy(ctx context.Context, path string) (*policy.Policy, []policy.Problem, error) {
	type read struct {
		p     *policy.Policy
		probs []policy.Problem
	}
	r, err := interruptible(ctx, func() (read, error) {
		p, probs, err := policy.ReadFile(path)
		return read{p, probs}, err
	})
	return r.p, r.probs, err
}

// showPolicy prints where the admin policy is and what it says, for
// `whitelist paths` and `whitelist show`. It returns false when the policy
// exists but cannot be used, which stops every launch.
func showPolicy(s *stdio, path string) bool {
	fmt.Fprintf(s.stdout, "admin policy: %s\n", path)
	src := policy.Load(path)
	switch {
	case src.Err != nil:
		state := checkedState(src.Err, "does not exist, but the directories above it are not safe")
		fmt.Fprintf(s.stdout, "  %s; unusable, so every launch stops: %v\n", state, src.Err)
		if fix := policyFix(src.Err); fix != "" {
			fmt.Fprintf(s.stdout, "  fix: %s\n", fix)
		}
		return false
	case src.Policy == nil:
		fmt.Fprintf(s.stdout, "  does not exist (no restriction past the origin)\n")
		return true
	}
	p := src.Policy
	if p.Path == path {
		fmt.Fprintf(s.stdout, "  exists; ownership check passed; %s\n", p.Summary())
	} else {
		fmt.Fprintf(s.stdout, "  does not exist; Group Policy gives: %s\n", p.Summary())
	}
	// where names an item's place: its file line, or its Group Policy value.
	where := func(src string, line int) string {
		switch {
		case src != "":
			return src
		case line == 0:
			return path
		}
		return fmt.Sprintf("%s:%d", path, line)
	}
	if p.RequireSignedFrom != "" {
		fmt.Fprintf(s.stdout, "  require_signed %-34v %s\n", p.RequireSigned, p.RequireSignedFrom)
	}
	if p.OSLogFrom != "" || p.OSLog != oslog.LevelInfo {
		fmt.Fprintf(s.stdout, "  os_log      %-40s %s\n", p.OSLog, where(p.OSLogFrom, 0))
	}
	for _, x := range p.Proxies {
		pins := ""
		if len(x.Pins) > 0 {
			pins = " (" + plural.Count(len(x.Pins), "pin", "pins") + ")"
		}
		fmt.Fprintf(s.stdout, "  proxy       %-40s %s\n", x.Entry.String()+pins, where(x.Src, x.Line))
	}
	for _, d := range p.Destinations {
		extra := ""
		if d.TLS {
			extra = " (end-to-end TLS)"
		}
		fmt.Fprintf(s.stdout, "  destination %-40s %s\n", d.Entry.String()+extra, where(d.Src, d.Line))
	}
	for _, pub := range p.Publishers {
		fmt.Fprintf(s.stdout, "  publisher   %-40s %s\n", safetext.Quote(pub.Name)+" "+pub.Alg+" kid "+pub.KeyID, where(pub.Src, pub.Line))
	}
	return true
}

// showGroupPolicy prints what Windows Group Policy (macOS: the managed
// preferences) gives, each setting with what it replaces, for `whitelist
// paths` and `show`. It returns false when it cannot be used, which stops
// every launch.
func showGroupPolicy(s *stdio) bool {
	m := policy.ReadMachine()
	fmt.Fprintf(s.stdout, "%s: %s\n", m.Kind, m.Path)
	set, err := m.Settings, m.Err
	if err != nil {
		fmt.Fprintf(s.stdout, "  unusable, so every launch stops: %v\n", err)
		var ge *policy.GPError
		if errors.As(err, &ge) {
			fmt.Fprintf(s.stdout, "  fix: %s\n", ge.Hint())
		}
		return false
	}
	switch {
	case m.Absent != "":
		fmt.Fprintf(s.stdout, "  %s (the files decide)\n", m.Absent)
		return true
	case !set.Any() && m.MacOSLaunch == nil:
		fmt.Fprintf(s.stdout, "  exists; sets nothing (the files decide)\n")
		return true
	}
	mode := "prompt mode"
	if set.AdminOnly {
		mode = whitelist.Keyword + " mode"
	}
	signed := "not required"
	if set.RequireSigned {
		signed = "required"
	}
	for _, g := range []struct {
		has       bool
		what, rep string
	}{
		{set.HasAdminOnly, policy.GPAllowAdminListOnly + ": " + mode, "the admin list's first line"},
		{set.HasServers, policy.GPServers + ": " + plural.Count(len(set.Servers), "entry", "entries"), "the admin list's entries"},
		{set.HasRequireSigned, policy.GPRequireSigned + ": signature " + signed, "require_signed of the admin policy"},
		{set.HasProxies, policy.GPProxies + ": " + plural.Count(len(set.Proxies), "entry", "entries"), "[[proxies]] of the admin policy"},
		{set.HasDestinations, policy.GPDestinations + ": " + plural.Count(len(set.Destinations), "entry", "entries"), "[[destinations]] of the admin policy"},
		{set.HasPublishers, policy.GPPublishers + ": " + plural.Count(len(set.Publishers), "entry", "entries"), "[[publishers]] of the admin policy"},
		{set.HasOSLog, policy.GPOSLog + ": " + set.OSLog.String(), "os_log of the admin policy"},
		{m.MacOSLaunch != nil, policy.MPMacOSLaunch + ": " + fmt.Sprint(m.MacOSLaunch != nil && *m.MacOSLaunch), "macos_launch of the admin policy"},
	} {
		if g.has {
			fmt.Fprintf(s.stdout, "  %s; replaces %s\n", g.what, g.rep)
		}
	}
	return true
}

// policyFix is the remedy for an unusable policy.
func policyFix(err error) string {
	if h := hintOf(err); h != "" {
		return h
	}
	if errors.Is(err, fs.ErrPermission) {
		return "trustlaunch runs as you and must be able to read the policy: keep it owned by root, mode 0644"
	}
	return ""
}
