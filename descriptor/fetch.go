package descriptor

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// The steps of getting a descriptor, as FetchError.Step and
// Error.Step name them. The values are stable: they appear in the
// audit log and on the status screen.
const (
	StepFetch    = "descriptor-fetch"    // the HTTPS request, redirects, status, size, content type
	StepDecode   = "descriptor-decode"   // not JSON, unknown field, wrong type, trailing data
	StepValidate = "descriptor-validate" // a field's value is not allowed
)

// Defaults of FetchOptions, as docs/descriptor.md "Serving it" promises
// portals.
const (
	DefaultFetchTimeout = 15 * time.Second
	DefaultMaxBytes     = 64 << 10
	MaxRedirects        = 3
)

// maxCAFileBytes bounds the admin CA bundle; real bundles are a few KiB.
const maxCAFileBytes = 1 << 20

// statusExcerptRunes is how much of an error page a FetchError shows.
const statusExcerptRunes = 160

// DefaultCAFile returns the admin CA bundle that Fetch trusts in
// addition to the system roots: ca.pem in platform.AdminDir, for example
// /etc/trustlaunch/ca.pem.
func DefaultCAFile() string { return filepath.Join(platform.AdminDir(), "ca.pem") }

// FetchOptions configures Fetch.
type FetchOptions struct {
	// URL is the descriptor URL, the one whose origin the whitelist
	// decided. Required.
	URL string
	// Origin is the origin the whitelist decision admitted
	// (whitelist.Decision.Origin). Fetch refuses a URL whose own
	// origin differs, and every redirect away from it. Required.
	Origin whitelist.Origin
	// RootCAs are the roots to verify the server with; nil means the
	// system roots. The admin CA bundle is added to them.
	RootCAs *x509.CertPool
	// ExtraCAFile is the admin CA bundle, DefaultCAFile() when empty. It
	// must pass platform.CheckAdminFile; a missing file is fine, an unsafe
	// or unreadable one is an error (fail closed, like the admin whitelist).
	ExtraCAFile string
	// Timeout bounds the whole fetch, redirects and body included;
	// DefaultFetchTimeout when zero.
	Timeout time.Duration
	// MaxBytes bounds the descriptor body; DefaultMaxBytes when
	// zero.
	MaxBytes int64
	// UserAgent is the User-Agent of every request to the portal and of
	// a CONNECT to an outbound proxy, under connector.HeaderUserAgent's
	// rule (connector.UserAgent("") when empty); the CLI passes
	// "trustlaunch/VERSION", and Launch gives the tunnel the same.
	UserAgent string
	// Resolver resolves the origin's host; net.DefaultResolver when nil.
	// Through an HTTPS proxy from the environment, the proxy resolves it.
	Resolver *net.Resolver
	// Outbound is the outbound-proxy setting, the one the tunnel uses too
	// (docs/design.md "Connector"); nil: connector.OutboundFromEnvironment
	// (HTTPS_PROXY, NO_PROXY), and a malformed value is an error.
	Outbound *connector.OutboundProxy
	// Publishers are the keys that verify a signed descriptor
	// (application/jose): the admin policy's; nil: a signed descriptor is
	// refused.
	Publishers Publishers
	// Now is the time iat and exp are checked against; time.Now when zero.
	Now time.Time
	// ClientVersion is this trustlaunch's version, which a descriptor's
	// min_version is checked against (checkMinVersion); "" is a build
	// without a version, refused by any min_version.
	ClientVersion string
	// Secrets is the run's registry of secrets (redact.Set): the fetch
	// adds the query of the URL and of every redirect (the ticket) and
	// the outbound proxy's credentials, and scrubs every error text with
	// it. Nil: a registry of the fetch's own.
	Secrets *redact.Set

	// checkAdmin replaces platform.CheckAdminFile in tests, whose temporary
	// directories are under /tmp and can never pass the real check.
	checkAdmin func(path string) error
}

// FetchError is a failed Fetch. Step is one of
// StepFetch, StepDecode and StepValidate; URL
// is the descriptor URL without its query and fragment, which carry the
// single-use ticket. Err is the cause: a *StatusError, *RedirectError,
// *SizeError, *ContentTypeError, *Error,
// *platform.UnsafeFileError, a TLS or network error, or an error wrapping
// context.DeadlineExceeded (timeout) or context.Canceled. Hint chooses
// advice from these types.
// Neither Error nor any error in the chain names the query: the
// *url.Error of net/http, which does, is unwrapped and dropped.
type FetchError struct {
	Step string
	URL  string
	Err  error

	secrets *redact.Set // the fetch's secrets (FetchOptions.Secrets), scrubbed from Error as a second lock
}

