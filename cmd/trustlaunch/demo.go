package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/demo"
	"github.com/trustlaunch/trustlaunch/internal/plural"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

const demoUsage = `Run the whole product against an embedded portal, proxy and host.

Usage:
  trustlaunch demo [--no-tui] [--yes] [--raw] [--no-admin-list] [--serve]

The demo starts, on 127.0.0.1 only, an HTTPS origin that serves a launch
descriptor, a TLS CONNECT proxy that checks the session token, and a host
behind it. It then runs the real open flow against them: the whitelist
decision (your admin list applies; the user list is a temporary one, so the
trust prompt appears), the descriptor fetch, the tunnel, and the emulator.
When the session ends it shows what the portal and the proxy did, the
launch's audit record, and where to go next.

With c3270 installed and this terminal as stdin, the host is a TN3270
application and the descriptor names the c3270 profile: c3270 shows a 3270
screen; type into the field, press Enter for the host's answer; PF3 (the
F3 key) ends the session. Otherwise, or with --raw, the host answers each
line in upper case and the "raw" profile relays this terminal to it; type
lines, end with Ctrl-D.

On a machine whose admin whitelist is in AllowAdminListOnly mode, the
demo's portal is refused like any portal the list does not name, the
refusal is recorded like any (marked as the demo's), and the demo says
why. --no-admin-list runs it as on a machine without an admin whitelist:
the demo reaches only its own servers on 127.0.0.1, and the machine's list
is not changed.

--serve keeps the portal running and prints a trustlaunch-demo:// link to
click in a browser on this machine; each launch runs in this terminal,
then a new link is printed, until Ctrl-C. The demo's links have a scheme
and a handler of their own (Linux: trustlaunch-demo.desktop, Windows: the
HKCU key trustlaunch-demo), registered for you while the demo runs and
removed when it exits: the handler only hands the link to the running
demo, so your trustlaunch:// handler never trusts the demo's certificate
or signing key, and after a crash the link launches nothing.

%s

Examples:
  trustlaunch demo
  echo hello | trustlaunch demo --yes
  trustlaunch demo --serve
`

// demoC3270Hint says how to get the 3270 demo.
const demoC3270Hint = "install c3270 for the 3270 session (Debian, Ubuntu: sudo apt-get install c3270; macOS: brew install x3270)"

// demoPlan is what the demo will run on this machine.
type demoPlan struct {
	tn3270 bool
	why    string // one line for --help and the start of the demo
}

// planDemo chooses the TN3270 host and c3270 when c3270 is on PATH and
// stdin is a terminal (c3270 draws on it), else the line host and raw.
func planDemo(raw, terminal bool) demoPlan {
	c3270, err := exec.LookPath("c3270")
	switch {
	case raw:
		return demoPlan{why: "--raw: the demo relays this terminal raw to a line host"}
	case err != nil:
		return demoPlan{why: "c3270 is not installed, so the demo relays this terminal raw to a line host; " + demoC3270Hint}
	case !terminal:
		return demoPlan{why: "stdin is not a terminal, which c3270 needs, so the demo relays it raw to a line host (c3270 is at " + c3270 + ")"}
	}
	return demoPlan{tn3270: true, why: "c3270 is installed (" + c3270 + "), so the demo runs it against a TN3270 host"}
}

// demoOptions are the flags of demo.
type demoOptions struct {
	open        openOptions
	yes, raw    bool
	noAdminList bool // --no-admin-list
	serve       bool // --serve
}

