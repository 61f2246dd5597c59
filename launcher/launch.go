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

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Steps of a launch after the whitelist decision, as shown on the status
// screen and recorded in the audit log. The decision's own steps are
// whitelist.Step values; the descriptor's are descriptor.StepFetch and the
// other descriptor steps; the tunnel's are connector.Step values.
const (
	StepProfile  = "profile"  // the descriptor's profile is not defined here
	StepListen   = "listen"   // the local end could not be opened, or not protected on this system
	StepEmulator = "emulator" // the emulator could not be started
	StepLaunched = "launched" // the emulator ran; its exit status is the result
)

// Options configure one launch.
type Options struct {
	LaunchURL string           // the descriptor URL, from ParseLaunchURL
	Admin     whitelist.Source // the admin list, from whitelist.LoadAdmin
	User      whitelist.Source // the user list, from whitelist.LoadUser
	Policy    policy.Source    // the admin policy, from policy.Load; zero: none
	Prompter  whitelist.Prompter

	Fetch    descriptor.FetchOptions // URL, Origin and Secrets are filled in by Launch
	Profiles ProfileOptions          // where the admin and user profiles live
	Audit    *AuditLog               // nil: no audit record (tests only)

	// Secrets is the run's registry of secrets (redact.Set), the one
	// scrubber of every text a launch writes: Launch adds the launch URL's
	// query, the fetch the outbound proxy's credentials, Launch the token
	// once the descriptor is decoded; the fetch's errors, the connector's
	// and the audit record are scrubbed with it. The caller scrubs what it
	// prints with the same registry. Nil: a registry of the launch's own.
	Secrets *redact.Set

	// Connector adjusts the connector configuration built from the
	// descriptor (timeouts, FIPS, a resolver in tests); it may not be nil-
	// checked by callers: Launch skips it when nil.
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

	// Status receives progress for the status screen; nil: none.
	Status func(Event)
	// Logf receives the connector's log lines; nil: none.
	Logf func(format string, args ...any)
}

// Event is one line of progress: a step that succeeded (OK, with Detail)
// or failed (Err).
type Event struct {
	Step   string // whitelist, descriptor, proxy, emulator
	OK     bool
	Detail string // sanitized
	Err    error
}

// Result is the outcome of a launch.
type Result struct {
	Decision   whitelist.Decision
	Step       string // the step that ended the launch
	ExitStatus int    // the emulator's exit status, when Step is StepLaunched
	Err        error  // why the launch failed; nil when refused or launched
	Added      *whitelist.Entry
	AddErr     error // Always could not be recorded (the launch went on)
}

// Refused reports whether policy or the user stopped the launch.
func (r *Result) Refused() bool { return r.Err == nil && !r.Decision.Proceed }