// Error returns "fetch descriptor URL: cause" for the fetch step and
// "descriptor: ... (from URL)" for the decode and validate steps.
func (e *FetchError) Error() string {
	// The cause may quote the server: a TLS error names the certificate's
	// DNS names, which Go accepts with control characters in them.
	cause := safetext.Inert(e.Err.Error())
	var msg string
	if e.Step == StepFetch {
		msg = "fetch descriptor " + e.URL + ": " + cause
	} else {
		msg = cause + " (from " + e.URL + ")"
	}
	return e.secrets.Scrub(msg)
}

// Unwrap returns Err.
func (e *FetchError) Unwrap() error { return e.Err }

// Hint returns advice for the user that fits the cause of the failure, or
// "" when none is known (an interruption, a cause of no known type). The
// cause is read from the types in the chain, never from its text. The
// private CA is suggested only when the server's certificate is signed by
// an authority this machine does not trust: for a failure of DNS, a
// refused redirect or an expired certificate it would send an
// administrator the wrong way.
func (e *FetchError) Hint() string {
	var (
		uf   *platform.UnsafeFileError
		st   *StatusError
		re   *RedirectError
		size *SizeError
		ct   *ContentTypeError
		de   *Error
		sig  *SignatureError
		ver  *VersionError
		unk  x509.UnknownAuthorityError
		name x509.HostnameError
		inv  x509.CertificateInvalidError
		cv   *tls.CertificateVerificationError
		rh   tls.RecordHeaderError
		dns  *net.DNSError
		op   *net.OpError
		step *connector.StepError
	)
	err := e.Err
	switch {
	case errors.Is(err, context.Canceled):
		return "" // the user stopped it
	case errors.Is(err, context.DeadlineExceeded):
		return "the portal did not answer in time: check the network connection (or VPN), then start the session again"
	case errors.As(err, &uf):
		return uf.Fix
	case errors.As(err, &step) && step.Hint() != "":
		return step.Hint() // the outbound proxy refused or was unreachable (connector.StepOutbound)
	case errors.As(err, &st):
		return st.Hint()
	case errors.As(err, &re):
		return "trustlaunch follows redirects only to https pages of the trusted server, at most " + fmt.Sprint(MaxRedirects) + ": tell the portal's administrator that the descriptor URL in the link must name the descriptor on that server"
	case errors.As(err, &size):
		return "the portal sent more than a launch descriptor: the link may point at the wrong page; tell the portal's administrator"
	case errors.As(err, &ct) && ct.Encoding != "":
		return "the portal compressed the launch descriptor although trustlaunch did not ask for it: tell the portal's administrator"
	case errors.As(err, &ct):
		return "the link may point at the wrong page, or your portal session ended: log in to the portal again and start the session from there"
	case errors.As(err, &ver):
		return ver.Hint()
	case errors.As(err, &sig):
		return "the portal's launch descriptor is signed, and its signature is not one your administrator's policy accepts: tell the portal's administrator (an expired descriptor: start the session again)"
	case errors.As(err, &de) && de.Step == StepDecode:
		return "the portal's answer is not a launch descriptor this trustlaunch reads: the link may point at the wrong page; tell the portal's administrator"
	case errors.As(err, &de):
		return "the portal's launch descriptor is not one trustlaunch accepts: tell the portal's administrator"
	case errors.As(err, &unk):
		return "the portal's certificate is signed by an authority this computer does not trust; if the portal uses a private CA, an administrator can install it as " + DefaultCAFile()
	case errors.As(err, &name):
		return "the portal's certificate does not name the server of the link: the link may point at the wrong server, or the portal's certificate is wrong; tell the portal's administrator"
	case errors.As(err, &inv) && (inv.Reason == x509.Expired):
		return "the portal's certificate has expired or is not valid yet: check this computer's date and time; otherwise tell the portal's administrator"
	case errors.As(err, &inv), errors.As(err, &cv):
		return "the portal's certificate was refused: tell the portal's administrator"
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &rh):
		return "the server at the link's address does not speak TLS (https) on that port: the link may be wrong; tell the portal's administrator"
	case errors.As(err, &op) && op.Op == "remote error":
		// A TLS alert from the server (crypto/tls reports it so).
		return "the portal refused the TLS connection: trustlaunch needs TLS 1.2 or later; tell the portal's administrator"
	case errors.As(err, &dns) && dns.IsNotFound:
		return "the portal's name does not resolve: check the network connection (or VPN) and that the link is right"
	case errors.As(err, &dns):
		return "the name server did not answer for the portal's name: check the network connection (or VPN)"
	case errors.As(err, &op) && op.Op == "dial":
		return "could not connect to the portal: check the network connection (or VPN, firewall); the portal may also be down"
	}
	return ""
}

