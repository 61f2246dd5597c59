package connector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxyauth"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// SourcePAC names a proxy auto-config script in messages; the script's own
// String (for example "PAC http://wpad.corp/wpad.dat") says which one.
const SourcePAC = "PAC"

// Bounds of a proxy list (a PAC result or a static list): real ones name
// two or three proxies.
const (
	maxListBytes   = 4 << 10
	maxListEntries = 16
)

// ProxyScript is a proxy auto-config script (PAC, as browsers run it): for
// a connection over TLS to host:port, FindProxy returns what the script's
// FindProxyForURL returned, a proxy list ("PROXY a:3128; PROXY b:3128;
// DIRECT"). A script chooses only the outbound proxy: the target of the
// CONNECT, the TLS verification and the token stay the tunnel's, so a
// script fetched over plain http can send a connection through another
// outbound proxy or none, never anywhere else (docs/admin.md "Outbound
// proxy / PAC").
type ProxyScript interface {
	FindProxy(ctx context.Context, host, port string) (string, error)
	// String names the script in messages and the audit record, without
	// credentials or query: "PAC http://wpad.corp/wpad.dat".
	String() string
}

// NewOutboundScript is the setting whose proxies script chooses, one
// evaluation per target host:port for the life of the setting (a launch):
// the fetch, the tunnel and its reconnects ask once each. A script that
// fails (it does not load, runs too long, uses too much memory, returns
// nothing usable) makes connections go direct, as browsers and WinHTTP's
// callers do, and the choice says so.
func NewOutboundScript(source string, script ProxyScript) *OutboundProxy {
	return &OutboundProxy{source: source, script: script, state: &routeState{}}
}

// NewOutboundList is a static proxy list, in the syntax of a PAC result
// ("PROXY a.corp:3128; PROXY b.corp:3128; DIRECT"): tried in order, the
// next one when a proxy cannot be reached. Its entries carry no
// credentials. noProxy are NO_PROXY rules, as for NewOutboundProxy.
func NewOutboundList(source, list, noProxy string) (*OutboundProxy, error) {
	hops, skipped, err := ParseProxyList(list)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	if len(skipped) > 0 {
		return nil, fmt.Errorf("%s: %s is not supported (want PROXY HOST:PORT or DIRECT entries)", source, skipped[0])
	}
	p := &OutboundProxy{source: source, noProxy: noProxy, list: hops, state: &routeState{}}
	// The first proxy stands for the list where one proxy is asked for
	// (its credentials: none; ProxyFor's NO_PROXY matching).
	for _, h := range hops {
		if h != nil {
			p.proxy = h
			break
		}
	}
	if p.proxy == nil {
		return DirectOutbound(source), nil
	}
	return p.withMatch(), nil
}

// IsList reports whether raw is written as a proxy list (PROXY or DIRECT
// entries) rather than as one proxy URL.
func IsList(raw string) bool {
	f := strings.Fields(strings.ReplaceAll(raw, ";", " "))
	if len(f) == 0 {
		return false
	}
	k := strings.ToUpper(f[0])
	return k == "PROXY" || k == "DIRECT" || k == "HTTP"
}

// ParseProxyList reads a proxy list as FindProxyForURL returns it: entries
// separated by ";", each "PROXY HOST:PORT" (or "HTTP HOST:PORT"), or
// "DIRECT". A nil URL in hops is DIRECT. Entries of kinds trustlaunch does
// not speak (HTTPS, SOCKS, SOCKS4, SOCKS5, unknown words) are skipped, as
// browsers skip what they cannot use, and returned in skipped, quoted and
// sanitized; a list with nothing usable in it is an error. The list comes
// from a script that may have been fetched over plain http: its text is
// quoted only through safetext, and never with credentials ("@" is
// refused).
func ParseProxyList(list string) (hops []*url.URL, skipped []string, err error) {
	if len(list) > maxListBytes {
		return nil, nil, fmt.Errorf("the proxy list is longer than %d bytes", maxListBytes)
	}
	entries := strings.Split(list, ";")
	for _, e := range entries {
		f := strings.Fields(e)
		if len(f) == 0 {
			continue
		}
		if len(hops)+len(skipped) == maxListEntries {
			return nil, nil, fmt.Errorf("the proxy list has more than %d entries", maxListEntries)
		}
		kind := strings.ToUpper(f[0])
		switch {
		case kind == "DIRECT" && len(f) == 1:
			hops = append(hops, nil)
			continue
		case (kind == "PROXY" || kind == "HTTP") && len(f) == 2 && !strings.Contains(f[1], "@") && !strings.Contains(f[1], "/"):
			u, perr := parseProxyURL("http://" + f[1])
			if perr != nil {
				skipped = append(skipped, safetext.QuoteExcerpt(strings.Join(f, " "), 80)+" ("+perr.Error()+")")
				continue
			}
			hops = append(hops, u)
			continue
		}
		skipped = append(skipped, safetext.QuoteExcerpt(strings.Join(f, " "), 80))
	}
	if len(hops) == 0 {
		if len(skipped) > 0 {
			return nil, skipped, fmt.Errorf("no entry trustlaunch can use (PROXY HOST:PORT or DIRECT) in the proxy list: %s", strings.Join(skipped, ", "))
		}
		return nil, nil, errors.New("the proxy list is empty (want PROXY HOST:PORT or DIRECT entries)")
	}
	return hops, skipped, nil
}

