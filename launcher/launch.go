package launcher

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/phase"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Steps of a launch after the whitelist decision, as recorded in the audit
// log and in Result.Step: where inside its phase a launch ended. The
// decision's own steps are whitelist.Step values; the descriptor's are
// descriptor.StepFetch and the other descriptor steps; the tunnel's are
// connector.Step values.
const (
	StepProfile  = "profile"  // the descriptor's profile is not defined here
	StepListen   = "listen"   // the local end could not be opened, or not protected on this system
	StepEmulator = "emulator" // the emulator could not be started
	StepLaunched = "launched" // the emulator ran; its exit status is the result
)

// Options configure one launch.
type Options struct {
	LaunchURL string           // the descriptor URL, from link.DescriptorURL or link.Parse
	Admin     whitelist.Source // the admin list, from whitelist.LoadAdmin
	User      whitelist.Source // the user list, from whitelist.LoadUser
	Policy    policy.Source    // the admin policy, from policy.Load; zero: none
	Prompter  whitelist.Prompter

	// Fetch configures the descriptor fetch (CA roots, timeouts, the
	// client version). Launch sets URL, Origin, Secrets, Publishers,
	// UserAgent and Outbound itself.
	Fetch    descriptor.FetchOptions
	Profiles ProfileOptions // where the admin and user profiles live
	Audit    *audit.Log     // nil: no audit record (tests only)

	// UserAgent names trustlaunch to the portal, to an outbound proxy and
	// to the security proxy: the fetch and every tunnel send the same,
	// under connector.HeaderUserAgent's rule; connector.UserAgent("")
	// when empty.
	UserAgent string
	// Outbound is the outbound-proxy setting of the fetch and of every
	// tunnel; nil: the environment's (HTTPS_PROXY, NO_PROXY), read once
	// for both, and a malformed value ends the launch.
	Outbound *connector.OutboundProxy

	// Secrets is the run's registry of secrets (redact.Set), the one scrubber
	// of every text a launch writes: Launch adds the descriptor URL's query,
	// the fetch the outbound proxy's credentials, Launch the token once the
	// descriptor is decoded; the fetch's errors, the connector's and the audit
	// record are scrubbed with it. The caller scrubs what it prints with the
	// same registry. Nil: a registry of the launch's own.
	Secrets *redact.Set

	// Connector adjusts the connector configuration built from the
	// descriptor (timeouts, FIPS, a resolver in tests); nil: none.
	Connector func(*connector.Config)

	// The terminal: the emulator inherits it; the raw profile relays it.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Env is the emulator's environment (secrets removed by the caller);
	// nil: CleanEnv of this process's.
	Env []string
	// Interactive says the launch has a terminal (stdin is one). Without
	// one the "none" profile is refused: it would wait for a Ctrl-C that
	// nobody can type, holding the tunnel open.
	Interactive bool
	// Window runs the emulator in a terminal window of its own, through the
	// recorder (RunRecorder), for a profile that needs a terminal when the
	// launch has none. Nil: such a launch fails with a clear message.
	Window *TerminalWindow

	// Subreaper (Linux) makes this process a child subreaper while the
	// emulator runs and, at teardown, ends every descendant left: a
	// grandchild that double-forked and called setsid has left the
	// emulator's process group but is adopted here. Set it only in a
	// process that runs this one launch and starts no other children
	// (`open`): the teardown kills and reaps every child of the process.
	Subreaper bool

	// Demo marks the launch's records as a run of `trustlaunch demo`,
	// against its own embedded portal, proxy and host.
	Demo bool

	// Status receives the launch's progress, phase by phase, for the
	// status screen; nil: none.
	Status func(Event)
	// Tell shows the user why a launch failed or was refused, where the
	// caller's stderr may have no reader (a browser started the handler),
	// and returns how the user was told, for the audit record (Told).
	// Called once, after teardown, for a launch that failed or was
	// refused and not interrupted; nil: nobody is told here.
	Tell func(ctx context.Context, res *Result) string
	// Logf receives the connector's log lines; nil: none.
	Logf func(format string, args ...any)
}

