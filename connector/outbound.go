package connector

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpproxy"

	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// StepOutbound is the step of the outbound (egress) proxy: reaching it, and
// its answer to the CONNECT request for the security proxy.
const StepOutbound Step = "outbound-proxy"

// Sources of an outbound-proxy setting, as messages name them.
const (
	SourceEnvironment = "HTTPS_PROXY"
	SourceFlag        = "--outbound-proxy"
	SourceWindows     = "the Windows proxy settings (Internet Settings)"
)

// OutboundProxy is the one outbound-proxy setting of trustlaunch: the
// descriptor fetch (through HTTPProxy, for net/http) and the tunnel
// (Config.Outbound) both ask it, so they never disagree about which traffic
// goes through which proxy. It is an explicit HTTP proxy that answers
// CONNECT; NO_PROXY rules are read as golang.org/x/net/http/httpproxy reads
// them (which never proxies localhost or loopback addresses). The nil
// *OutboundProxy, and the setting "none", connect directly.
//
// The proxy URL's user name and password, when present, are sent as Basic
// credentials to the outbound proxy only; no message, log line or String
// shows them (AddTo registers them with the run's scrubber).
type OutboundProxy struct {
	source  string
	proxy   *url.URL // http://[user:pass@]host:port; nil: direct
	noProxy string
	// Windows ProxyOverride: "<local>" (names without a dot) and
	// patterns with "*" matched case-insensitively against the host.
	bypassLocal bool
	bypass      []string
	match       func(*url.URL) (*url.URL, error)
	// list is a proxy list tried in order (nil entries: DIRECT), from
	// NewOutboundList; nil: proxy alone.
	list []*url.URL
	// script chooses the list per target (NewOutboundScript).
	script ProxyScript
	// state is the run's memory of choices and of the script's answers;
	// shared by the copies WithWindowsBypass makes.
	state *routeState
	// what the CONNECT target is called in a refusal ("the portal"), on
	// the one-proxy view of the setting that a dial makes (hop).
	what string
	// credsFile is set when the proxy's credentials came from a file
	// (WithCredentials), not from the URL.
	credsFile bool
}

// NewOutboundProxy checks an outbound-proxy setting: rawURL is the proxy
// (http://[USER:PASSWORD@]HOST[:PORT], a missing scheme meaning http and a
// missing port 80, as Go's net/http reads HTTPS_PROXY; "" for direct) and
// noProxy the NO_PROXY rules. source names where they came from in
// messages. A malformed value is an error that names the source and never
// quotes the credentials.
func NewOutboundProxy(source, rawURL, noProxy string) (*OutboundProxy, error) {
	p := &OutboundProxy{source: source, noProxy: noProxy}
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" {
		return p, nil
	}
	u, err := parseProxyURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	p.proxy = u
	p.state = &routeState{}
	return p.withMatch(), nil
}

// withMatch sets the NO_PROXY matcher of p, whose proxy is set.
func (p *OutboundProxy) withMatch() *OutboundProxy {
	// The URL is rebuilt by url.URL.String, which httpproxy parses back
	// without error: it was checked by parseProxyURL.
	p.match = (&httpproxy.Config{HTTPSProxy: p.proxy.String(), NoProxy: p.noProxy}).ProxyFunc()
	return p
}

// DirectOutbound is the setting "none": every connection is direct.
func DirectOutbound(source string) *OutboundProxy {
	return &OutboundProxy{source: source, state: &routeState{}}
}

// OutboundFromEnvironment reads HTTPS_PROXY and NO_PROXY (or their
// lower-case spellings) from getenv (os.Getenv when nil). Only the HTTPS
// variable counts: everything trustlaunch sends is TLS.
func OutboundFromEnvironment(getenv func(string) string) (*OutboundProxy, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(names ...string) (string, string) {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return n, v
			}
		}
		return names[0], ""
	}
	name, proxy := get("HTTPS_PROXY", "https_proxy")
	_, noProxy := get("NO_PROXY", "no_proxy")
	return NewOutboundProxy(name, proxy, noProxy)
}

// WithWindowsBypass adds the rules of the Windows ProxyOverride value to a
// setting read from the Windows proxy settings: local means "<local>"
// (host names without a dot bypass the proxy), and each pattern ("*" for
// any run of characters) names hosts that bypass it.
func (p *OutboundProxy) WithWindowsBypass(local bool, patterns []string) *OutboundProxy {
	q := *p
	q.bypassLocal = local
	q.bypass = append([]string(nil), patterns...)
	return &q
}