// Choice is how one connection went out: the hop that carried it, what
// chose it, and the hops tried before it.
type Choice struct {
	Via    string   // "PROXY b.corp:3128" or "DIRECT"
	By     string   // what chose it: "PAC http://wpad.corp/wpad.dat", "--outbound-proxy", "HTTPS_PROXY", ...; "" for no setting
	Failed []string // hops tried first and why they were passed over: "a.corp:3128 refused"
	Note   string   // why the list is what it is, when it is not the setting's own answer ("the PAC script failed: ...; going direct")
}

// String is the choice as the launch's log line and audit record show it:
// "PROXY b.corp:3128 (chosen by PAC http://wpad.corp/wpad.dat, after
// a.corp:3128 refused)".
func (c Choice) String() string {
	var why []string
	if c.By != "" {
		why = append(why, "chosen by "+c.By)
	}
	if c.Note != "" {
		why = append(why, c.Note)
	}
	if len(c.Failed) > 0 {
		why = append(why, "after "+strings.Join(c.Failed, ", "))
	}
	if len(why) == 0 {
		return c.Via
	}
	return c.Via + " (" + strings.Join(why, "; ") + ")"
}

// routeState is the memory of one setting for one run: the script's
// answers by target, so that each target is asked about once, and the
// last choice made for each target.
type routeState struct {
	mu      sync.Mutex
	answers map[string]route
	chosen  map[string]Choice
}

// route is the hops to try for one target, in order (nil: DIRECT), and a
// note on how they came about.
type route struct {
	hops []*url.URL
	note string
}

// hopName is how messages name a hop: "PROXY host:port" or "DIRECT".
func hopName(u *url.URL) string {
	if u == nil {
		return "DIRECT"
	}
	return "PROXY " + u.Host
}

// chooser names what chose the route, for Choice.By.
func (p *OutboundProxy) chooser() string {
	if p == nil {
		return ""
	}
	if p.script != nil {
		return p.script.String()
	}
	if p.proxy == nil && p.list == nil {
		return ""
	}
	return p.source
}

// route returns the hops to try for a connection to hostport: the
// NO_PROXY and ProxyOverride rules first (a bypassed host goes direct),
// then the static list, the one proxy, or the script's answer.
func (p *OutboundProxy) route(ctx context.Context, hostport string) route {
	if p == nil || (p.proxy == nil && p.script == nil) {
		return route{hops: []*url.URL{nil}}
	}
	if p.script == nil {
		if u := p.ProxyFor(hostport); u == nil {
			return route{hops: []*url.URL{nil}, note: "bypassed by the " + p.source + " exceptions"}
		}
		if p.list != nil {
			return route{hops: p.list}
		}
		return route{hops: []*url.URL{p.proxy}}
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "443"
	}
	p.state.mu.Lock()
	r, ok := p.state.answers[hostport]
	p.state.mu.Unlock()
	if ok {
		return r
	}
	ans, err := p.script.FindProxy(ctx, host, port)
	if ctx.Err() != nil {
		// Interrupted: nothing learned about the script, nothing kept.
		return route{hops: []*url.URL{nil}, note: "interrupted"}
	}
	if err == nil {
		var hops []*url.URL
		if hops, _, err = ParseProxyList(ans); err == nil {
			r = route{hops: hops}
		}
	}
	if err != nil {
		// Browsers and WinHTTP's callers go direct when the script
		// fails; the failure is named in the choice and the audit record.
		r = route{hops: []*url.URL{nil}, note: "the PAC script failed: " + err.Error() + "; going direct"}
	}
	p.state.mu.Lock()
	if p.state.answers == nil {
		p.state.answers = map[string]route{}
	}
	p.state.answers[hostport] = r
	p.state.mu.Unlock()
	return r
}