// StatusError is an HTTP answer other than 200 OK (and not a redirect that
// was followed).
type StatusError struct {
	Code    int    // the HTTP status code
	Excerpt string // the start of the body, sanitized; may be empty
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("server answered %d %s", e.Code, http.StatusText(e.Code))
	if e.Excerpt != "" {
		msg += `: "` + strings.ReplaceAll(e.Excerpt, `"`, `\"`) + `"`
	}
	return msg
}

// Hint returns advice for the user that fits the status.
func (e *StatusError) Hint() string {
	switch {
	case e.Code == http.StatusUnauthorized, e.Code == http.StatusForbidden, e.Code == http.StatusNotFound, e.Code == http.StatusGone:
		return "launch links carry a single-use ticket that expires; start the session again from the portal"
	case e.Code == http.StatusTooManyRequests, e.Code == http.StatusBadGateway, e.Code == http.StatusServiceUnavailable, e.Code == http.StatusGatewayTimeout:
		return "the portal is busy or down; try again in a moment"
	case e.Code >= 500:
		return "the portal failed to answer; try again, and tell the portal's administrator if it keeps failing"
	case e.Code >= 400:
		return "the portal refused the request; start the session again from the portal"
	}
	return "the portal's answer is not a launch descriptor; tell the portal's administrator"
}

// RedirectError is a redirect Fetch refused to follow.
type RedirectError struct {
	To     string // where it led, without query and fragment, sanitized; "" when unknown
	Reason string
}

func (e *RedirectError) Error() string {
	if e.To == "" {
		return "redirect refused: " + e.Reason
	}
	return "redirect to " + e.To + " refused: " + e.Reason
}

// SizeError is a descriptor larger than FetchOptions.MaxBytes.
type SizeError struct {
	Limit  int64
	Length int64 // the Content-Length announced, -1 when the body was cut off reading
}

func (e *SizeError) Error() string {
	if e.Length >= 0 {
		return fmt.Sprintf("the descriptor is %d bytes, more than the limit of %s", e.Length, platform.SizeName(e.Limit))
	}
	return "the descriptor is larger than the limit of " + platform.SizeName(e.Limit)
}

// ContentTypeError is a 200 answer that is not application/json, or that
// is encoded (compressed), which trustlaunch never asks for.
type ContentTypeError struct {
	Type     string // the media type sent, sanitized; "" when none
	Encoding string // the Content-Encoding sent, quoted and sanitized; "" when none
}

func (e *ContentTypeError) Error() string {
	switch {
	case e.Encoding != "":
		return "the server sent the descriptor with Content-Encoding " + e.Encoding + ", which trustlaunch does not ask for; want it unencoded"
	case e.Type == "":
		return "the server sent no Content-Type; want application/json"
	case e.Type == "text/html":
		return "the server sent an HTML page (text/html), not a launch descriptor; the portal may want you to log in again, or the link points at the wrong page"
	}
	return "the server sent " + e.Type + ", not application/json"
}