// WithCredentials returns the setting with user and password as the
// Basic credentials of its proxy, read from a file of the user's own
// (proxyauth.ReadCredentialsFile) rather than written in the URL. It
// fails for a direct setting, and for a URL that already holds
// credentials: two sources for one password is a mistake to point out,
// not to settle silently.
func (p *OutboundProxy) WithCredentials(user, password string) (*OutboundProxy, error) {
	if p != nil && (p.list != nil || p.script != nil) {
		// A list, and above all a PAC script fetched over the network,
		// may name proxies the user never chose: a password is sent only
		// to the one proxy the user named.
		return nil, fmt.Errorf("%s: credentials from a file go to one outbound proxy named http://HOST:PORT, not to a proxy list or the proxies a PAC script chooses", p.source)
	}
	if p == nil || p.proxy == nil {
		return nil, errors.New("credentials for the outbound proxy were given, but no outbound proxy is set")
	}
	if p.proxy.User != nil {
		return nil, fmt.Errorf("%s: the proxy URL holds a user name already: take it out of the URL, or give no credentials file", p.source)
	}
	q := *p
	u := *p.proxy
	u.User = url.UserPassword(user, password)
	q.proxy = &u
	q.credsFile = true
	return &q, nil
}

// PasswordInURL reports whether the setting's proxy URL holds a
// password: it works, but the user's other programs can read it from
// the command line or the environment, so callers warn about it.
func (p *OutboundProxy) PasswordInURL() bool {
	if p == nil || p.proxy == nil || p.proxy.User == nil || p.credsFile {
		return false
	}
	_, ok := p.proxy.User.Password()
	return ok
}

// parseProxyURL checks a proxy URL. Its errors quote only the parts that
// are not credentials.
func parseProxyURL(raw string) (*url.URL, error) {
	if strings.ContainsAny(raw, " \t\r\n") || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errors.New("the proxy URL has a space or a control character")
	}
	s := raw
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the whole URL, password included.
		return nil, errors.New("the proxy URL does not parse (want http://HOST:PORT)")
	}
	if u.User == nil && strings.Contains(raw, "@") {
		// An unencoded "/", "?" or "#" in a password ends the authority
		// early, and what url.Parse then calls the host is the user name
		// and the start of the password: quote none of it.
		return nil, errors.New(`the proxy URL has an "@" after its host: percent-encode "/", "?" and "#" in the user name and password (want http://USER:PASSWORD@HOST:PORT)`)
	}
	if !strings.EqualFold(u.Scheme, "http") {
		return nil, fmt.Errorf("proxy scheme %s is not supported (want http://HOST:PORT, a proxy that answers CONNECT)", safetext.Quote(u.Scheme))
	}
	u.Scheme = "http"
	host, port := u.Hostname(), u.Port()
	shown := func() string { return (&url.URL{Scheme: "http", Host: u.Host}).String() }
	if host == "" {
		return nil, errors.New("the proxy URL has no host (want http://HOST:PORT)")
	}
	if err := validHost("outbound proxy", host); err != nil {
		return nil, err
	}
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return nil, fmt.Errorf("proxy %s has an empty port", safetext.Quote(shown()))
		}
		port = "80"
	} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return nil, fmt.Errorf("proxy %s has an invalid port", safetext.Quote(shown()))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("proxy %s: want http://HOST:PORT with no path, query or fragment", safetext.Quote(shown()))
	}
	return &url.URL{Scheme: "http", User: u.User, Host: net.JoinHostPort(host, port)}, nil
}

// String names the setting without its credentials: "http://proxy.corp:3128
// (from HTTPS_PROXY)", "PROXY a:3128; DIRECT (from --outbound-proxy)",
// "PAC http://wpad.corp/wpad.dat (from --outbound-proxy)", or "direct".
func (p *OutboundProxy) String() string {
	switch {
	case p != nil && p.script != nil:
		return p.script.String() + " (from " + p.source + ")"
	case p != nil && p.list != nil:
		names := make([]string, len(p.list))
		for i, u := range p.list {
			names[i] = hopName(u)
		}
		return strings.Join(names, "; ") + " (from " + p.source + ")"
	case p == nil || p.proxy == nil:
		return "direct"
	}
	return "http://" + p.proxy.Host + " (from " + p.source + ")"
}

// Source is where the setting came from (SourceEnvironment, ...).
func (p *OutboundProxy) Source() string {
	if p == nil {
		return ""
	}
	return p.source
}

// ProxyFor returns the outbound proxy for a connection to host:port over
// TLS, or nil for a direct one. For a list it is the list's first proxy;
// for a script, which needs a context and the network to answer, nil
// (Dial asks the script).
func (p *OutboundProxy) ProxyFor(hostport string) *url.URL {
	if p == nil || p.proxy == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if p.bypassed(host) {
		return nil
	}
	u, err := p.match(&url.URL{Scheme: "https", Host: hostport})
	if err != nil || u == nil {
		return nil // err: only for a proxy URL that does not parse, checked in New
	}
	return p.proxy
}