// Chosen returns the last choice made for connections to target
// (host:port) through this setting; ok is false before the first.
func (p *OutboundProxy) Chosen(target string) (c Choice, ok bool) {
	if p == nil || p.state == nil {
		return Choice{}, false
	}
	p.state.mu.Lock()
	defer p.state.mu.Unlock()
	c, ok = p.state.chosen[target]
	return c, ok
}

func (p *OutboundProxy) remember(target string, c Choice) {
	if p == nil || p.state == nil {
		return
	}
	p.state.mu.Lock()
	defer p.state.mu.Unlock()
	if p.state.chosen == nil {
		p.state.chosen = map[string]Choice{}
	}
	p.state.chosen[target] = c
}

// hop is the setting narrowed to one proxy of its route, for the CONNECT
// to one target: the proxy's address and credentials, the setting's
// source, and what the target is called in a refusal.
func (p *OutboundProxy) hop(u *url.URL, what string) *OutboundProxy {
	src := p.source
	if p.script != nil {
		src = p.script.String()
	}
	return &OutboundProxy{source: src, proxy: u, what: what}
}

// DialOptions configures OutboundProxy.Dial.
type DialOptions struct {
	// What the target is, as refusals name it: "the portal", "the
	// security proxy".
	What string
	// DialTimeout bounds the DNS lookup and TCP connect of each hop;
	// HandshakeTimeout the CONNECT exchange with each outbound proxy.
	// Defaults: DefaultDialTimeout and DefaultHandshakeTimeout.
	DialTimeout, HandshakeTimeout time.Duration
	// Resolver resolves host names; net.DefaultResolver when nil.
	Resolver *net.Resolver
	// UserAgent of the CONNECT request, under HeaderUserAgent's rule.
	UserAgent string
	// Secrets is the run's registry of what no message may show (the
	// outbound proxy's credentials); nil: one of the dial's own.
	Secrets *redact.Set
	// Auth is where a Negotiate sign-on finds the user's login; the
	// zero value reads the process's environment and clock.
	Auth proxyauth.Config
}

// Dial opens a TCP byte stream to target (host:port) the way this setting
// says: through each outbound proxy of its route in turn (TCP, then
// CONNECT target), or directly for a DIRECT entry, falling over to the
// next entry when a proxy cannot be reached or does not answer CONNECT.
// A proxy that answers with a refusal (407, 403, 502, ...) ends the
// dial: another proxy of the same network would most likely refuse too,
// and the refusal is what the user must see. The stream carries nothing
// of trustlaunch's yet: the caller runs TLS on it. A proxy's failure is a
// StepOutbound *StepError; a direct connection's is the resolver's or
// net.Dialer's own error (*net.DNSError, *net.OpError), so the caller
// words it as its own host's. The Choice names what carried the
// connection, or was tried last.
func (p *OutboundProxy) Dial(ctx context.Context, target string, o DialOptions) (net.Conn, Choice, error) {
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Secrets == nil {
		o.Secrets = &redact.Set{}
	}
	p.AddTo(o.Secrets)
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return nil, Choice{}, &StepError{Step: StepTCP, Addr: target, Err: err}
	}
	d := routeDial{
		setting: p, target: target, opts: o,
		dialHost: func(ctx context.Context, h, pt string) (net.Conn, Step, error) {
			return dialAddrs(ctx, o.Resolver, o.DialTimeout, h, pt)
		},
		direct: func(ctx context.Context) (net.Conn, error) {
			conn, _, err := dialAddrs(ctx, o.Resolver, o.DialTimeout, host, port)
			return conn, err // as net.Dialer words it: the portal's own DNS and dial errors
		},
	}
	return d.dial(ctx)
}

// routeDial is one connection through a setting's route: the hops tried
// in order with dialHost (to an outbound proxy) and direct (for DIRECT).
type routeDial struct {
	setting  *OutboundProxy
	target   string
	opts     DialOptions
	dialHost func(ctx context.Context, host, port string) (net.Conn, Step, error)
	direct   func(ctx context.Context) (net.Conn, error)
}

func (d routeDial) dial(ctx context.Context) (net.Conn, Choice, error) {
	r := d.setting.route(ctx, d.target)
	ch := Choice{By: d.setting.chooser(), Note: r.note}
	if err := ctx.Err(); err != nil {
		return nil, ch, &StepError{Step: StepOutbound, Addr: d.target, Err: err}
	}
	var lastErr error
	for i, u := range r.hops {
		ch.Via = hopName(u)
		conn, err, next := d.try(ctx, u)
		if err == nil {
			d.setting.remember(d.target, ch)
			return conn, ch, nil
		}
		lastErr = err
		if !next || i == len(r.hops)-1 || ctx.Err() != nil {
			break
		}
		ch.Failed = append(ch.Failed, failedHop(u, err))
	}
	d.setting.remember(d.target, ch)
	if len(ch.Failed) > 0 {
		lastErr = withTried(lastErr, ch.Failed)
	}
	return nil, ch, lastErr
}

