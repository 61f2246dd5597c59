package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/plural"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/link"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

const doctorHelp = `Check this machine for what a launch needs, and explain each finding:
the handler for trustlaunch:// links, the admin list and your list, the
admin policy and Group Policy, the emulator profiles and their programs,
the admin CA bundle, and the outbound proxy that would be used.

Usage:
  trustlaunch doctor [flags] [URL]
  trustlaunch doctor --bundle FILE [flags] [URL]

Given URL (a portal page, a descriptor URL or a whole trustlaunch:// link;
only its origin is used, and it is never printed), doctor also says
whether that origin is trusted, and whether the portal and every proxy of
the admin policy can be reached: a TLS handshake with the certificate
checks of a launch, through the outbound proxy when there is one, and
nothing sent inside it (no ticket, no token).

Each check prints ok, warn or FAIL, what it found, and for a failure the
fix. Exit status 0 when no check failed (warnings allowed), 1 when one
did. --json prints one object for scripts (docs/admin.md, "Output for
scripts").

--bundle writes a zip to attach to a support ticket: the version, the
settings and where each came from, this report, and the last audit
records. It never holds a token, a ticket, a query string or a password
(docs/troubleshooting.md, "Support bundle").

Examples:
  trustlaunch doctor
  trustlaunch doctor https://portal.example.com/
  trustlaunch doctor --json https://portal.example.com/ > doctor.json
  trustlaunch doctor --bundle support.zip https://portal.example.com/
`

// Statuses of a doctor check.
const (
	statusOK      = "ok"
	statusWarning = "warning"
	statusFail    = "fail"
	statusSkipped = "skipped"
)

// doctorCheck is one finding of doctor. Name is a stable identifier that
// scripts may match on; Summary and Details are for people.
type doctorCheck struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Summary string   `json:"summary"`
	Details []string `json:"details,omitempty"`
	Fix     string   `json:"fix,omitempty"`
}

// The names of the checks, in the order doctor runs them.
const (
	checkHandler     = "handler"
	checkAdminList   = "admin_list"
	checkUserList    = "user_list"
	checkPolicy      = "admin_policy"
	checkGroupPolicy = "group_policy"
	checkProfiles    = "profiles"
	checkEmulators   = "emulators"
	checkCABundle    = "ca_bundle"
	checkOutbound    = "outbound_proxy"
	checkTrust       = "portal_trust"
	checkPortal      = "portal_reach"
	checkProxy       = "proxy_reach" // one per proxy of the policy
)

// doctorJSON is doctor --json.
type doctorJSON struct {
	jsonHead
	Build  buildInfo     `json:"build"`
	Origin string        `json:"origin,omitempty"` // of URL, when given
	Checks []doctorCheck `json:"checks"`
}

// doctorOptions are doctor's inputs: the files a launch reads (flags for
// tests and drafts, the per-OS defaults otherwise) and the portal.
type doctorOptions struct {
	lists    listPaths
	given    listPaths // the list flags as given, "" for a default
	profiles profilePaths
	caBundle string
	outbound outboundFlags
	system   bool
	timeout  time.Duration
	target   string // URL as given: it may hold a ticket, never printed
}

// maxDoctorTimeout bounds --timeout: a check waits for one handshake.
const maxDoctorTimeout = 2 * time.Minute