// Fetch downloads, decodes and validates the launch descriptor at
// opts.URL, which must be the URL whose origin the whitelist decided
// (docs/design.md "The descriptor": fetched only after the decision).
//
// It sends one GET over HTTPS (TLS 1.2 or later, certificates verified
// against the system roots or opts.RootCAs plus the admin CA bundle) with
// Accept: application/json and no cookies. It follows at most MaxRedirects
// redirects, and only to https URLs of the same origin, compared with
// whitelist.ParseOrigin, never on the raw host: a redirect elsewhere would
// hand the launch to a server nobody trusted. The answer must be 200 with
// Content-Type application/json and a body of at most opts.MaxBytes.
//
// Errors are *FetchError. HTTPS proxies from the environment
// (HTTPS_PROXY, NO_PROXY) are used, as the browser that showed the portal
// would; TLS is verified end to end through them.
func Fetch(ctx context.Context, opts FetchOptions) (*Descriptor, error) {
	f := newFetcher(opts)
	d, err := f.fetch(ctx)
	if err == nil {
		if err = checkMinVersion(d, opts.ClientVersion); err != nil {
			d = nil
		}
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		// Cancelled while the answer was on its way (Ctrl-C): report the
		// cancellation, not whatever half an answer looked like, and never
		// go on with a descriptor fetched for a launch that was stopped.
		d, err = nil, cerr
	}
	if err != nil {
		fe := &FetchError{Step: StepFetch, URL: f.shown, Err: err, secrets: f.secrets}
		var de *Error
		var se *SignatureError
		var ve *VersionError
		if errors.As(err, &se) {
			fe.Step = StepSignature
		}
		if errors.As(err, &ve) {
			fe.Step = StepValidate
		}
		if errors.As(err, &de) {
			// A descriptor may echo the ticket into a field that an error
			// quotes; scrub it here, where the secrets are known, so that
			// the error is clean for whoever unwraps it.
			fe.Step = de.Step
			fe.Err = &Error{Step: de.Step, Field: f.secrets.Scrub(de.Field), msg: f.secrets.Scrub(de.msg)}
		}
		return nil, fe
	}
	return d, nil
}

// Post sends body to opts.URL with POST as Fetch sends its GET: from the
// same origin check, with the same roots, outbound proxy, redirect rules
// and timeout. Any 2xx answer is success; another status is a *StatusError
// whose excerpt, at most excerptRunes, is scrubbed of opts.Secrets, to which
// the URL's query is added. The errors do not name the URL: the caller says
// what was posted where (launcher's detection is the user).
func Post(ctx context.Context, opts FetchOptions, body []byte, excerptRunes int) error {
	f := newFetcher(opts)
	fail := func(err error) error {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("interrupted: %w", cerr)
		}
		return err
	}
	start, err := f.startURL()
	if err != nil {
		return fail(err)
	}
	timeout := f.timeout()
	client, err := f.newClient(timeout)
	if err != nil {
		return fail(err)
	}
	defer client.CloseIdleConnections()
	timeoutErr := fmt.Errorf("no complete answer within %v: %w", timeout, context.DeadlineExceeded)
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, timeoutErr)
	defer cancel()

	resp, err := f.send(ctx, client, http.MethodPost, start, body)
	if err != nil {
		return fail(err)
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		text := f.secrets.Scrub(strings.TrimSpace(string(head)))
		return fail(&StatusError{Code: resp.StatusCode, Excerpt: safetext.Excerpt(text, excerptRunes)})
	}
	return nil
}

type fetcher struct {
	opts    FetchOptions
	shown   string
	secrets *redact.Set
}

// newFetcher starts a request to opts.URL: the URL shown in messages, and
// the registry of secrets with the URL's query in it.
func newFetcher(opts FetchOptions) *fetcher {
	f := &fetcher{opts: opts, shown: RedactURL(opts.URL), secrets: opts.Secrets}
	if f.secrets == nil {
		f.secrets = &redact.Set{}
	}
	f.secrets.AddQuery(opts.URL)
	return f
}

func (f *fetcher) fetch(ctx context.Context) (*Descriptor, error) {
	o := f.opts
	start, err := f.startURL()
	if err != nil {
		return nil, err
	}
	timeout := f.timeout()
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	client, err := f.newClient(timeout)
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	timeoutErr := fmt.Errorf("no complete answer within %v: %w", timeout, context.DeadlineExceeded)
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, timeoutErr)
	defer cancel()

	resp, err := f.send(ctx, client, http.MethodGet, start, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, signed, err := f.readBody(ctx, resp, maxBytes)
	if err != nil {
		return nil, err
	}
	if signed {
		return VerifySigned(body, VerifyOptions{Publishers: o.Publishers, Origin: o.Origin, Now: o.Now})
	}
	d, err := Decode(body)
	if err != nil {
		return nil, err
	}
	if err := checkValidity(d, (VerifyOptions{Now: o.Now}).now(), false); err != nil {
		return nil, err
	}
	return d, nil
}