// try opens the connection through one hop. next reports whether a
// failure lets the dial go on to the next hop: the hop could not be
// reached, or did not answer CONNECT as an HTTP proxy.
func (d routeDial) try(ctx context.Context, u *url.URL) (conn net.Conn, err error, next bool) {
	if u == nil {
		conn, err = d.direct(ctx)
		return conn, err, true
	}
	hop := d.setting.hop(u, d.opts.What)
	host, port, _ := net.SplitHostPort(u.Host)
	conn, step, err := d.dialHost(ctx, host, port)
	if err != nil {
		return nil, hop.dialError(step, err), true
	}
	oc := outboundConnect{
		setting:   hop,
		via:       u,
		target:    d.target,
		timeout:   d.opts.HandshakeTimeout,
		userAgent: HeaderUserAgent(d.opts.UserAgent),
		secrets:   d.opts.Secrets,
		auth:      d.authFor(),
		redial: func(ctx context.Context) (net.Conn, error) {
			conn, step, err := d.dialHost(ctx, host, port)
			if err != nil {
				return nil, hop.dialError(step, err)
			}
			return conn, nil
		},
	}
	tunnel, err := oc.run(ctx, conn)
	if err != nil {
		conn.Close()
		// A sign-on that failed (no ticket, a refused password) has the
		// proxy's status, 407: it is the user's, not the proxy's, and
		// the next proxy would ask the same.
		var oe *OutboundError
		return nil, err, errors.As(err, &oe) && oe.Status == 0
	}
	if tunnel != conn {
		conn.Close() // the proxy closed it after a 407; run signed on over a fresh one
	}
	return tunnel, nil, false
}

// authFor is the sign-on configuration of a hop: a proxy a script chose
// (PAC, WPAD) is answered with Kerberos only, never NTLM
// (proxyauth.Config.KerberosOnly).
func (d routeDial) authFor() proxyauth.Config {
	auth := d.opts.Auth
	if d.setting.script != nil {
		auth.KerberosOnly = true
	}
	return auth
}

// failedHop is how Choice.Failed names a hop that was passed over:
// "a.corp:3128 refused", "a.corp:3128: dns lookup of a.corp: no such host".
func failedHop(u *url.URL, err error) string {
	name := "direct connection"
	if u != nil {
		name = u.Host
	}
	var se *StepError
	if errors.As(err, &se) {
		if errors.Is(se, errConnRefused) {
			return name + " refused"
		}
		if se.Err != nil {
			return name + ": " + se.Err.Error()
		}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return name + ": " + trimSyscall(op.Err)
	}
	return name + ": " + err.Error()
}

// withTried adds the hops passed over to the final failure's message:
// "... (tried first: a.corp:3128 refused)".
func withTried(err error, failed []string) error {
	note := " (tried first: " + strings.Join(failed, ", ") + ")"
	var se *StepError
	if errors.As(err, &se) {
		return &StepError{Step: se.Step, Addr: se.Addr, Err: &describedError{msg: errText(se.Err) + note, err: se.Err}, hint: se.hint}
	}
	return &describedError{msg: err.Error() + note, err: err}
}

func errText(err error) string {
	if err == nil {
		return "failed"
	}
	return err.Error()
}

// dialAddrs resolves host (unless it is an IP literal) with r and
// connects to its addresses in turn, within timeout, with TCP keepalive
// (KeepAlive). A failure is returned with the step it happened in.
func dialAddrs(ctx context.Context, r *net.Resolver, timeout time.Duration, host, portStr string) (net.Conn, Step, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = r.LookupNetIP(dctx, "ip", host)
		if err == nil && len(addrs) == 0 {
			err = errors.New("no addresses")
		}
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, StepDNS, err
		}
	}
	port, _ := netip.ParseAddrPort("0.0.0.0:" + portStr)
	d := net.Dialer{KeepAliveConfig: KeepAlive}
	var lastErr error
	for _, a := range addrs {
		conn, err := d.DialContext(dctx, "tcp", netip.AddrPortFrom(a.Unmap(), port.Port()).String())
		if err == nil {
			return conn, "", nil
		}
		lastErr = err
		if dctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		lastErr = ctx.Err()
	}
	return nil, StepTCP, lastErr
}