// Launch runs a whole launch: decide, record an Always answer, fetch the
// descriptor, resolve the profile, open the local end, dial the first tunnel
// ahead, start the emulator, relay until it exits, tear everything down and
// write the audit record. Nothing of the descriptor becomes a command line
// except through a profile defined on this machine.
func Launch(ctx context.Context, opts Options) *Result {
	start := time.Now()
	res := &Result{}
	secrets := opts.Secrets
	if secrets == nil {
		secrets = &redact.Set{}
	}
	secrets.AddQuery(opts.LaunchURL)
	rec := AuditRecord{DescriptorURL: opts.LaunchURL}
	defer func() {
		rec.Duration = time.Since(start)
		rec.Step = res.Step
		switch {
		case ctx.Err() != nil:
			rec.Decision = "interrupted"
		case res.Refused():
			rec.Decision = "refused"
		case res.Err != nil:
			rec.Decision = "failed"
		default:
			rec.Decision = "launched"
		}
		if res.Err != nil {
			rec.Error = res.Err.Error()
		} else if res.Refused() {
			rec.Error = res.Decision.Message
		}
		if opts.Audit != nil {
			if err := opts.Audit.AppendAfter(ctx, rec.withoutSecrets(secrets)); err != nil {
				opts.logf("audit log: %v", err)
			}
		}
	}()

	// 0. The local end admits only this user's connections, where the
	// system lets the connector check that. Elsewhere any local user could
	// ride the tunnel and the token it carries: launch nothing (fail
	// closed), before anyone is asked or anything is fetched.
	if !connector.PeerCheckAvailable() {
		res.Step = StepListen
		res.Err = fmt.Errorf("launching is not supported on %s: trustlaunch cannot check which user connects to the local end of the tunnel", runtime.GOOS)
		return res
	}

	// 0b. An admin policy that exists but cannot be used stops every
	// launch (fail closed, like an unsafe admin list), before anyone is
	// asked: a policy the machine cannot read may be the one that forbids
	// this launch.
	if opts.Policy.Err != nil {
		res.Step = policy.Step
		res.Err = opts.Policy.Err
		return res
	}

	// 1. The whitelist decision.
	d := whitelist.Decide(ctx, whitelist.Input{LaunchURL: opts.LaunchURL, Admin: opts.Admin, User: opts.User, Prompter: opts.Prompter})
	res.Decision = d
	res.Step = string(d.Step)
	rec.Whitelist = string(d.Step)
	if !d.Origin.IsZero() {
		rec.Origin = d.Origin.String()
	}
	if !d.Proceed {
		return res // the caller shows d.Message
	}
	opts.status(Event{Step: "whitelist", OK: true, Detail: fmt.Sprintf("%s (%s)", d.Origin, d.Step)})
	if d.Step == whitelist.StepPromptAlways && opts.User.Path != "" {
		e := whitelist.EntryFor(d.Origin)
		if _, err := whitelist.AddToUserList(ctx, opts.User.Path, e); err != nil {
			// Always includes "proceed": failing to remember only means the
			// user is asked again next time.
			res.AddErr = err
		} else {
			res.Added = &e
		}
	}
	fail := func(step string, err error) *Result {
		res.Step, res.Err = step, err
		return res
	}

	// 2. The descriptor, from the origin that was decided.
	fo := opts.Fetch
	fo.URL, fo.Origin, fo.Secrets = opts.LaunchURL, d.Origin, secrets
	if opts.Policy.Policy != nil {
		fo.Publishers = opts.Policy.Policy // else none: a signed descriptor is refused
	}
	desc, err := descriptor.Fetch(ctx, fo)
	if err != nil {
		opts.status(Event{Step: "descriptor", Err: err})
		var fe *descriptor.FetchError
		if errors.As(err, &fe) {
			return fail(fe.Step, err)
		}
		return fail(descriptor.StepFetch, err)
	}
	desc.Token.AddTo(secrets)
	rec.Session = desc.Session
	rec.Proxy = desc.Proxy.Address
	rec.Destination = net.JoinHostPort(desc.Destination.Host, fmt.Sprint(desc.Destination.Port))
	rec.Publisher = desc.Publisher
	detail := fmt.Sprintf("%s: %s via %s", safetext.Sanitize(desc.Session), safetext.Sanitize(rec.Destination), safetext.Sanitize(desc.Proxy.Address))
	if desc.Publisher != "" {
		detail += ", signed by " + desc.Publisher
	}
	opts.status(Event{Step: "descriptor", OK: true, Detail: detail})

	// 2b. The admin policy: which proxies and destinations a descriptor may
	// name, and whether it must be signed. Before any connection, so a
	// refused descriptor's token is never sent.
	grant, err := opts.Policy.Policy.Check(desc)
	if err != nil {
		opts.status(Event{Step: policy.Step, Err: err})
		return fail(policy.Step, err)
	}
	if opts.Policy.Policy != nil {
		opts.status(Event{Step: policy.Step, OK: true, Detail: "allowed by " + opts.Policy.Path})
	}

	// 3. The profile, before any connection, so a bad name fails early.
	profiles, err := LoadProfiles(opts.Profiles)
	if err != nil {
		opts.status(Event{Step: "emulator", Err: err})
		return fail(StepProfile, err)
	}
	for _, w := range profiles.Warnings {
		opts.logf("%s", w)
	}
	prof, err := profiles.Resolve(desc.Profile)
	if err == nil && prof.Kind == ProfileNone && !opts.Interactive {
		err = fmt.Errorf("profile %q waits for Ctrl-C on a terminal, and this launch has none (started by a browser?); ask your administrator for a profile that runs an emulator", prof.Name)
	}
	if err != nil {
		opts.status(Event{Step: "emulator", Err: err})
		return fail(StepProfile, err)
	}

	// 4. The tunnel: the connector, the local end, and the first tunnel
	// dialed ahead so the emulator's first connection does not wait.
	cfg := desc.ConnectorConfig()
	grant.Apply(&cfg)
	var up, down atomic.Int64
	cfg.Secrets = secrets
	cfg.Logf = opts.Logf
	cfg.UserAgent = opts.Fetch.UserAgent // the tunnel names itself as the fetch did
	// The emulator's tree: during `open`, a command profile admits only
	// the connections of the emulator it starts and its descendants (a
	// browser page of the same user scanning 127.0.0.1 is refused). The
	// raw profile connects from this process, and the none profile from an
	// emulator the user starts: both keep the same-user rule.
	tree := newEmulatorTree(opts.Subreaper)
	defer tree.settle() // a start that failed ends the wait of early checks
	if prof.Kind == ProfileCommand {
		cfg.AdmitProcess = tree.admit
		cfg.ProcessRoots = tree.roots
	}
	cfg.OnTunnelDone = func(sent, received int64, _ error) {
		up.Add(sent)
		down.Add(received)
	}
	if opts.Connector != nil {
		opts.Connector(&cfg)
	}
	conn, err := connector.New(cfg)
	if err != nil {
		opts.status(Event{Step: "proxy", Err: err})
		return fail(descriptor.StepValidate, err)
	}
	first, err := conn.Dial(ctx)
	if err != nil {
		opts.status(Event{Step: "proxy", Err: err})
		var se *connector.StepError
		if errors.As(err, &se) {
			return fail(string(se.Step), err)
		}
		return fail(string(connector.StepTCP), err)
	}
	if st, ok := connector.ProxyTLS(first); ok {
		opts.status(Event{Step: "proxy", OK: true, Detail: fmt.Sprintf("%s, %s; token accepted", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))})
	}
	ln, err := prof.Listen() // 127.0.0.1, a free port or the admin profile's listen_port
	if err != nil {
		first.Close()
		return fail(StepListen, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port

	serveCtx, stopServe := context.WithCancel(ctx)
	var serveWG sync.WaitGroup
	serveWG.Add(1)
	go func() {
		defer serveWG.Done()
		if err := conn.ServePreDialed(serveCtx, ln, first); err != nil {
			opts.logf("serve: %v", err)
		}
	}()
	// Teardown, in order: stop accepting and end every relay, wait for them.
	defer func() {
		stopServe()
		serveWG.Wait()
		rec.BytesUp, rec.BytesDown = up.Load(), down.Load()
		// Told once the session is over: the emulator owned the screen
		// while the tunnel came back, and this is the last line the held
		// log prints after it exits (issue 14).
		if n := conn.Tunnels() - 1; n > 0 {
			rec.Reconnects = n
			times := "times"
			if n == 1 {
				times = "time"
			}
			opts.logf("tunnel reopened %d %s during the session, each time with the same session token, to %s through %s",
				n, times, safetext.Sanitize(rec.Destination), safetext.Sanitize(rec.Proxy))
		}
	}()

	// 5. The emulator.
	var status int
	switch prof.Kind {
	case ProfileCommand:
		argv, err := prof.Command("127.0.0.1", port, desc.Session)
		if err != nil {
			opts.status(Event{Step: "emulator", Err: err})
			return fail(StepEmulator, err)
		}
		spec := emulatorSpec{argv: argv, env: opts.Env, stdin: opts.Stdin, stdout: opts.Stdout, stderr: opts.Stderr, started: tree.running}
		runCtx := ctx
		var recorder *recorderWatch // the recorder in a terminal window, where it reports itself
		if prof.Terminal && !opts.Interactive {
			if opts.Window == nil {
				err = fmt.Errorf("profile %q runs in a terminal, and this launch has none", prof.Name)
			} else {
				recorder, err = prepareWindow(opts.Window, &spec)
			}
			if err != nil {
				opts.status(Event{Step: "emulator", Err: err})
				return fail(StepEmulator, err)
			}
		}
		if recorder != nil {
			// Whoever else claims to be the recorder ends the launch:
			// the window's run first, then (below) the launch.
			var endRun context.CancelCauseFunc
			runCtx, endRun = context.WithCancelCause(ctx)
			defer endRun(nil)
			defer recorder.finish()
			recorder.serve(endRun)
			tree.recorder.Store(recorder)
		}
		opts.status(Event{Step: "emulator", OK: true, Detail: fmt.Sprintf("%s (profile %s)", safetext.Sanitize(spec.argv[0]), prof.Name)})
		if opts.Subreaper {
			if err := becomeSubreaper(); err != nil {
				return fail(StepEmulator, fmt.Errorf("become the subreaper of the emulator's processes: %w", err))
			}
			// Runs before the relays are stopped (deferred later, runs
			// earlier): nothing of the emulator's outlives the launch, and
			// nothing is left to connect while they end.
			defer endDescendants()
		}
		status, err = runEmulator(runCtx, spec)
		if recorder != nil {
			st, ok, terr := recorder.finish()
			switch {
			case terr != nil:
				return fail(StepRecorder, terr)
			case ok:
				status = st
			case err == nil:
				opts.logf("the emulator's exit status is unknown (its recorder handed none back): reporting the terminal window's, %d", status)
			}
		}
		if err != nil {
			return fail(StepEmulator, err)
		}
	case ProfileRaw:
		opts.status(Event{Step: "emulator", OK: true, Detail: "this terminal (profile raw)"})
		if err := relayTerminal(ctx, ln.Addr().String(), opts.Stdin, opts.Stdout); err != nil && ctx.Err() == nil {
			return fail(StepEmulator, err)
		}
	case ProfileNone:
		opts.status(Event{Step: "emulator", OK: true, Detail: fmt.Sprintf("none: connect your emulator to 127.0.0.1:%d; Ctrl-C ends the session", port)})
		fmt.Fprintf(opts.Stdout, "listening on 127.0.0.1:%d\n", port)
		<-ctx.Done()
	}
	res.Step, res.ExitStatus = StepLaunched, status
	rec.ExitStatus = &status
	return res
}

// emulatorTree is who may use the tunnel during a launch with a command
// profile: the emulator, the recorder in a terminal window once it has
// reported itself, and their descendants. admit and roots are per OS
// (emulator_linux.go); Windows refuses for now.
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
// key. DESIGN.md: the token never reaches a child's environment.
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