func parseDemo(s *stdio, args []string) (o demoOptions, code int, ok bool) {
	// --help says what this machine will run when the demo is started in
	// a terminal, as a new user would: it depends on c3270 being installed.
	here := strings.Join(wrapText(machineNote+" "+planDemo(false, true).why+".", helpWidth), "\n")
	fs := newFlagSet("demo", fmt.Sprintf(demoUsage, here), s)
	o.open.prompt = addPromptFlags(fs)
	fs.BoolVar(&o.yes, "yes", false, "answer the trust prompt with Yes (for scripted runs)")
	fs.BoolVar(&o.raw, "raw", false, "relay this terminal raw to a line host, even when c3270 is installed")
	fs.BoolVar(&o.noAdminList, "no-admin-list", false, "run as on a machine without an admin whitelist (the demo reaches only its own servers)")
	fs.BoolVar(&o.serve, "serve", false, "keep the portal running and print a link to click in a browser, until Ctrl-C")
	o.open.paths = addListFlags(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return o, code, false
	}
	if fs.NArg() != 0 {
		s.errorf("demo takes no arguments")
		return o, exitUsage, false
	}
	if code, ok := o.open.prompt.check(s, "demo"); !ok {
		return o, code, false
	}
	if o.noAdminList && o.open.paths.admin != "" {
		s.errorf("demo: --no-admin-list and --admin-whitelist contradict each other")
		return o, exitUsage, false
	}
	if !o.yes && !isTerminal(s.stdin) {
		// The prompt would look for a terminal or a window to ask in, and
		// a scripted run has neither: say at once what to do.
		s.errorf("demo: stdin is not a terminal, so nobody can answer the trust prompt; use --yes to answer Yes (echo hello | trustlaunch demo --yes)")
		return o, exitUsage, false
	}
	return o, 0, true
}

func cmdDemo(ctx context.Context, s *stdio, args []string) int {
	o, code, ok := parseDemo(s, args)
	if !ok {
		return code
	}
	plan := planDemo(o.raw, isTerminal(s.stdin))
	signer, err := descriptor.GenerateKey("")
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	world, err := demo.Start(demo.Options{TN3270: plan.tn3270, Signer: signer})
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	defer world.Close()

	// The user list is a temporary one, so that the prompt appears
	// whatever the user trusted before, and Always changes nothing that
	// outlives the demo.
	temporary, yours := o.open.paths.user == "", ""
	if temporary {
		dir, err := os.MkdirTemp("", "trustlaunch-demo-")
		if err != nil {
			s.errorf("demo: %v", err)
			return exitFailure
		}
		defer os.RemoveAll(dir)
		o.open.paths.user = filepath.Join(dir, "whitelist.txt")
		yours, _ = platform.UserWhitelistPath()
	}
	if err := o.open.paths.resolve(); err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	ls := launchSetup{
		target: world.LaunchURL,
		paths:  o.open.paths,
		fetch:  descriptor.FetchOptions{RootCAs: world.OriginCA},
		plain:  o.open.prompt.noTUI,
	}
	if o.noAdminList {
		ls.admin = &whitelist.Source{Path: "(none: demo --no-admin-list)"}
	}
	policy, done, err := demoPolicy(world, o.open.paths.policy)
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	defer done()
	ls.policy = policy
	ls.demo = true
	ls.prompter = newPrompter(s, o.open.prompt)
	if o.yes {
		ls.prompter = answerPrompter{whitelist.AnswerYes}
	}
	if !o.noAdminList {
		if hints := demoAdminRefusal(ctx, o.open.paths.admin, world.LaunchURL); hints != nil {
			return runRefusedDemo(ctx, s, ls, hints)
		}
	}
	if o.serve {
		return serveDemo(ctx, s, world, ls, plan, func() {
			demoEpilogue(s, world, o.open.paths.user, temporary, yours, true)
		})
	}
	demoPreamble(s, plan, world.LaunchURL)
	code = runLaunch(ctx, s, ls)
	if ctx.Err() == nil {
		demoEpilogue(s, world, o.open.paths.user, temporary, yours, false)
	}
	return code
}

// runRefusedDemo runs a demo the admin list refuses: the launch runs all
// the same, without the preamble of a session that will not happen, so
// that the same decision refuses it and it leaves the record every launch
// attempt leaves, marked as the demo's (docs/admin.md "Launch records").
// The hints follow the launch's own refusal message.
func runRefusedDemo(ctx context.Context, s *stdio, ls launchSetup, hints []string) int {
	code := runLaunch(ctx, s, ls)
	if code == exitRefused {
		for _, h := range hints {
			s.hintf("%s", h)
		}
	}
	return code
}