func cmdDoctor(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("doctor", doctorHelp, s)
	paths := addListFlags(fs)
	profiles := addProfileFlags(fs)
	var o doctorOptions
	fs.StringVar(&o.caBundle, "ca-bundle", "", "use the admin CA bundle `FILE` instead of "+descriptor.DefaultCAFile()+" (still ownership-checked)")
	addOutboundFlag(fs, &o.outbound)
	fs.BoolVar(&o.system, "system", false, "check the handler registered for every user (register --system) rather than yours")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long each reachability check may take")
	bundle := fs.String("bundle", "", "also write a support bundle, a zip, to `FILE` (never over an existing file)")
	auditN := fs.Int("audit-records", 50, "with --bundle, how many of the last audit records to include (`N`)")
	asJSON := addJSONFlag(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() > 1 {
		s.errorf("doctor: want at most 1 argument (URL), got %d", fs.NArg())
		s.hintf("run \"trustlaunch doctor --help\"")
		return exitUsage
	}
	if o.timeout <= 0 || o.timeout > maxDoctorTimeout {
		s.errorf("doctor: --timeout must be above 0 and at most %v", maxDoctorTimeout)
		return exitUsage
	}
	if *auditN < 0 || *auditN > maxLogEntries {
		s.errorf("doctor: --audit-records must be between 0 and %d", maxLogEntries)
		return exitUsage
	}
	if *bundle != "" {
		// Said before the checks run, rather than after them.
		if _, err := os.Lstat(*bundle); err == nil {
			s.errorf("doctor: bundle: %s exists; choose another name or remove it first", *bundle)
			return exitFailure
		}
	}
	o.given = *paths
	if err := paths.resolve(); err != nil {
		s.errorf("doctor: %v", err)
		return exitFailure
	}
	o.lists, o.profiles = *paths, *profiles
	if fs.NArg() == 1 {
		o.target = fs.Arg(0)
		// The URL may carry a ticket: nothing doctor writes may hold it,
		// nor the one inside a link.
		s.registry().AddQuery(o.target)
		if strings.HasPrefix(strings.ToLower(o.target), "trustlaunch:") {
			if u, err := link.DescriptorURL(o.target); err == nil {
				s.registry().AddQuery(u)
			}
		}
	}
	doc, code := runDoctor(ctx, s, o)
	if code != exitOK && code != exitFailure {
		return code
	}
	if *bundle != "" {
		if err := writeBundle(ctx, s, *bundle, o, doc, *auditN); err != nil {
			s.errorf("doctor: bundle: %v", err)
			return exitFailure
		}
		if !*asJSON {
			fmt.Fprintf(s.stderr, "trustlaunch: wrote the support bundle %s\n", safetext.Sanitize(*bundle))
		}
	}
	if *asJSON {
		return writeJSON(s, doc, doc.OK)
	}
	printDoctor(s, doc)
	return code
}

// runDoctor runs every check. Its code is exitOK, exitFailure (a check
// failed), exitUsage (URL is not one) or exitInterrupted.
func runDoctor(ctx context.Context, s *stdio, o doctorOptions) (doctorJSON, int) {
	doc := doctorJSON{jsonHead: newHead("doctor"), Build: currentBuild(), Checks: []doctorCheck{}}
	add := func(c doctorCheck) { doc.Checks = append(doc.Checks, c) }

	add(doctorHandler(ctx, o.system))
	admin := policy.LoadAdmin(o.lists.admin)
	user := whitelist.LoadUser(o.lists.user)
	add(doctorAdminList(o.lists.admin, admin))
	add(doctorUserList(o.lists.user, user))
	pol := policy.Load(o.lists.policy)
	add(doctorPolicy(o.lists.policy, pol))
	add(doctorGroupPolicy())
	profilesCheck, emulators := doctorProfiles(o.profiles)
	add(profilesCheck)
	add(emulators)
	roots, caCheck := doctorCABundle(o.caBundle)
	add(caCheck)
	outbound, obCheck := doctorOutbound(s, o.outbound, o.lists.policy)
	add(obCheck)

	if o.target != "" {
		target := o.target
		if strings.HasPrefix(strings.ToLower(target), "trustlaunch:") {
			u, err := link.DescriptorURL(target)
			if err != nil {
				s.errorf("doctor: %v", err)
				return doc, exitUsage
			}
			target = u
		}
		origin, err := whitelist.ParseOrigin(target)
		if err != nil {
			s.errorf("doctor: %s", whitelist.OriginReason(err))
			s.hintf("give the portal's https URL, as in: trustlaunch doctor https://portal.example.com/")
			return doc, exitUsage
		}
		doc.Origin = origin.String()
		d := whitelist.Decide(ctx, whitelist.Input{LaunchURL: origin.String() + "/", Admin: admin, User: user})
		add(doctorTrust(origin, d))
		add(doctorReach(ctx, checkPortal, "portal "+origin.String(), connector.Config{
			ProxyAddr: origin.HostPort(), RootCAs: roots, Outbound: outbound, Secrets: s.registry(),
			DialTimeout: o.timeout, HandshakeTimeout: o.timeout,
		}, caCheck.Status == statusFail, "the portal"))
		for _, c := range doctorProxies(ctx, s, pol, roots, outbound, o.timeout, caCheck.Status == statusFail) {
			add(c)
		}
	}
	if ctx.Err() != nil {
		s.errorf("doctor: interrupted")
		return doc, exitInterrupted
	}
	doc.OK = true
	for _, c := range doc.Checks {
		if c.Status == statusFail {
			doc.OK = false
			doc.add(jsonProblem{Severity: severityError, Message: c.Name + ": " + c.Summary, Fix: c.Fix})
		}
	}
	if !doc.OK {
		return doc, exitFailure
	}
	return doc, exitOK
}

// printDoctor prints the report for a person: one line per check, its
// details indented, and the fix of each failure.
func printDoctor(s *stdio, doc doctorJSON) {
	fmt.Fprintf(s.stdout, "trustlaunch %s (%s/%s)\n", doc.Build.Version, doc.Build.OS, doc.Build.Arch)
	label := map[string]string{statusOK: "ok", statusWarning: "warn", statusFail: "FAIL", statusSkipped: "skip"}
	fails, warns := 0, 0
	for _, c := range doc.Checks {
		// Scrubbed as writeJSON scrubs the same report: every spelling
		// of the secrets this run knows (the URL's query, a proxy
		// password) is taken out of each line.
		show := func(text string) string { return safetext.Inert(s.secrets.Scrub(text)) }
		fmt.Fprintf(s.stdout, "%-4s  %-14s %s\n", label[c.Status], c.Name, show(c.Summary))
		for _, d := range c.Details {
			fmt.Fprintf(s.stdout, "      %-14s %s\n", "", show(d))
		}
		if c.Fix != "" {
			fmt.Fprintf(s.stdout, "      %-14s fix: %s\n", "", show(c.Fix))
		}
		switch c.Status {
		case statusFail:
			fails++
		case statusWarning:
			warns++
		}
	}
	switch {
	case fails > 0:
		fmt.Fprintf(s.stdout, "result: %s failed, %s\n", plural.Count(fails, "check", "checks"), plural.Count(warns, "warning", "warnings"))
	default:
		fmt.Fprintf(s.stdout, "result: ok, %s\n", plural.Count(warns, "warning", "warnings"))
	}
}

func doctorHandler(ctx context.Context, system bool) doctorCheck {
	c := doctorCheck{Name: checkHandler, Status: statusOK, Summary: "trustlaunch:// links open with this binary"}
	r, err := platform.CheckRegistration(ctx, platform.RegisterOptions{System: system})
	for _, f := range r.Findings {
		c.Details = append(c.Details, f.Name+": "+f.Value)
	}
	if err != nil {
		c.Status, c.Summary, c.Fix = statusFail, err.Error(), hintOf(err)
		return c
	}
	for _, p := range r.Problems {
		switch {
		case !p.Warning && c.Status != statusFail:
			c.Status, c.Summary, c.Fix = statusFail, p.What, p.Fix
		case p.Warning:
			if c.Status == statusOK {
				c.Status = statusWarning
			}
			c.Details = append(c.Details, "warning: "+p.What)
		}
	}
	return c
}

func doctorAdminList(path string, src whitelist.Source) doctorCheck {
	c := doctorCheck{Name: checkAdminList, Status: statusOK}
	switch {
	case src.Err != nil:
		c.Status, c.Summary, c.Fix = statusFail, "every launch stops: "+src.Err.Error(), fixFor(src.Err)
		return c
	case src.List == nil:
		c.Summary = path + " does not exist: prompt mode, every server not in your list is asked about"
		return c
	}
	mode := "prompt mode"
	if src.List.AdminOnly {
		mode = whitelist.Keyword + " mode"
	}
	c.Summary = fmt.Sprintf("%s: %s, %s; ownership check passed", src.List.Path, plural.Count(len(src.List.Entries), "entry", "entries"), mode)
	lintDetails(&c, src, "whitelist check")
	return c
}

// lintDetails adds a list's problems: an invalid entry (skipped at launch)
// is a warning of the check, as is a line that is valid but likely a typo.
func lintDetails(c *doctorCheck, src whitelist.Source, linter string) {
	for _, pr := range src.Problems {
		c.Details = append(c.Details, fmt.Sprintf("%s:%s", src.Path, pr))
	}
	if len(src.Problems) > 0 {
		c.Status = statusWarning
		c.Fix = fmt.Sprintf("run \"trustlaunch %s %s\" and correct the lines it names", linter, src.Path)
	}
}

func doctorUserList(path string, src whitelist.Source) doctorCheck {
	c := doctorCheck{Name: checkUserList, Status: statusOK}
	switch {
	case src.Err != nil:
		// Ignored, not fatal: its servers are asked about.
		c.Status, c.Summary, c.Fix = statusWarning, "ignored, so its servers are asked about: "+src.Err.Error(), fixFor(src.Err)
		return c
	case src.List == nil:
		c.Summary = path + " does not exist"
		return c
	}
	c.Summary = fmt.Sprintf("%s: %s", path, plural.Count(len(src.List.Entries), "entry", "entries"))
	lintDetails(&c, src, "whitelist check")
	return c
}

func doctorPolicy(path string, src policy.Source) doctorCheck {
	c := doctorCheck{Name: checkPolicy, Status: statusOK}
	switch {
	case src.Err != nil:
		c.Status, c.Summary = statusFail, "every launch stops: "+src.Err.Error()
		c.Fix = policyFix(src.Err)
		var fe *policy.FileError
		if errors.As(src.Err, &fe) {
			for _, pr := range fe.Problems {
				c.Details = append(c.Details, pr.Format(fe.Path))
			}
			if c.Fix == "" {
				c.Fix = fmt.Sprintf("run \"trustlaunch policy check %s\" and correct the lines it names", fe.Path)
			}
		}
		return c
	case src.Policy == nil:
		c.Summary = path + " does not exist: no restriction past the origin"
		return c
	}
	where := src.Policy.Path
	if where != path {
		where = "Group Policy"
	}
	c.Summary = fmt.Sprintf("%s: %s", where, src.Policy.Summary())
	return c
}

func doctorGroupPolicy() doctorCheck {
	var h jsonHead
	g := readGroupPolicyJSON(&h)
	c := doctorCheck{Name: checkGroupPolicy, Status: statusOK}
	switch g.State {
	case "unusable":
		c.Status, c.Summary, c.Fix = statusFail, "every launch stops: "+g.Error, g.Fix
	case "absent":
		c.Summary = "none (the files decide)"
	default:
		c.Summary = g.Key + " sets " + strings.Join(g.Sets, ", ")
		if len(g.Sets) == 0 {
			c.Summary = g.Key + " sets nothing (the files decide)"
		}
	}
	return c
}

// doctorProfiles checks the profiles files (lint and ownership) and the
// emulator programs of the profiles.
func doctorProfiles(p profilePaths) (files, emulators doctorCheck) {
	files = doctorCheck{Name: checkProfiles, Status: statusOK}
	r := loadProfilesReport(p)
	if r.err != nil {
		files.Status, files.Summary, files.Fix = statusFail, "every launch stops: "+r.err.Error(), fixFor(r.err)
		if files.Fix == "" {
			files.Fix = "run \"trustlaunch profiles check\" on the file and correct what it names"
		}
		return files, doctorCheck{Name: checkEmulators, Status: statusSkipped, Summary: "the profiles could not be read"}
	}
	var read []string
	for _, f := range r.doc.Files {
		if f.State == "read" {
			read = append(read, f.Path)
		}
	}
	usable, broken := 0, 0
	for _, pr := range r.doc.Profiles {
		if pr.Kind == "" {
			broken++
		} else {
			usable++
		}
	}
	files.Summary = plural.Count(usable, "usable profile", "usable profiles")
	if len(read) > 0 {
		files.Summary += " (built-in, and from " + strings.Join(read, ", ") + ")"
	} else {
		files.Summary += " (built-in only)"
	}
	for _, pr := range r.doc.Problems {
		loc := pr.File
		if pr.Line > 0 {
			loc += ":" + strconv.Itoa(pr.Line)
		}
		files.Details = append(files.Details, loc+": "+pr.Message)
		if pr.Severity == severityWarning {
			if files.Status == statusOK {
				files.Status = statusWarning
			}
			continue
		}
		files.Status = statusFail
	}
	if broken > 0 {
		files.Summary = fmt.Sprintf("%s cannot be used; %s", plural.Count(broken, "profile", "profiles"), files.Summary)
		files.Fix = "correct the lines named; \"trustlaunch profiles check FILE\" lints a file"
	}
	return files, doctorEmulators(r.doc.Profiles)
}

// doctorEmulators checks that the programs of the command profiles are
// installed.
func doctorEmulators(profiles []profileJSON) doctorCheck {
	emulators := doctorCheck{Name: checkEmulators, Status: statusOK}
	// A built-in whose program is missing is only information: a machine
	// has the emulators its users need, not every built-in's. A program
	// an administrator or user defined is expected to be there.
	installed, missing := 0, 0
	for _, pr := range profiles {
		if pr.Kind != launcher.ProfileCommand.String() {
			continue
		}
		if pr.Program != "" {
			installed++
			emulators.Details = append(emulators.Details, pr.Name+": "+pr.Program)
			continue
		}
		if pr.Source == "built-in" {
			emulators.Details = append(emulators.Details, pr.Name+": not installed (built-in)")
			continue
		}
		missing++
		emulators.Status = statusFail
		emulators.Details = append(emulators.Details, pr.Name+" ("+pr.Source+"): "+pr.Problem)
	}
	switch {
	case missing > 0:
		emulators.Summary = fmt.Sprintf("%s of the profiles files not installed", plural.Count(missing, "program", "programs"))
		emulators.Fix = "install the programs named, or correct the command of their profiles"
	case installed == 0:
		emulators.Status = statusFail
		emulators.Summary = "no profile's program is installed, so no launch can start an emulator"
		emulators.Fix = launcher.InstallHint("c3270")
		if emulators.Fix == "" {
			emulators.Fix = "install a terminal emulator (the x3270 suite), or define a profile for the one in use"
		}
	default:
		emulators.Summary = plural.Count(installed, "profile's program", "profiles' programs") + " installed"
	}
	return emulators
}

// doctorCABundle checks the admin CA bundle and returns the roots a
// launch verifies the portal with: the system's and the bundle's.
func doctorCABundle(path string) (*x509.CertPool, doctorCheck) {
	if path == "" {
		path = descriptor.DefaultCAFile()
	}
	c := doctorCheck{Name: checkCABundle, Status: statusOK}
	roots, err := descriptor.FetchOptions{ExtraCAFile: path}.Roots()
	switch cerr := platform.CheckAdminFile(path); {
	case err != nil:
		c.Status, c.Summary, c.Fix = statusFail, "every launch stops: "+err.Error(), fixFor(err)
		if c.Fix == "" {
			c.Fix = "the bundle must be PEM certificates only, owned by root (an administrator on Windows) and not writable by others"
		}
		return nil, c
	case errors.Is(cerr, fs.ErrNotExist):
		c.Summary = path + " does not exist: the system's roots only"
	default:
		c.Summary = path + ": read; ownership check passed; added to the system's roots"
	}
	return roots, c
}

// doctorOutbound says which outbound proxy setting a launch would use
// (which proxy of it carries a connection is reported by the reachability
// checks, doctorReach), and warns about a password written in its URL.
func doctorOutbound(s *stdio, f outboundFlags, policyPath string) (*connector.OutboundProxy, doctorCheck) {
	c := doctorCheck{Name: checkOutbound, Status: statusOK}
	ob, err := outboundWithCredentials(s, f, policyPath)
	if err != nil {
		c.Status, c.Summary = statusFail, err.Error()
		c.Fix = "correct the setting named (HTTPS_PROXY is http://HOST:PORT, a list \"PROXY HOST:PORT; DIRECT\", or pac+URL), or pass --outbound-proxy none"
		return nil, c
	}
	ob.AddTo(s.registry())  // its password, if any, is scrubbed from all doctor writes
	c.Summary = ob.String() // "direct", or the proxy and where it came from, never its password
	if ob.PasswordInURL() {
		c.Status, c.Fix = statusWarning, passwordInURLWarning(ob)
	}
	return ob, c
}

func doctorTrust(origin whitelist.Origin, d whitelist.Decision) doctorCheck {
	c := doctorCheck{Name: checkTrust, Summary: origin.String() + ": "}
	switch {
	case d.Proceed:
		c.Status = statusOK
		c.Summary += "trusted (" + string(d.Step) + ")"
		if d.Matched != nil {
			c.Summary += " by the entry " + d.Matched.String()
		}
	case d.Step == whitelist.StepWouldPrompt:
		c.Status = statusWarning
		c.Summary += "not listed: a launch asks the user"
		c.Fix = "to launch without a prompt, add " + whitelist.EntryFor(origin).String() + " to the admin list (or answer Always)"
	default:
		c.Status = statusFail
		c.Summary += "refused (" + string(d.Step) + "): " + d.Message
		c.Fix = "ask your administrator to add " + whitelist.EntryFor(origin).String() + " to the admin list"
		if d.Step == whitelist.StepAdminFileUnsafe {
			c.Fix = "see the admin_list check"
		}
	}
	return c
}

// doctorReach runs one bounded TLS handshake (connector.Handshake) and
// reports it. what names the server in the summary, whom in the fix.
func doctorReach(ctx context.Context, name, what string, cfg connector.Config, rootsFailed bool, whom string) doctorCheck {
	c := doctorCheck{Name: name, Summary: what + ": "}
	if rootsFailed {
		c.Status, c.Summary = statusSkipped, what+": not checked: the admin CA bundle cannot be used"
		return c
	}
	start := time.Now()
	state, err := connector.Handshake(ctx, cfg)
	if ch, ok := cfg.Outbound.Chosen(cfg.ProxyAddr); ok {
		// The route the setting chose for this server, as a launch's
		// audit record names it: "PROXY b:3128 (chosen by PAC ...; after
		// a:3128 refused)", or DIRECT.
		c.Details = append(c.Details, "route: "+ch.String())
	}
	if err != nil {
		c.Status = statusFail
		c.Summary += err.Error()
		var se *connector.StepError
		if errors.As(err, &se) {
			c.Fix = se.Hint()
			if whom != "the proxy" {
				// The connector's advice speaks of the proxy.
				c.Fix = strings.ReplaceAll(c.Fix, "the proxy", whom)
			}
		}
		return c
	}
	c.Status = statusOK
	c.Summary += fmt.Sprintf("TLS %s handshake in %v; certificate verified", connector.FormatTLSVersion(state.Version), time.Since(start).Round(time.Millisecond))
	if len(state.PeerCertificates) > 0 {
		leaf := state.PeerCertificates[0]
		c.Details = append(c.Details, fmt.Sprintf("certificate: %s, issued by %s, valid until %s", safetext.Sanitize(leaf.Subject.String()), safetext.Sanitize(leaf.Issuer.String()), leaf.NotAfter.UTC().Format(time.DateOnly)))
	}
	return c
}

// doctorProxies checks the proxies the admin policy names. An entry
// without a port matches any port, so there is no one port to try.
func doctorProxies(ctx context.Context, s *stdio, src policy.Source, roots *x509.CertPool, ob *connector.OutboundProxy, timeout time.Duration, rootsFailed bool) []doctorCheck {
	if src.Err != nil || src.Policy == nil || !src.Policy.RestrictProxies {
		return []doctorCheck{{Name: checkProxy, Status: statusSkipped, Summary: "the admin policy names no proxies to check"}}
	}
	var out []doctorCheck
	for _, x := range src.Policy.Proxies {
		what := "proxy " + x.Entry.String()
		if x.Entry.Port == 0 {
			out = append(out, doctorCheck{Name: checkProxy, Status: statusSkipped, Summary: what + ": not checked: the policy allows it on any port"})
			continue
		}
		out = append(out, doctorReach(ctx, checkProxy, what, connector.Config{
			ProxyAddr: net.JoinHostPort(strings.Trim(x.Entry.Host, "[]"), strconv.Itoa(int(x.Entry.Port))),
			RootCAs:   roots, PolicyPins: x.Pins, Outbound: ob, Secrets: s.registry(),
			DialTimeout: timeout, HandshakeTimeout: timeout,
		}, rootsFailed, "the proxy"))
	}
	return out
}