// startURL checks that opts.URL is of the origin the whitelist decided and
// returns it parsed. Every request to a portal starts here (the descriptor
// fetch and the detection POST of launcher/detect.go).
func (f *fetcher) startURL() (*url.URL, error) {
	o := f.opts
	if o.Origin.IsZero() {
		return nil, errors.New("no trusted origin was given; the whitelist decision must come first")
	}
	start, err := url.Parse(o.URL)
	if err != nil {
		return nil, errors.New("the URL does not parse") // url.Error would quote the ticket
	}
	got, err := whitelist.ParseOrigin(o.URL)
	if err != nil {
		return nil, fmt.Errorf("the URL's origin is not valid: %s", whitelist.OriginReason(err))
	}
	if got != o.Origin {
		return nil, fmt.Errorf("the URL's origin %s is not the origin that was trusted, %s", got, o.Origin)
	}
	return start, nil
}

// timeout returns opts.Timeout or its default.
func (f *fetcher) timeout() time.Duration {
	if f.opts.Timeout <= 0 {
		return DefaultFetchTimeout
	}
	return f.opts.Timeout
}

// newClient builds the one HTTP client of every request to a portal, the
// descriptor fetch and the detection POST alike: TLS 1.2 or later against
// the roots of roots(), the outbound proxy, bounded headers, and redirects
// left to send. The caller closes its idle connections when done.
func (f *fetcher) newClient(timeout time.Duration) (*http.Client, error) {
	o := f.opts
	roots, err := f.roots()
	if err != nil {
		return nil, err
	}
	outbound := o.Outbound
	if outbound == nil {
		if outbound, err = connector.OutboundFromEnvironment(nil); err != nil {
			return nil, fmt.Errorf("outbound proxy setting: %w", err)
		}
	}
	outbound.AddTo(f.secrets)
	ua := f.userAgent()
	dial := connector.DialOptions{
		What: "the portal", DialTimeout: timeout, HandshakeTimeout: timeout,
		Resolver: o.Resolver, UserAgent: ua, Secrets: f.secrets,
	}
	tr := &http.Transport{
		// No Transport.Proxy: the connection comes from the outbound
		// setting's own dialer, the one the tunnel uses (connector's
		// OutboundProxy.Dial), which sends the CONNECT itself, tries the
		// proxies of a list or PAC answer in turn, and words a refusal as
		// the tunnel does (connector.StepOutbound). net/http then runs TLS
		// to the portal on that stream, end to end.
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			conn, _, err := outbound.Dial(ctx, addr, dial)
			return conn, err
		},
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 64 << 10,
		// No "Accept-Encoding: gzip", which net/http would add and undo
		// on its own: a descriptor is a few KiB, and a compressed answer
		// that holds the token beside anything an attacker can put in it
		// (a session name, an echoed query) tells its length, and with it
		// the token, to whoever sees the ciphertext (BREACH).
		DisableCompression: true,
	}
	// Redirects are followed by hand, in send, so that each target is
	// checked before anything is sent to it and no Referer is added.
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// send sends method to start, which startURL checked, on the decided origin
// (requestURL), with body as application/json when it is not nil, and
// follows at most MaxRedirects redirects, each to an https URL of the same
// origin only, sending the same request again there. It returns the first
// answer that is not a redirect; the caller closes its body.
func (f *fetcher) send(ctx context.Context, client *http.Client, method string, start *url.URL, body []byte) (*http.Response, error) {
	o := f.opts
	cur := requestURL(o.Origin, start)
	for hops := 0; ; hops++ {
		resp, err := f.do(ctx, client, method, cur, body)
		if err != nil {
			return nil, f.transportErr(ctx, err)
		}
		if context.Cause(ctx) != nil {
			// net/http hands back a response that raced the deadline
			// rather than the cancellation ("Check for a response racing
			// the context close", transport.go). It came too late: judged
			// on its headers, the empty answer of a server that saw the
			// connection close would pass for a refusal.
			_ = resp.Body.Close()
			return nil, f.transportErr(ctx, context.Cause(ctx))
		}
		if isRedirect(resp.StatusCode) {
			loc := resp.Header.Get("Location")
			drain(resp)
			if hops == MaxRedirects {
				return nil, &RedirectError{Reason: fmt.Sprintf("more than %d redirects", MaxRedirects)}
			}
			next, err := f.redirectTarget(cur, loc)
			if err != nil {
				return nil, err
			}
			cur = requestURL(o.Origin, next)
			continue
		}
		return resp, nil
	}
}