// Event is one change on the status screen: a phase under way
// (phase.Running), one that succeeded (phase.Done, with Detail), or one that
// failed (phase.Failed, with Err). The whitelist phase is never reported
// under way: the trust prompt owns the terminal then.
type Event struct {
	Phase  phase.Phase
	State  phase.State
	Detail string // Done: what was found, sanitized
	Err    error  // Failed: why
}

// Result is the outcome of a launch.
type Result struct {
	// Outcome is how the launch ended: the classification the audit
	// record's decision, the OS log's event and the exit code share.
	Outcome    audit.Outcome
	Decision   whitelist.Decision
	Phase      phase.Phase // the phase that ended the launch
	Step       string      // the step that ended the launch, inside Phase
	ExitStatus int         // the emulator's exit status, when Step is StepLaunched
	Err        error       // why the launch failed; nil when refused or launched
	Added      *whitelist.Entry
	AddErr     error // Always could not be recorded (the launch went on)
}

// Refused reports whether policy or the user stopped the launch.
func (r *Result) Refused() bool { return r.Err == nil && !r.Decision.Proceed }

// Launch runs a whole launch, one step after the other (the methods of
// launch below, in this order):
//
//	precheck        refuse what no answer could make safe
//	decide          the whitelist decision; an Always answer recorded
//	fetch           the descriptor, from the origin that was decided
//	checkPolicy     the admin policy allows the descriptor
//	resolveProfile  the local profile the descriptor names
//	prepareLocal    the local end, the emulator's program, its terminal window
//	openTunnel      the connector, and the first tunnel dialed ahead
//	emulate         the emulator, until it exits
//
// then teardown, whichever step ended it, and the audit record. Nothing of
// the descriptor becomes a command line except through a profile defined
// on this machine.
//
// Each step's time counts to its phase (the audit record's timings): the
// runner starts the clock of a step's phase before it and stops it after,
// and the emulator's phase gives way to the session when the emulator
// starts (done).
func Launch(ctx context.Context, opts Options) *Result {
	l := newLaunch(opts)
	defer l.record(ctx) // last: it holds what teardown counted
	defer l.teardown()
	for _, step := range []struct {
		phase phase.Phase // "": not timed
		run   func(context.Context) *ending
	}{
		{"", l.precheck},
		{phase.Whitelist, l.decide},
		{phase.Descriptor, l.fetch},
		{phase.Policy, l.checkPolicy},
		{phase.Emulator, l.resolveProfile},
		{phase.Emulator, l.prepareLocal},
		{phase.Proxy, l.openTunnel},
		{phase.Emulator, l.emulate},
	} {
		l.clock.start(step.phase)
		e := step.run(ctx)
		l.clock.stop()
		if e != nil {
			l.end(e)
			break
		}
	}
	return l.res
}

// launch is the state one Launch carries from step to step.
type launch struct {
	opts    Options
	start   time.Time
	res     *Result
	rec     audit.Record
	secrets *redact.Set

	outbound *connector.OutboundProxy // opts.Outbound, or the environment's
	fetched  descriptor.FetchOptions  // what the descriptor was fetched with
	desc     *descriptor.Descriptor
	grant    policy.Grant
	prof     *Profile
	tree     *emulatorTree

	// What prepareLocal opened: the local end, on port, until the
	// connector serves it; the emulator to run (a command profile).
	ln   net.Listener
	port int
	spec emulatorSpec

	// The tunnel, once open: the connector serves the local end until
	// stopServe; first is the tunnel dialed ahead until the connector
	// takes it.
	conn      *connector.Connector
	first     net.Conn
	stopServe context.CancelFunc
	serving   sync.WaitGroup
	up, down  atomic.Int64

	recorder *recorderWatch // the recorder in a terminal window, when one runs
	reaping  bool           // this process is the emulator tree's subreaper

	clock  phaseClock    // the time of each phase, for the audit record
	prompt time.Duration // the wait for the user's answer
}

// session is the clock's name for the time the emulator runs, which
// follows the emulator's phase within its last step.
const session phase.Phase = "session"