func (p *OutboundProxy) bypassed(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if p.bypassLocal && !strings.Contains(h, ".") && !strings.Contains(h, ":") {
		return true
	}
	for _, pat := range p.bypass {
		if globMatch(strings.ToLower(pat), h) {
			return true
		}
	}
	return false
}

// globMatch matches s against a pattern where "*" stands for any run of
// characters (ProxyOverride's only wildcard).
func globMatch(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// OutboundError is the cause inside a StepOutbound *StepError.
type OutboundError struct {
	Status int    // the outbound proxy's HTTP status, 0 when it gave none
	msg    string // what failed, without the proxy's address
	err    error
}

func (e *OutboundError) Error() string { return e.msg }
func (e *OutboundError) Unwrap() error { return e.err }

// outboundError builds the StepOutbound error for the outbound proxy at addr.
func outboundError(addr string, status int, msg, hint string, err error) *StepError {
	return &StepError{Step: StepOutbound, Addr: addr, Err: &OutboundError{Status: status, msg: msg, err: err}, hint: hint}
}

// dialError is the StepOutbound error for a connection to the outbound
// proxy that could not be opened at step (StepDNS or StepTCP): "outbound
// proxy HOST:PORT: connect: connection refused".
func (p *OutboundProxy) dialError(step Step, err error) *StepError {
	addr := p.proxy.Host
	what := "connect"
	if step == StepDNS {
		what = "dns lookup of " + p.proxy.Hostname()
	}
	se := netError(step, addr, err)
	return outboundError(addr, 0, what+": "+se.Err.Error(), "check the outbound proxy setting ("+p.source+") and the network connection", err)
}

// DialFailed is dialError for a connection that net/http could not open to
// the outbound proxy (the descriptor fetch, the detection POST): err is
// the dial's error inside net/http's "proxyconnect" *net.OpError. The
// fetch then names the outbound proxy as the tunnel does, instead of
// "proxyconnect tcp: dial tcp ...", and a name of the proxy that does not
// resolve is not taken for the portal's.
func (p *OutboundProxy) DialFailed(err error) *StepError {
	if p == nil || p.proxy == nil {
		p = &OutboundProxy{proxy: &url.URL{}, source: "the outbound proxy setting"}
	}
	step := StepTCP
	var dns *net.DNSError
	if errors.As(err, &dns) {
		step = StepDNS
	}
	return p.dialError(step, err)
}

// refusal words the outbound proxy's answer other than 2xx to a CONNECT to
// target (what, e.g. "the security proxy"), with status its code and
// phrase (statusText): one wording for the tunnel and the descriptor
// fetch.
func (p *OutboundProxy) refusal(what, target, status string, code int) (msg, hint string) {
	if p.what != "" {
		what = p.what // the one-proxy view of a dial knows its target
	}
	switch code {
	case http.StatusProxyAuthRequired:
		if p.proxy.User == nil {
			return "407 authentication required",
				"the outbound proxy wants a user name and password: give them in the proxy URL, http://USER:PASSWORD@HOST:PORT (" + p.source + "), or better in a file only you can read, named with --outbound-proxy-credentials"
		}
		return "407 authentication required: the user name or password was refused",
			"check the user name and password in the outbound proxy setting (" + p.source + ")"
	case http.StatusForbidden:
		return "refused CONNECT to " + what + " " + safetext.Quote(target) + " (" + status + ")",
			"the outbound proxy does not allow this connection: ask your network administrator to allow CONNECT to " + safetext.Quote(target)
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return "could not reach " + what + " " + safetext.Quote(target) + " (" + status + ")",
			what + " may be down, or its name unknown to the outbound proxy: try again later or ask your administrator"
	}
	return "unexpected answer to CONNECT: " + status, fmt.Sprintf(notProxyHint, p.source)
}

// AddTo adds the setting's password, and its user name and password as
// the Basic credential joins them, to secrets, the registry of what a run
// must never show (redact.Set). The fetch and the tunnel both add it, so
// that whichever talks to the outbound proxy first is covered.
func (p *OutboundProxy) AddTo(secrets *redact.Set) {
	if p == nil || p.proxy == nil || p.proxy.User == nil {
		return
	}
	pass, _ := p.proxy.User.Password()
	secrets.Add(pass)
	if pass != "" {
		secrets.Add(p.proxy.User.Username() + ":" + pass)
	}
}