// requestURL returns the URL to request: the decided origin, its ASCII
// host and port, with the path and query of u, which ParseOrigin found to
// be of that origin. The raw u is never sent: net/http would put its host
// into the Host header through plain Punycode, without the IDNA mapping the
// decision applied (a non-NFC "ö", full-width letters and "ª" would name
// another host), keep a trailing dot the decision removed and so resolve an
// absolute name, and keep the letter case. The TLS server name and Host
// follow the URL's host, so both are the decided one. The path keeps its
// escapes as they were written (decoded once, by link.Parse, never
// again), and non-ASCII bytes in path and query are percent-encoded in
// UTF-8, as browsers send them.
func requestURL(org whitelist.Origin, u *url.URL) *url.URL {
	host := org.Host()
	if org.Port() != whitelist.DefaultPort {
		host = org.HostPort()
	}
	raw := u.RawPath // the path as written, when it differs from the default encoding
	if raw == "" {
		raw = u.EscapedPath()
	}
	raw = escapeNonURL(raw)
	path, err := url.PathUnescape(raw)
	if err != nil {
		// Not reached: url.Parse refused a bad escape in the path.
		path, raw = u.Path, ""
	}
	return &url.URL{Scheme: "https", Host: host, Path: path, RawPath: raw, RawQuery: escapeNonURL(u.RawQuery)}
}

// IsURLByte reports whether an ASCII byte may stand in a URL unencoded: RFC
// 3986 unreserved, gen-delims and sub-delims ("%" is checked apart). The
// fetch sends these as they are and percent-encodes the rest; the link's
// check (link.Parse) refuses the others in the descriptor URL with
// the same set.
func IsURLByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0
}

// escapeNonURL percent-encodes the bytes of s that cannot stand in a URL
// (non-ASCII, controls, space, and the ASCII that RFC 3986 does not allow),
// leaving everything else, escapes included, as it is.
func escapeNonURL(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c < utf8.RuneSelf && IsURLByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func (f *fetcher) roots() (*x509.CertPool, error) { return f.opts.Roots() }

// Roots returns the roots the fetch verifies the portal with: RootCAs or
// the system roots, plus the admin CA bundle (ExtraCAFile). The
// administrator's bundle extends what this machine trusts, so a launch
// gives the same roots to the security proxy and to an end-to-end TLS host
// wherever the descriptor names no roots of its own (proxy.ca_pem).
func (o FetchOptions) Roots() (*x509.CertPool, error) {
	var pool *x509.CertPool
	if o.RootCAs != nil {
		pool = o.RootCAs.Clone()
	} else {
		var err error
		if pool, err = x509.SystemCertPool(); err != nil {
			return nil, fmt.Errorf("load the system's root certificates: %w", err)
		}
	}
	path := o.ExtraCAFile
	if path == "" {
		path = DefaultCAFile()
	}
	check := o.checkAdmin
	if check == nil {
		check = platform.CheckAdminFile
	}
	if err := check(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pool, nil
		}
		return nil, fmt.Errorf("admin CA bundle: %w", err)
	}
	certs, err := readCAFile(path)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// readCAFile reads a PEM bundle of certificates, strictly: a bundle that
// parses only in part would trust less than the administrator meant,
// silently.
func readCAFile(path string) ([]*x509.Certificate, error) {
	data, err := platform.ReadRegularFile(path, maxCAFileBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // removed after the check: as if it never existed
		}
		return nil, fmt.Errorf("admin CA bundle: %w", err)
	}
	certs, err := ParseCAPEM(string(data))
	if err != nil {
		// Same parser as ca_pem; the file, not a field, is named.
		return nil, fmt.Errorf("admin CA bundle %s: %s", path, err)
	}
	return certs, nil
}

func (f *fetcher) do(ctx context.Context, client *http.Client, method string, u *url.URL, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, errors.New("cannot build the request") // the error quotes the URL
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, "+JWSContentType)
	req.Header.Set("User-Agent", f.userAgent())
	return client.Do(req)
}

// userAgent is the User-Agent of every request to a portal and of the
// CONNECT to an outbound proxy: FetchOptions.UserAgent, the value the
// launch gives the tunnel too, under the connector's rule for a header.
func (f *fetcher) userAgent() string { return connector.HeaderUserAgent(f.opts.UserAgent) }