// phaseClock adds up the time of each phase, one phase at a time.
type phaseClock struct {
	cur   phase.Phase // the phase being timed; "" none
	since time.Time
	took  map[phase.Phase]time.Duration
}

// start times p from now on; "" times nothing.
func (c *phaseClock) start(p phase.Phase) {
	c.cur, c.since = p, time.Now()
}

// stop adds the time since start to the phase being timed.
func (c *phaseClock) stop() {
	if c.cur == "" {
		return
	}
	if c.took == nil {
		c.took = map[phase.Phase]time.Duration{}
	}
	c.took[c.cur] += time.Since(c.since)
	c.cur = ""
}

func newLaunch(opts Options) *launch {
	l := &launch{opts: opts, start: time.Now(), res: &Result{}, secrets: opts.Secrets, tree: newEmulatorTree(opts.Subreaper)}
	if l.secrets == nil {
		l.secrets = &redact.Set{}
	}
	l.secrets.AddQuery(opts.LaunchURL)
	l.rec.Action, l.rec.Demo, l.rec.DescriptorURL = audit.ActionLaunch, opts.Demo, opts.LaunchURL
	return l
}

// ending is why a launch stopped before its emulator ran: the phase and
// the step, and the error (nil when the whitelist refused: the caller shows
// the decision's message).
type ending struct {
	phase phase.Phase
	step  string
	err   error
}

func failed(p phase.Phase, step string, err error) *ending { return &ending{p, step, err} }

// end is the one way a launch stops early: the result (and with it the
// audit record) takes the phase and step, and a failure is shown on the
// status screen.
func (l *launch) end(e *ending) {
	l.res.Phase, l.res.Step, l.res.Err = e.phase, e.step, e.err
	if e.err != nil {
		l.opts.status(Event{Phase: e.phase, State: phase.Failed, Err: e.err})
	}
}

func (l *launch) begin(p phase.Phase) { l.opts.status(Event{Phase: p, State: phase.Running}) }

func (l *launch) done(p phase.Phase, detail string) {
	if p == phase.Emulator {
		// The emulator starts now: the rest of the step is the session.
		l.clock.stop()
		l.clock.start(session)
	}
	l.opts.status(Event{Phase: p, State: phase.Done, Detail: detail})
}

// precheck refuses, before anyone is asked or anything is fetched, what no
// answer and no descriptor could make safe (fail closed).
func (l *launch) precheck(context.Context) *ending {
	// The local end admits only this user's connections, where the system
	// lets the connector check that. Elsewhere any local user could ride
	// the tunnel and the token it carries.
	if !connector.PeerCheckAvailable() {
		return failed(phase.Proxy, StepListen, fmt.Errorf("launching is not supported on %s: trustlaunch cannot check which user connects to the local end of the tunnel", runtime.GOOS))
	}
	// An admin policy that exists but cannot be used stops every launch,
	// like an unsafe admin list: a policy the machine cannot read may be
	// the one that forbids this launch.
	if l.opts.Policy.Err != nil {
		return failed(phase.Policy, policy.Step, l.opts.Policy.Err)
	}
	// macOS: only with the administrator's opt-in, and only when the
	// owner check proves itself on this machine (macgate.go).
	if err := platformGate(l.opts.Policy, l.opts.logf); err != nil {
		return failed(phase.Proxy, StepListen, err)
	}
	return nil
}

// decide asks the whitelist, and the user when the lists do not decide,
// and records an Always answer in the user list.
func (l *launch) decide(ctx context.Context) *ending {
	in := whitelist.Input{LaunchURL: l.opts.LaunchURL, Admin: l.opts.Admin, User: l.opts.User}
	if l.opts.Prompter != nil {
		in.Prompter = timedPrompter{l.opts.Prompter, &l.prompt}
	}
	d := whitelist.Decide(ctx, in)
	l.res.Decision = d
	l.rec.Whitelist = string(d.Step)
	if !d.Origin.IsZero() {
		l.rec.Origin = d.Origin.String()
	}
	if !d.Proceed {
		return &ending{phase: phase.Whitelist, step: string(d.Step)}
	}
	l.done(phase.Whitelist, fmt.Sprintf("%s (%s)", d.Origin, d.Step))
	if d.Step == whitelist.StepPromptAlways && l.opts.User.Path != "" {
		e := whitelist.EntryFor(d.Origin)
		if _, err := whitelist.AddToUserList(ctx, l.opts.User.Path, e); err != nil {
			// Always includes "proceed": failing to remember only means the
			// user is asked again next time.
			l.res.AddErr = err
		} else {
			l.res.Added = &e
		}
	}
	return nil
}

