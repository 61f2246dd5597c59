package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/trustlaunch/trustlaunch/platform"
)

const registerUsage = `Make this trustlaunch binary the handler for trustlaunch:// links.

Usage:
  trustlaunch register [--system] [--force]
  trustlaunch register --check [--system] [--json]

Linux: writes trustlaunch.desktop (Exec=<this binary> open -- %u) to
$XDG_DATA_HOME/applications, runs update-desktop-database, and makes it
your default with "xdg-mime default". With --system (as root) it writes
/usr/share/applications instead and sets no default: users without their
own default get the only handler there is. Needs xdg-utils.
Windows: writes HKCU\Software\Classes\trustlaunch, or with --system (as
administrator) HKLM\Software\Classes\trustlaunch: "URL Protocol", the
command "<this binary>" open -- "%1", DefaultIcon and FriendlyAppName
(the name browsers show). The MSI writes the same HKLM key; that one
belongs to the package (see unregister).
macOS: links reach trustlaunch.app, the bundle the .pkg installs in
/Applications (this binary must be its executable, or the
/usr/local/bin/trustlaunch symlink to it): register runs "lsregister -f"
on the bundle and, when another application or nobody is the handler
(another only with --force), makes it the default through NSWorkspace.
There is no --system: Launch Services keeps one registration per user.

register never replaces another application's handler, or a file or key it
did not write (such as a package's), unless --force is given.

--check changes nothing: it prints which handler trustlaunch:// links
reach, whether it runs this binary, and each problem with its fix; it
exits 1 when links would not reach this binary.

Examples:
  trustlaunch register
  trustlaunch register --check
  sudo /usr/bin/trustlaunch register --system
`

const unregisterUsage = `Remove what "trustlaunch register" wrote.

Usage:
  trustlaunch unregister [--system]

Removes the desktop entry and your default (Linux), the registry key
(Windows) or Launch Services' registration of trustlaunch.app (macOS)
that register wrote, and nothing else: a handler that belongs to
another application or a package is left in place and named. The
HKLM key the trustlaunch MSI wrote is refused (exit 1) with the msiexec /x
line that uninstalls the package. The whitelists are never touched.

Examples:
  trustlaunch unregister
  sudo trustlaunch unregister --system
`

func cmdRegister(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("register", registerUsage, s)
	var opts platform.RegisterOptions
	var check bool
	fs.BoolVar(&opts.System, "system", false, "register for every user of this machine (needs root or administrator)")
	fs.BoolVar(&opts.Force, "force", false, "replace another application's handler, or an entry register did not write")
	fs.BoolVar(&check, "check", false, "report the registration and what is wrong; change nothing")
	asJSON := addJSONFlag(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if *asJSON && !check {
		s.errorf("register: --json goes with --check; register itself prints what it wrote")
		return exitUsage
	}
	if fs.NArg() != 0 {
		s.errorf("register takes no arguments")
		return exitUsage
	}
	if check && opts.Force {
		s.errorf("register: --check changes nothing, so --force makes no sense with it")
		return exitUsage
	}
	if check && *asJSON {
		d := registerCheckDoc(ctx, opts)
		return writeJSON(s, d, d.OK)
	}
	if check {
		r, err := platform.CheckRegistration(ctx, opts)
		printReport(s, r)
		if err != nil {
			return registerFailed(s, err)
		}
		for _, p := range r.Problems {
			if p.Warning {
				s.warnf("%s", p.What)
			} else {
				s.errorf("%s", p.What)
			}
			if p.Fix != "" {
				s.hintf("%s", p.Fix)
			}
		}
		if !r.OK() {
			return exitFailure
		}
		fmt.Fprintln(s.stdout, "ok: trustlaunch:// links open with this binary")
		return exitOK
	}
	r, err := platform.Register(ctx, opts)
	printReport(s, r)
	printWarnings(s, r)
	if err != nil {
		return registerFailed(s, err)
	}
	fmt.Fprintln(s.stdout, "registered: trustlaunch:// links now open with this binary; check with: trustlaunch register --check"+systemFlag(opts))
	return exitOK
}

func cmdUnregister(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("unregister", unregisterUsage, s)
	var opts platform.RegisterOptions
	fs.BoolVar(&opts.System, "system", false, "remove the registration for every user (needs root or administrator)")
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 {
		s.errorf("unregister takes no arguments")
		return exitUsage
	}
	r, err := platform.Unregister(ctx, opts)
	printReport(s, r)
	printWarnings(s, r)
	if err != nil {
		return registerFailed(s, err)
	}
	return exitOK
}

// printReport prints the findings as aligned "name: value" lines on stdout.
func printReport(s *stdio, r platform.Report) {
	width := 0
	for _, f := range r.Findings {
		width = max(width, len(f.Name))
	}
	for _, f := range r.Findings {
		fmt.Fprintf(s.stdout, "%-*s %s\n", width+1, f.Name+":", f.Value)
	}
}

// printWarnings prints a report's problems as warnings: Register and
// Unregister return real failures as errors.
func printWarnings(s *stdio, r platform.Report) {
	for _, p := range r.Problems {
		s.warnf("%s", p.What)
		if p.Fix != "" {
			s.hintf("%s", p.Fix)
		}
	}
}

// registerFailed prints err and the fix it carries, and returns exit code 1.
func registerFailed(s *stdio, err error) int {
	s.errorf("%v", err)
	if fix := hintOf(err); fix != "" {
		// A multi-line fix (macOS) keeps the hint prefix on each line.
		for _, line := range strings.Split(fix, "\n") {
			s.hintf("%s", line)
		}
	}
	return exitFailure
}

func systemFlag(opts platform.RegisterOptions) string {
	if opts.System {
		return " --system"
	}
	return ""
}

// registerCheckJSON is register --check --json.
type registerCheckJSON struct {
	jsonHead
	System bool `json:"system"` // --system: the machine's registration, not the user's
	// Findings are the facts, in the order the text prints them
	// ("desktop entry": "/home/u/.local/...").
	Findings []findingJSON `json:"findings"`
}

// findingJSON is one fact of a registration report.
type findingJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// registerCheckDoc checks the registration as register --check does.
func registerCheckDoc(ctx context.Context, opts platform.RegisterOptions) registerCheckJSON {
	d := registerCheckJSON{jsonHead: newHead("register check"), System: opts.System, Findings: []findingJSON{}}
	r, err := platform.CheckRegistration(ctx, opts)
	for _, f := range r.Findings {
		d.Findings = append(d.Findings, findingJSON{f.Name, f.Value})
	}
	for _, p := range r.Problems {
		sev := severityError
		if p.Warning {
			sev = severityWarning
		}
		d.add(jsonProblem{Severity: sev, Message: p.What, Fix: p.Fix})
	}
	if err != nil {
		d.add(jsonProblem{Severity: severityError, Message: err.Error(), Fix: hintOf(err)})
	}
	d.OK = err == nil && r.OK()
	return d
}