// transportErr unwraps the *url.Error of net/http, whose text contains the
// full URL and so the ticket, and names a timeout or cancellation plainly.
func (f *fetcher) transportErr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		if errors.Is(cause, context.Canceled) {
			return fmt.Errorf("interrupted: %w", context.Canceled)
		}
		return cause // the timeout, which wraps context.DeadlineExceeded
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// redirectTarget resolves a Location header against cur and checks that it
// stays on https and on the trusted origin.
func (f *fetcher) redirectTarget(cur *url.URL, loc string) (*url.URL, error) {
	f.secrets.AddQuery(loc)
	if loc == "" {
		return nil, &RedirectError{Reason: "the answer has no Location header"}
	}
	next, err := cur.Parse(loc)
	if err != nil {
		return nil, &RedirectError{To: safetext.QuoteExcerpt(RedactURL(loc), 120), Reason: "the Location header does not parse"}
	}
	to := RedactURL(next.String())
	if !strings.EqualFold(next.Scheme, "https") {
		return nil, &RedirectError{To: to, Reason: "not https"}
	}
	got, err := whitelist.ParseOrigin(next.String())
	if err != nil {
		return nil, &RedirectError{To: to, Reason: "invalid host: " + whitelist.OriginReason(err)}
	}
	if got != f.opts.Origin {
		return nil, &RedirectError{To: to, Reason: "it leaves the trusted origin " + f.opts.Origin.String()}
	}
	return next, nil
}

// readBody checks the status, size and content type of the final answer
// and returns its body, and whether it is a signed descriptor
// (application/jose).
func (f *fetcher) readBody(ctx context.Context, resp *http.Response, maxBytes int64) ([]byte, bool, error) {
	if resp.StatusCode != http.StatusOK {
		// Read a little of an error page for the message, no more.
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		if cause := context.Cause(ctx); cause != nil {
			// One deadline for headers and body: an error page that is not
			// complete by then is a timeout, however its status looked.
			return nil, false, f.transportErr(ctx, cause)
		}
		// Error pages often repeat the request URL: scrub the ticket before
		// cutting, so that no part of it survives the cut.
		text := f.secrets.Scrub(strings.TrimSpace(string(head)))
		return nil, false, &StatusError{Code: resp.StatusCode, Excerpt: safetext.Excerpt(text, statusExcerptRunes)}
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, false, &ContentTypeError{Encoding: safetext.QuoteExcerpt(ce, 40)}
	}
	if resp.ContentLength > maxBytes {
		return nil, false, &SizeError{Limit: maxBytes, Length: resp.ContentLength}
	}
	signed, err := checkContentType(resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, false, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err == nil && context.Cause(ctx) != nil {
		// When the deadline interrupts the body, net/http can end the read
		// without an error; a body cut short must not pass for a complete
		// one, so a read that ends after the deadline counts as timed out.
		err = context.Cause(ctx)
	}
	if err != nil {
		return nil, false, f.transportErr(ctx, err)
	}
	if int64(len(body)) > maxBytes {
		return nil, false, &SizeError{Limit: maxBytes, Length: -1}
	}
	return body, signed, nil
}

// checkContentType accepts application/json, with a UTF-8 charset if it names
// one (RFC 8259: JSON between systems is UTF-8), and application/jose, a
// signed descriptor (docs/descriptor.md "Signed descriptors"), which it
// reports.
func checkContentType(ct string) (signed bool, err error) {
	if strings.TrimSpace(ct) == "" {
		return false, &ContentTypeError{}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, &ContentTypeError{Type: safetext.QuoteExcerpt(ct, 60)}
	}
	if mt != "application/json" && mt != JWSContentType {
		return false, &ContentTypeError{Type: safetext.Excerpt(mt, 60)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false, fmt.Errorf("the descriptor's charset is %s; want utf-8", safetext.QuoteExcerpt(cs, 40))
	}
	return mt == JWSContentType, nil
}

// drain reads a little of a body so the connection can be reused, then
// closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
}

// RedactURL returns raw without user info, query and fragment, sanitized,
// for messages and the audit log: the query of a descriptor URL carries a
// single-use ticket that must never be written down.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Cut by hand what cannot be parsed.
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		if _, after, ok := strings.Cut(raw, "@"); ok {
			raw = after
		}
		return safetext.Excerpt(raw, 300)
	}
	u.User = nil
	u.RawQuery, u.ForceQuery = "", false
	u.Fragment, u.RawFragment = "", ""
	return safetext.Excerpt(u.String(), 300)
}
