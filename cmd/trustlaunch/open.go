package main

import (
	"context"
	"fmt"
	"os"

	xterm "github.com/charmbracelet/x/term"
	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/connector/proxyauth"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/phase"
	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/link"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/tui"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

const openUsage = `Open a trustlaunch:// link. This is the command the browser runs.

Usage:
  trustlaunch open [--no-tui] -- 'trustlaunch://launch?url=<https URL>'

The link must come after "--" and be the only argument, so that a crafted
link can never be read as a flag. trustlaunch then
  1. decides whether the link's server may launch anything here: the admin
     list, then your user list, then a prompt (Always / Yes / No, default No);
  2. fetches the launch descriptor from that server over HTTPS;
  3. opens a TLS tunnel to the security proxy carrying the session token;
  4. starts the emulator of the descriptor's profile (defined on this
     machine) pointed at the tunnel, and tears down when it exits.
The exit status is the emulator's once it ran.

A portal's installation check, trustlaunch://detect?url=<https URL>, runs
step 1 without a prompt and, only when the admin list or your user list
names the server and the URL's path is /.well-known/trustlaunch/detect,
POSTs this version, OS and architecture to that URL (at most once per host
per 10 s, whatever the port); any other server gets nothing.

Examples:
  trustlaunch open -- 'trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fs%2F1'
  trustlaunch open --no-tui -- 'trustlaunch://launch?url=...'
`

// openOptions are the flags of `open`.
type openOptions struct {
	prompt   *promptFlags
	paths    *listPaths
	outbound outboundFlags
}

func cmdOpen(ctx context.Context, s *stdio, args []string) (code int) {
	defer func() { tellIfSilent(ctx, s, code) }()
	o, raw, code, ok := parseOpen(s, args)
	if !ok {
		return code
	}
	return openURL(ctx, s, o, raw)
}

// newOpenFlagSet is the flag set of open, shared with the form that takes
// the URL from a descriptor (openFDCommand), so both accept the same flags.
func newOpenFlagSet(s *stdio, name, help string) (*pflag.FlagSet, *openOptions) {
	fs := newFlagSet(name, help, s)
	o := &openOptions{prompt: addPromptFlags(fs)}
	addOutboundFlag(fs, &o.outbound)
	o.paths = addListFlags(fs)
	return fs, o
}

// outboundFlags are --outbound-proxy and --outbound-proxy-credentials.
type outboundFlags struct {
	url         string
	credentials string
}

// addOutboundFlag adds --outbound-proxy and --outbound-proxy-credentials,
// shared by open and connect.
func addOutboundFlag(fs *pflag.FlagSet, v *outboundFlags) {
	fs.StringVar(&v.url, "outbound-proxy", "", "reach the security proxy and the portal through this HTTP proxy, `URL` http://HOST:PORT; a list \"PROXY HOST:PORT; PROXY HOST2:PORT; DIRECT\" tried in order; the PAC script pac+http://HOST/PATH (or pac+https://); or \"none\" (default: HTTPS_PROXY and NO_PROXY; then the admin policy's outbound_pac; on Windows then the system proxy setting, PAC included)")
	fs.StringVar(&v.credentials, "outbound-proxy-credentials", "", "read the outbound proxy's Basic credentials, USER:PASSWORD, from `FILE` (yours, mode 600); a password in the proxy URL works but other programs can read it")
}

// outboundSetting returns the one outbound-proxy setting of a run, used by
// the descriptor fetch and the tunnel alike (outboundWithCredentials),
// and warns about a password written in the proxy URL.
func outboundSetting(s *stdio, f outboundFlags, policyPath string) (*connector.OutboundProxy, error) {
	ob, err := outboundWithCredentials(s, f, policyPath)
	if err == nil && ob.PasswordInURL() {
		s.warnf("%s", passwordInURLWarning(ob))
	}
	return ob, err
}

// outboundWithCredentials is the setting outboundProxy chooses, with the
// credentials of --outbound-proxy-credentials.
func outboundWithCredentials(s *stdio, f outboundFlags, policyPath string) (*connector.OutboundProxy, error) {
	ob, err := outboundProxy(s, f.url, policyPath)
	if err != nil || f.credentials == "" {
		return ob, err
	}
	user, pass, err := proxyauth.ReadCredentialsFile(f.credentials)
	if err != nil {
		return nil, fmt.Errorf("--outbound-proxy-credentials: %w", err)
	}
	return ob.WithCredentials(user, pass)
}

// passwordInURLWarning says why a password in the proxy URL is a risk and
// what to do instead; open and connect print it, doctor reports it.
func passwordInURLWarning(ob *connector.OutboundProxy) string {
	return "the outbound proxy URL (" + ob.Source() + ") holds a password, which your other programs can read from the command line or the environment: put USER:PASSWORD in a file only you can read and give it with --outbound-proxy-credentials"
}

// parseOpen parses open's command line and returns the options and the
// link as given, not yet validated. ok is false, with the exit code,
// when open must stop (a usage error, --help).
func parseOpen(s *stdio, args []string) (o openOptions, raw string, code int, ok bool) {
	fs, op := newOpenFlagSet(s, "open", openUsage)
	if code, ok := parseFlags(fs, args, s); !ok {
		return o, "", code, false
	}
	// Exactly one argument, and it must follow "--": URL-handler argument
	// injection (a link that smuggles "--flag") is the classic launcher attack.
	if fs.ArgsLenAtDash() != 0 || fs.NArg() != 1 {
		s.errorf("open: want exactly one URL after \"--\", as in: trustlaunch open -- 'trustlaunch://launch?url=...'")
		return o, "", exitUsage, false
	}
	if code, ok := op.check(s, "open"); !ok {
		return o, "", code, false
	}
	return *op, fs.Arg(0), 0, true
}

// check validates the flag values once parsed.
func (o *openOptions) check(s *stdio, cmd string) (code int, ok bool) {
	return o.prompt.check(s, cmd)
}

// openURL validates the link, wherever it came from (the command line,
// or the descriptor of openFDCommand), and launches it.
func openURL(ctx context.Context, s *stdio, o openOptions, raw string) int {
	lnk, err := link.Parse(raw)
	if err != nil {
		return badLink(ctx, s, err)
	}
	if err := o.paths.resolve(); err != nil {
		s.errorf("open: %v", err)
		return exitFailure
	}
	outbound, err := outboundSetting(s, o.outbound, o.paths.policy)
	if err != nil {
		// HTTPS_PROXY in the desktop's environment (a socks5:// one, say)
		// stops every launch a browser starts: recorded, and told.
		return openFailed(ctx, s, "trustlaunch: launch failed", string(connector.StepOutbound), exitUsage, fmt.Errorf("outbound proxy: %w", err))
	}
	if lnk.Action == link.ActionDetect {
		// The detection POST takes the same outbound proxy as the fetch
		// and the tunnel. Never prompts: detect.go. Nor tells: a portal
		// runs it in the background, and the user asked for nothing.
		s.told = true
		return runDetect(ctx, s, o.paths, lnk.URL, outbound)
	}
	return runLaunch(ctx, s, launchSetup{target: lnk.URL, paths: o.paths, prompter: newPrompter(s, o.prompt), plain: o.prompt.noTUI, outbound: outbound})
}

// badLink reports a link that link.Parse refused (openFailed, at
// link.StepLaunchURL), and returns the exit code. err names what is wrong
// and where, never the link's query, which holds the ticket.
func badLink(ctx context.Context, s *stdio, err error) int {
	return openFailed(ctx, s, "trustlaunch: launch refused", link.StepLaunchURL, exitFor(audit.Failed, link.StepLaunchURL, 0), err)
}

// openFailed reports a launch that failed before launcher.Launch could
// run, at step, and returns code: on stderr, in the audit log (decision
// "failed") and, without a terminal, as a desktop notification or in a
// window (tellUser, under title), so that a launch a browser started does
// not fail unseen; the record says how the user was told.
func openFailed(ctx context.Context, s *stdio, title, step string, code int, err error) int {
	s.errorf("open: %v", err)
	told := tellUser(ctx, title, s.secrets.Scrub("open: "+err.Error()))
	s.told = true
	// The launch never got as far as the flags' policy: the admin policy
	// is the one at its fixed path.
	if alog, aerr := newAuditLog(policy.Load(platform.AdminPolicyPath())); aerr != nil {
		s.warnf("no audit log: %v", aerr)
	} else {
		rec := audit.Record{Action: audit.ActionLaunch, Decision: audit.Failed, Step: step, Error: err.Error(), Told: told}
		if aerr := alog.AppendAfter(ctx, rec.Scrubbed(s.registry())); aerr != nil {
			s.warnf("audit log: %v", aerr)
		}
	}
	return code
}

// launchSetup is what differs between `open` and `demo`.
type launchSetup struct {
	target   string
	paths    *listPaths
	prompter whitelist.Prompter
	fetch    descriptor.FetchOptions
	plain    bool              // --no-tui: status as plain lines too
	policy   *policy.Source    // the demo's own policy; nil: load paths.policy
	admin    *whitelist.Source // demo --no-admin-list: none; nil: load paths.admin
	// outbound is the outbound-proxy setting of the fetch and the tunnel;
	// nil: both take the environment's (launcher.Options.Outbound).
	outbound *connector.OutboundProxy
	demo     bool // `trustlaunch demo`: its records are marked so
}

// lists loads the whitelists of a launch: paths', or the demo's admin
// list when it has one (demo --no-admin-list).
func (ls launchSetup) lists(s *stdio) (admin, user whitelist.Source) {
	admin, user = loadLists(s, ls.paths)
	if ls.admin != nil {
		admin = *ls.admin
	}
	return admin, user
}

// runLaunch runs launcher.Launch with the terminal and the audit log and
// turns its result into an exit code from the table.
func runLaunch(ctx context.Context, s *stdio, ls launchSetup) int {
	admin, user := ls.lists(s)
	held := &heldLog{print: s.logf}
	defer held.release()
	opts := launcher.Options{
		Secrets:   s.registry(),
		LaunchURL: ls.target,
		Admin:     admin,
		User:      user,
		Policy:    ls.policySource(),
		Prompter:  ls.prompter,
		Fetch:     ls.fetch,
		Stdin:     s.stdin,
		Stdout:    s.stdout,
		Stderr:    s.stderr,
		Env:       launcher.CleanEnv(os.Environ()),
		// A browser starts the handler with stdin on /dev/null; a terminal
		// emulator then gets a terminal window of its own.
		Interactive: isTerminal(s.stdin),
		Window:      terminalWindow(),
		Logf:        held.logf,
		Subreaper:   true, // this process runs one launch: end what the emulator leaves
		UserAgent:   connector.UserAgent(versionString()),
		Outbound:    ls.outbound,
		Demo:        ls.demo,
	}
	opts.Fetch.ClientVersion = versionString() // a descriptor's min_version is checked against it
	opts.Tell = tellLaunch(s)
	// The status screen starts with the first event, which comes after the
	// decision, so it never draws over the trust prompt (or is a failure
	// before anyone was asked), and ends before the emulator starts.
	var status *tui.Status
	opts.Status = func(e launcher.Event) {
		if status == nil {
			status = tui.NewStatus(tui.StatusOptions{Out: s.stderr, Plain: ls.plain || !isTerminal(s.stderr), NoColor: s.getenv("NO_COLOR") != ""})
		}
		switch e.State {
		case phase.Running:
			status.Begin(e.Phase)
		case phase.Failed:
			status.Fail(e.Phase)
		case phase.Done:
			status.Done(e.Phase, e.Detail)
			if e.Phase == phase.Emulator {
				status.Close()
				if isTerminal(s.stderr) {
					held.hold() // the emulator draws on this terminal now
				}
			}
		}
	}
	machine := opts.Policy // the demo's policy is its own, not this machine's
	if ls.policy != nil {
		machine = policy.Load(ls.paths.policy)
	}
	if alog, err := newAuditLog(machine); err != nil {
		s.warnf("no audit log: %v", err)
	} else {
		opts.Audit = alog
	}
	res := launcher.Launch(ctx, opts)
	// The launch told the user of its failure or refusal itself
	// (opts.Tell, in its audit record); an interrupted one needs no telling.
	s.told = true
	held.release() // the emulator has exited: what it held goes out first
	if status != nil {
		status.Close() // after a failure, before the error lines below
	}

	if res.Added != nil {
		fmt.Fprintf(s.stderr, "trustlaunch: added %s to %s\n", res.Added, ls.paths.user)
	}
	if res.AddErr != nil {
		s.warnf("could not add the server to your whitelist: %v", res.AddErr)
	}
	switch {
	case res.Outcome == audit.Interrupted:
		s.errorf("open: interrupted; everything was stopped")
	case res.Refused():
		s.errorf("%s", res.Decision.Message)
		if fix := fixFor(res.Decision.Err); fix != "" {
			s.hintf("%s", fix)
		}
	case res.Err != nil:
		s.errorf("%s: %v", res.Step, res.Err)
		if h := hintOf(res.Err); h != "" {
			s.hintf("%s", h)
		}
	}
	return exitFor(res.Outcome, res.Step, res.ExitStatus)
}

// isTerminal reports whether a stdio stream (an io.Reader or io.Writer) is a
// terminal.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && xterm.IsTerminal(f.Fd())
}