// demoPreamble says what the demo runs. Short lines: with the trust prompt
// under them they fit 80x24, so nothing has scrolled away when the question
// appears (TestDemoPromptFits80x24).
func demoPreamble(s *stdio, plan demoPlan, launchURL string) {
	fmt.Fprintf(s.stderr, "trustlaunch demo: %s.\n", plan.why)
	fmt.Fprintf(s.stderr, "trustlaunch demo: portal, proxy and host run on 127.0.0.1; a browser would run\n")
	fmt.Fprintf(s.stderr, "  trustlaunch open -- '%s'\n", "trustlaunch://launch?url="+url.QueryEscape(launchURL))
	fmt.Fprintf(s.stderr, "trustlaunch demo: its descriptor is signed, with a key its own policy trusts.\n")
	fmt.Fprintf(s.stderr, "trustlaunch demo: your user list is left alone: Always adds to a temporary one.\n\n")
}

// demoAdminRefusal runs the decision's admin-list step for the demo's
// portal before anything is shown, and returns, when the admin list refuses
// it, what the demo adds to the launch's refusal: why a portal on
// 127.0.0.1 is refused (AllowAdminListOnly, as any portal the administrator
// did not list; or an admin list that cannot be used, which stops every
// launch), and how to see the rest of the flow anyway. nil: the admin list
// admits the portal or leaves it to the user list and the prompt.
func demoAdminRefusal(ctx context.Context, adminPath, launchURL string) []string {
	admin := policy.LoadAdmin(adminPath)
	d := whitelist.Decide(ctx, whitelist.Input{LaunchURL: launchURL, Admin: admin})
	switch d.Step {
	case whitelist.StepAdminOnlyRefused:
		from := admin.Path
		if admin.List != nil && admin.List.ModeFrom != "" {
			from = admin.List.ModeFrom
		}
		return []string{
			fmt.Sprintf("demo: this machine's admin whitelist is in %s mode (%s): only the servers it lists may launch, and the demo's portal on 127.0.0.1 is not one of them, so its launch is refused, as that of any portal your administrator did not list, and recorded (\"trustlaunch log\")", whitelist.Keyword, from),
			"to see the rest of the flow anyway, run \"trustlaunch demo --no-admin-list\": it reaches only its own servers on 127.0.0.1, and the admin list stays as it is",
		}
	case whitelist.StepAdminFileUnsafe:
		return []string{"demo: every launch stops until the admin whitelist is fixed, the demo's too; \"trustlaunch demo --no-admin-list\" shows the flow meanwhile"}
	}
	return nil
}