// fetch gets the descriptor from the origin that was decided, through the
// outbound proxy the tunnel will take too.
func (l *launch) fetch(ctx context.Context) *ending {
	l.begin(phase.Descriptor)
	l.outbound = l.opts.Outbound
	if l.outbound == nil {
		ob, err := connector.OutboundFromEnvironment(nil)
		if err != nil {
			return failed(phase.Descriptor, string(connector.StepOutbound), fmt.Errorf("outbound proxy: %w", err))
		}
		l.outbound = ob
	}
	fo := l.opts.Fetch
	fo.URL, fo.Origin, fo.Secrets = l.opts.LaunchURL, l.res.Decision.Origin, l.secrets
	fo.UserAgent, fo.Outbound = l.opts.UserAgent, l.outbound
	if l.opts.Policy.Policy != nil {
		fo.Publishers = l.opts.Policy.Policy // else none: a signed descriptor is refused
	}
	l.fetched = fo
	desc, err := descriptor.Fetch(ctx, fo)
	if err != nil {
		step := descriptor.StepFetch
		var fe *descriptor.FetchError
		if errors.As(err, &fe) {
			step = fe.Step
		}
		return failed(phase.Descriptor, step, err)
	}
	desc.Token.AddTo(l.secrets)
	l.desc = desc
	l.rec.Session = desc.Session
	l.rec.Proxy = desc.Proxy.Address
	l.rec.Destination = net.JoinHostPort(desc.Destination.Host, fmt.Sprint(desc.Destination.Port))
	l.rec.Publisher = desc.Publisher
	detail := fmt.Sprintf("%s: %s via %s", safetext.Sanitize(desc.Session), safetext.Sanitize(l.rec.Destination), safetext.Sanitize(desc.Proxy.Address))
	if desc.Publisher != "" {
		detail += ", signed by " + desc.Publisher
	}
	l.done(phase.Descriptor, detail)
	return nil
}

// checkPolicy asks the admin policy which proxies and destinations the
// descriptor may name, and whether it must be signed: before any
// connection, so a refused descriptor's token is never sent.
func (l *launch) checkPolicy(context.Context) *ending {
	p := l.opts.Policy.Policy
	if p != nil {
		l.begin(phase.Policy)
	}
	grant, err := p.Check(l.desc) // a nil policy allows what the descriptor names
	if err != nil {
		return failed(phase.Policy, policy.Step, err)
	}
	l.grant = grant
	if p != nil {
		l.done(phase.Policy, "allowed by "+l.opts.Policy.Path)
	}
	return nil
}

// resolveProfile finds the local profile the descriptor names, before any
// connection, so a bad name fails early. It is the emulator's phase; the
// status screen shows it only when it fails.
func (l *launch) resolveProfile(context.Context) *ending {
	profiles, err := LoadProfiles(l.opts.Profiles)
	if err != nil {
		return failed(phase.Emulator, StepProfile, err)
	}
	for _, w := range profiles.Warnings {
		l.opts.logf("%s", w)
	}
	prof, err := profiles.Resolve(l.desc.Profile)
	if err == nil && prof.Kind == ProfileNone && !l.opts.Interactive {
		err = fmt.Errorf("profile %q waits for Ctrl-C on a terminal, and this launch has none (started by a browser?); ask your administrator for a profile that runs an emulator", prof.Name)
	}
	if err != nil {
		return failed(phase.Emulator, StepProfile, err)
	}
	l.prof = prof
	return nil
}