// demoPolicy gives the demo a policy of its own, in a temporary directory,
// that pins the key the demo's portal signs with: the launch then shows
// "signed by trustlaunch demo". done removes the directory. Launching on
// macOS is the administrator's to enable (macos_launch): the demo takes
// that one setting from the machine's admin policy at adminPolicy, never
// from its own file, which the user wrote.
func demoPolicy(world *demo.World, adminPolicy string) (*policy.Source, func(), error) {
	dir, err := os.MkdirTemp("", "trustlaunch-demo-policy-")
	if err != nil {
		return nil, nil, err
	}
	src, err := world.Policy(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	if runtime.GOOS == "darwin" {
		if m := policy.Load(adminPolicy); m.Err == nil && m.Policy != nil && m.Policy.MacOSLaunch {
			src.Policy.MacOSLaunch, src.Policy.MacOSLaunchFrom = true, m.Policy.MacOSLaunchSource()
		}
	}
	return &src, func() { os.RemoveAll(dir) }, nil
}

// demoEpilogue shows, once the launch is over, what a user never sees: what
// the portal and the proxy did, the record the launch left in the audit
// log, what Always did with the demo's temporary list, and where to go
// next. serving: demo --serve, whose temporary list lasts until it exits.
func demoEpilogue(s *stdio, world *demo.World, userList string, temporary bool, yours string, serving bool) {
	fmt.Fprintf(s.stderr, "\n%s", demoReport(world.Report()))
	if rec := demoAuditRecord(world.LaunchURL); rec != "" {
		fmt.Fprintf(s.stderr, "trustlaunch demo: the audit log recorded the launch (\"trustlaunch log\" lists it);\n")
		fmt.Fprintf(s.stderr, "  the ticket is not in it, and no token:\n%s\n", rec)
	}
	if user := whitelist.LoadUser(userList); temporary && user.List != nil && len(user.List.Entries) > 0 {
		fmt.Fprintf(s.stderr, "trustlaunch demo: Always added %s to the demo's temporary user list,\n", user.List.Entries[0])
		when := "now"
		if serving {
			when = "when the demo exits (the next launch is not asked)"
		}
		fmt.Fprintf(s.stderr, "  which is deleted %s; your own list (%s) was not changed.\n", when, yours)
	}
	fmt.Fprint(s.stderr, `trustlaunch demo: next: "trustlaunch register" makes this trustlaunch the
  handler of trustlaunch:// links. Administrators: docs/admin.md (packages,
  the admin whitelist). Portal developers: docs/descriptor.md. If a launch
  fails: docs/troubleshooting.md, by the step "trustlaunch log" shows.
`)
}

// demoReport says what the demo's portal and proxy did.
func demoReport(r demo.Report) string {
	var b strings.Builder
	b.WriteString("trustlaunch demo: what the portal and the proxy did:\n")
	switch {
	case r.Served == 0 && r.TicketsRefused == 0:
		b.WriteString("  portal  nothing: the descriptor is fetched only once the server is trusted\n")
	case r.Served > 0:
		signed := "unsigned"
		if r.Signed {
			signed = "signed with the key its policy names"
		}
		b.WriteString("  portal  took the link's single-use ticket (the same link again gets 410 Gone)\n")
		fmt.Fprintf(&b, "          and served the descriptor %s\n", signed)
	}
	if r.TicketsRefused > 0 {
		fmt.Fprintf(&b, "  portal  refused %s: the ticket was used already (410 Gone)\n", plural.Count(r.TicketsRefused, "fetch", "fetches"))
	}
	switch {
	case r.TokensAccepted == 0 && r.TokensRefused == 0:
		b.WriteString("  proxy   nothing: no tunnel was asked for\n")
	default:
		fmt.Fprintf(&b, "  proxy   accepted the session token: %s to the host, %s\n", plural.Count(r.TokensAccepted, "tunnel", "tunnels"), r.Host)
	}
	if r.TokensRefused > 0 {
		fmt.Fprintf(&b, "  proxy   refused %s with 407: token rejected\n", plural.Count(r.TokensRefused, "tunnel", "tunnels"))
	}
	return b.String()
}

// demoAuditRecord returns the audit record of the demo's launch, as
// indented JSON, or "" when there is none (the log cannot be read, or
// the launch stopped before it was recorded). The descriptor URL's
// origin, with its random port, tells it from other launches.
func demoAuditRecord(launchURL string) string {
	u, err := url.Parse(launchURL)
	if err != nil {
		return ""
	}
	l, err := audit.New(audit.Options{})
	if err != nil {
		return ""
	}
	recs, err := l.ReadRecent(20)
	if err != nil {
		return ""
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Origin != "https://"+u.Host {
			continue
		}
		line, err := json.Marshal(recs[i])
		var out bytes.Buffer
		if err != nil || json.Indent(&out, line, "  ", "  ") != nil {
			return ""
		}
		return "  " + out.String()
	}
	return ""
}

// answerPrompter answers every prompt the same way (demo --yes).
type answerPrompter struct{ a whitelist.Answer }

func (p answerPrompter) Prompt(context.Context, whitelist.PromptRequest) (whitelist.Answer, error) {
	return p.a, nil
}