// prepareLocal opens and checks what is on this machine before the proxy
// sees the token, which the portal issued for one use: the local end (a
// fixed listen_port may be taken), the emulator's program (it may not be
// installed) and the terminal window it needs (there may be none). A
// problem found here costs the user a fix and a click, not a trip back to
// the portal for a new ticket.
func (l *launch) prepareLocal(context.Context) *ending {
	ln, err := l.prof.Listen() // 127.0.0.1, a free port or the admin profile's listen_port
	if err != nil {
		return failed(phase.Proxy, StepListen, err)
	}
	l.ln, l.port = ln, ln.Addr().(*net.TCPAddr).Port
	if l.prof.Kind != ProfileCommand {
		return nil
	}
	argv, err := l.prof.Command("127.0.0.1", l.port, l.desc.Session)
	if err != nil {
		return failed(phase.Emulator, StepEmulator, err)
	}
	l.spec = emulatorSpec{argv: argv, env: l.opts.Env, stdin: l.opts.Stdin, stdout: l.opts.Stdout, stderr: l.opts.Stderr, started: l.tree.running}
	if l.prof.Terminal && !l.opts.Interactive {
		if l.opts.Window == nil {
			err = fmt.Errorf("profile %q runs in a terminal, and this launch has none", l.prof.Name)
		} else {
			l.recorder, err = prepareWindow(l.opts.Window, &l.spec)
		}
		if err != nil {
			return failed(phase.Emulator, StepEmulator, err)
		}
	}
	return nil
}

// openTunnel builds the connector from the descriptor and the policy's
// grant, dials the first tunnel ahead so the emulator's first connection
// does not wait, and serves the local end.
func (l *launch) openTunnel(ctx context.Context) *ending {
	l.begin(phase.Proxy)
	cfg := l.desc.ConnectorConfig()
	if e := l.trustMachineRoots(&cfg); e != nil {
		return e
	}
	l.grant.Apply(&cfg)
	cfg.Secrets, cfg.Logf = l.secrets, l.opts.Logf
	cfg.UserAgent, cfg.Outbound = l.opts.UserAgent, l.outbound
	// During `open`, a command profile admits only the connections of the
	// emulator it starts and its descendants (a browser page of the same
	// user scanning 127.0.0.1 is refused). The raw profile connects from
	// this process, and the none profile from an emulator the user starts:
	// both keep the same-user rule.
	if l.prof.Kind == ProfileCommand {
		cfg.AdmitProcess, cfg.ProcessRoots = l.tree.admit, l.tree.roots
	}
	cfg.OnTunnelDone = func(sent, received int64, _ error) {
		l.up.Add(sent)
		l.down.Add(received)
	}
	if l.opts.Connector != nil {
		l.opts.Connector(&cfg)
	}
	conn, err := connector.New(cfg)
	if err != nil {
		return failed(phase.Proxy, descriptor.StepValidate, err)
	}
	l.first, err = conn.Dial(ctx)
	// The choice is recorded for a failure too: which proxies were tried
	// is what an administrator needs to see then.
	if ch, ok := l.outbound.Chosen(cfg.ProxyAddr); ok {
		l.rec.Outbound = ch.String()
	}
	if err != nil {
		step := connector.StepTCP
		var se *connector.StepError
		if errors.As(err, &se) {
			step = se.Step
		}
		return failed(phase.Proxy, string(step), err)
	}
	l.conn = conn
	ln, first := l.ln, l.first
	l.ln, l.first = nil, nil // the connector's now
	serveCtx, stop := context.WithCancel(ctx)
	l.stopServe = stop
	l.serving.Go(func() {
		if err := conn.ServePreDialed(serveCtx, ln, first); err != nil {
			l.opts.logf("serve: %v", err)
		}
	})
	if t, ok := connector.Times(first); ok {
		l.rec.Timings.ProxyTCP, l.rec.Timings.ProxyTLS, l.rec.Timings.ProxyRequest = t.TCP, t.TLS, t.Request
	}
	if st, ok := connector.ProxyTLS(first); ok {
		via := ""
		if ch, ok := connector.Route(first); ok && (ch.By != "" || ch.Via != "DIRECT") {
			via = "; via " + ch.String()
		}
		l.done(phase.Proxy, fmt.Sprintf("%s, %s; token accepted%s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), safetext.Sanitize(via)))
	}
	return nil
}

// trustMachineRoots gives the proxy, and an end-to-end TLS destination,
// the roots the portal was verified with (this machine's, plus the admin CA
// bundle) where the descriptor names none of its own: the administrator
// decides what this machine trusts, for every connection trustlaunch
// makes. A descriptor's proxy.ca_pem still replaces them for the proxy.
func (l *launch) trustMachineRoots(cfg *connector.Config) *ending {
	needProxy := cfg.RootCAs == nil
	needDest := cfg.EndToEndTLS && cfg.DestRootCAs == nil
	if !needProxy && !needDest {
		return nil
	}
	roots, err := l.fetched.Roots()
	if err != nil {
		return failed(phase.Proxy, string(connector.StepTLS), err)
	}
	if needProxy {
		cfg.RootCAs = roots
	}
	if needDest {
		cfg.DestRootCAs = roots
	}
	return nil
}

// emulate runs what the profile says: an emulator (command), a relay of
// this terminal (raw), or nothing while the user's own emulator connects
// (none). Its exit status is the launch's result.
func (l *launch) emulate(ctx context.Context) *ending {
	var status int
	switch l.prof.Kind {
	case ProfileCommand:
		var e *ending
		if status, e = l.runCommand(ctx); e != nil {
			return e
		}
	case ProfileRaw:
		l.done(phase.Emulator, "this terminal (profile raw)")
		if err := relayTerminal(ctx, fmt.Sprintf("127.0.0.1:%d", l.port), l.opts.Stdin, l.opts.Stdout); err != nil && ctx.Err() == nil {
			return failed(phase.Emulator, StepEmulator, err)
		}
	case ProfileNone:
		l.done(phase.Emulator, fmt.Sprintf("none: connect your emulator to 127.0.0.1:%d; Ctrl-C ends the session", l.port))
		fmt.Fprintf(l.opts.Stdout, "listening on 127.0.0.1:%d\n", l.port)
		<-ctx.Done()
	}
	l.res.Phase, l.res.Step, l.res.ExitStatus = phase.Emulator, StepLaunched, status
	l.rec.ExitStatus = &status
	return nil
}

// runCommand starts the emulator prepareLocal found, in a terminal window
// through the recorder when it needs a terminal the launch lacks, and waits
// for it.
func (l *launch) runCommand(ctx context.Context) (int, *ending) {
	spec := l.spec
	runCtx := ctx
	if l.recorder != nil {
		// Whoever else claims to be the recorder ends the window's run,
		// and (below) the launch.
		var endRun context.CancelCauseFunc
		runCtx, endRun = context.WithCancelCause(ctx)
		defer endRun(nil)
		l.recorder.serve(endRun)
		l.tree.recorder.Store(l.recorder)
	}
	l.done(phase.Emulator, fmt.Sprintf("%s (profile %s)", safetext.Sanitize(spec.argv[0]), l.prof.Name))
	if l.opts.Subreaper {
		if err := becomeSubreaper(); err != nil {
			return 0, failed(phase.Emulator, StepEmulator, fmt.Errorf("become the subreaper of the emulator's processes: %w", err))
		}
		l.reaping = true
	}
	status, err := runEmulator(runCtx, spec)
	if l.recorder != nil {
		st, ok, terr := l.recorder.finish()
		switch {
		case terr != nil:
			return 0, failed(phase.Emulator, StepRecorder, terr)
		case ok:
			status = st
		case err == nil:
			l.opts.logf("the emulator's exit status is unknown (its recorder handed none back): reporting the terminal window's, %d", status)
		}
	}
	if err != nil {
		return 0, failed(phase.Emulator, StepEmulator, err)
	}
	return status, nil
}

// teardown ends what the steps started, whichever step ended the launch,
// in this order:
//
//  1. every process the emulator left (as the Linux subreaper): nothing of
//     the emulator's outlives the launch, or connects while the relays end;
//  2. the watch on a terminal window's recorder;
//  3. the local end and every relay, waited for; their byte counts and the
//     tunnels reopened go to the audit record;
//  4. the local end and the first tunnel, when they were opened and never
//     served;
//  5. peer checks still waiting for an emulator that never started.
func (l *launch) teardown() {
	if l.reaping {
		endDescendants()
	}
	if l.recorder != nil {
		l.recorder.finish()
	}
	if l.stopServe != nil {
		l.stopServe()
		l.serving.Wait()
		l.recordTunnels()
	}
	if l.ln != nil {
		l.ln.Close()
	}
	if l.first != nil {
		l.first.Close()
	}
	l.tree.settle()
}

// recordTunnels puts the tunnel's byte counts in the audit record and tells
// how often the tunnel was reopened: once the session is over, since the
// emulator owned the screen while the tunnel came back, and this is the
// last line the held log prints after it exits.
func (l *launch) recordTunnels() {
	l.rec.BytesUp, l.rec.BytesDown = l.up.Load(), l.down.Load()
	n := l.conn.Tunnels() - 1
	if n <= 0 {
		return
	}
	l.rec.Reconnects = n
	times := "times"
	if n == 1 {
		times = "time"
	}
	l.opts.logf("tunnel reopened %d %s during the session, each time with the same session token, to %s through %s",
		n, times, safetext.Sanitize(l.rec.Destination), safetext.Sanitize(l.rec.Proxy))
}

// record classifies the launch's outcome and appends its audit record,
// scrubbed of the run's secrets.
func (l *launch) record(ctx context.Context) {
	res, rec := l.res, l.rec
	res.Outcome = l.outcome(ctx)
	rec.Duration = time.Since(l.start)
	took := l.clock.took
	rec.Timings.Decision, rec.Timings.Prompt, rec.Timings.Fetch, rec.Timings.Policy = took[phase.Whitelist], l.prompt, took[phase.Descriptor], took[phase.Policy]
	rec.Timings.Proxy, rec.Timings.Emulator, rec.Timings.Session = took[phase.Proxy], took[phase.Emulator], took[session]
	rec.Decision, rec.Step = res.Outcome, res.Step
	if res.Err != nil {
		rec.Error = res.Err.Error()
	} else if res.Refused() {
		rec.Error = res.Decision.Message
	}
	if l.opts.Tell != nil && (res.Outcome.Refused() || res.Outcome == audit.Failed) {
		rec.Told = l.opts.Tell(ctx, res)
	}
	if l.opts.Audit != nil {
		if err := l.opts.Audit.AppendAfter(ctx, rec.Scrubbed(l.secrets)); err != nil {
			l.opts.logf("audit log: %v", err)
		}
	}
}

// timedPrompter measures the wait for the user's answer, which is part of
// the trust decision (whitelist.Decide asks the Prompter).
type timedPrompter struct {
	p    whitelist.Prompter
	took *time.Duration
}

func (t timedPrompter) Prompt(ctx context.Context, req whitelist.PromptRequest) (whitelist.Answer, error) {
	start := time.Now()
	defer func() { *t.took = time.Since(start) }()
	return t.p.Prompt(ctx, req)
}

// outcome classifies how the launch ended (audit.Outcome). A Ctrl-C at the
// trust prompt is an interruption, not the user's No; an admin policy that
// refused the descriptor or cannot be used is a refusal, not a failure.
func (l *launch) outcome(ctx context.Context) audit.Outcome {
	res := l.res
	switch {
	case ctx.Err() != nil || errors.Is(res.Decision.Err, whitelist.ErrInterrupted):
		return audit.Interrupted
	case res.Refused() && res.Decision.Step == whitelist.StepPromptNo:
		return audit.RefusedUser
	case res.Refused():
		return audit.RefusedWhitelist
	case res.Err != nil && res.Step == policy.Step:
		return audit.RefusedPolicy
	case res.Err != nil:
		return audit.Failed
	}
	return audit.Launched
}

// emulatorTree is who may use the tunnel during a launch with a command
// profile: the emulator, the recorder in a terminal window once it has
// reported itself, and their descendants. admit and roots are per OS:
// emulator_linux.go walks the connecting process's parents up to the
// emulator or the recorder (roots are where the connector starts its
// search for the socket's holder); emulator_windows.go admits a process of
// the emulator's Job Object, which holds the recorder too, and needs no
// roots, since the TCP table names the process; emulator_darwin.go walks
// the parent chain as Linux does (kern.proc.pid), with the tracker of
// internal/proctree in place of the subreaper.
type emulatorTree struct {
	emulator atomic.Int64                  // the emulator's pid once started, else 0
	group    atomic.Pointer[processGroup]  // the emulator's group (Windows: its Job Object), set with emulator
	recorder atomic.Pointer[recorderWatch] // the recorder in a terminal window, when one reports itself
	reaper   bool                          // this process is the subreaper of the tree

	// ready is closed once the emulator's pid is known (or its start
	// failed). An emulator connects as soon as it runs, which can be before
	// os/exec's Start has returned its pid to started: a check that found
	// no emulator then would refuse the emulator's own first connection.
	ready     chan struct{}
	readyOnce sync.Once
}

func newEmulatorTree(reaper bool) *emulatorTree {
	return &emulatorTree{reaper: reaper, ready: make(chan struct{})}
}

// emulatorStartWait bounds how long a check waits for the emulator's pid;
// Start returns microseconds after the exec, so this is only a backstop.
const emulatorStartWait = 5 * time.Second

// running records the emulator runEmulator started in g.
func (t *emulatorTree) running(g *processGroup) {
	t.group.Store(g)
	t.started(g.cmd.Process.Pid)
}

func (t *emulatorTree) started(pid int) {
	t.emulator.Store(int64(pid))
	t.settle()
}

func (t *emulatorTree) settle() { t.readyOnce.Do(func() { close(t.ready) }) }

// emulatorPID returns the emulator's pid once it has started, waiting for
// it (see ready); 0 when its start failed.
func (t *emulatorTree) emulatorPID() int {
	select {
	case <-t.ready:
	case <-time.After(emulatorStartWait):
	}
	return int(t.emulator.Load())
}

// ids returns the processes whose descendants are admitted.
func (t *emulatorTree) ids() map[int]bool {
	ids := make(map[int]bool, 2)
	if p := t.emulatorPID(); p > 0 {
		ids[p] = true
	}
	if r := t.recorder.Load(); r != nil {
		if p, ok := r.admitted(); ok {
			ids[p] = true
		}
	}
	return ids
}

func (o *Options) status(e Event) {
	if o.Status != nil {
		o.Status(e)
	}
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// relayTerminal is the raw profile: it connects to the tunnel's local end as
// an emulator would and relays the terminal to it, text from the host
// sanitized on its way to the screen. It ends when the host closes the
// connection or ctx ends; the end of stdin half-closes the tunnel.
func relayTerminal(ctx context.Context, addr string, in io.Reader, out io.Writer) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to the tunnel at %s: %w", addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	go func() {
		// Copying stdin may block in Read after the session ended; that
		// goroutine ends with the process, which is why it is not awaited.
		io.Copy(c, in)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	w := safetext.NewWriter(out)
	_, err = io.Copy(w, c)
	w.Flush()
	if err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("relay: %w", err)
	}
	return nil
}

// CleanEnv returns env without variables that may carry a secret, so an
// emulator never inherits one: trustlaunch's own (TRUSTLAUNCH_*, such as the
// token of `connect`), and what a browser exports to the handlers it starts
// (Debian's Chromium wrapper exports its Google API keys and client secret),
// plus any variable whose name says it holds a token, secret, password or
// key: the token never reaches a child's environment
// (docs/design.md "Connector").
func CleanEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if secretEnv(strings.ToUpper(name)) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func secretEnv(name string) bool {
	for _, p := range []string{"TRUSTLAUNCH_", "GOOGLE_", "CHROME", "CHROMIUM_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, w := range []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
