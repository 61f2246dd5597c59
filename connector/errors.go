package connector

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Step names the stage of building or using a tunnel that failed.
type Step string

// The steps, in the order a tunnel goes through them.
const (
	StepDNS         Step = "dns"          // resolving the proxy's host name
	StepTCP         Step = "tcp"          // connecting to the proxy
	StepTLS         Step = "tls"          // TLS with the proxy, or with the destination (end-to-end TLS)
	StepProxyAuth   Step = "proxy-auth"   // the proxy rejected the token
	StepProxyPolicy Step = "proxy-policy" // the proxy refused the destination, or answered unexpectedly
	StepUpstream    Step = "upstream"     // the proxy could not reach the destination
	StepRelay       Step = "relay"        // the tunnel broke while relaying bytes
)

// StepError is the error of every failed step. Use errors.As to find it and
// switch on Step; Err is the cause (errors.Is and errors.As see through it)
// and Hint, when not empty, is advice for the user.
//
// Error reads like
// "tls handshake with proxy.example.com:8443: certificate signed by unknown authority".
type StepError struct {
	Step Step
	Addr string // host:port the step talked to (the proxy, or the destination)
	Err  error

	hint string // read through Hint, the method callers find advice by
}

// Hint returns advice for the user without the "hint:" prefix, or "" when
// none is known (an interrupted step).
func (e *StepError) Hint() string { return e.hint }

// Error returns "<what> <addr>: <cause>".
func (e *StepError) Error() string {
	var what string
	switch e.Step {
	case StepDNS:
		what = "dns lookup of"
	case StepTCP:
		what = "tcp connect to"
	case StepTLS:
		what = "tls handshake with"
	case StepProxyAuth:
		what = "proxy authentication at"
	case StepProxyPolicy:
		what = "proxy request at"
	case StepUpstream:
		what = "upstream connect through"
	case StepRelay:
		what = "relay through"
	case StepOutbound:
		what = "outbound proxy"
	default:
		what = string(e.Step) + " at"
	}
	if e.Err == nil {
		return what + " " + e.Addr
	}
	return what + " " + e.Addr + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *StepError) Unwrap() error { return e.Err }

// describedError shows a plain message for an error while keeping the
// original in the chain for errors.Is and errors.As.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

// Hints, one place for their wording.
const (
	hintCA         = "the proxy's certificate is signed by an authority this computer does not trust: ask your administrator to add its CA to trustlaunch's admin CA bundle, or the portal to send it as proxy.ca_pem (trustlaunch connect takes it as --ca)"
	hintName       = "the proxy's certificate does not name this host: check the proxy address and server name (the descriptor's proxy.server_name; trustlaunch connect --server-name), or ask your administrator"
	hintExpired    = "check this computer's clock; if it is right, the proxy's certificate has expired: ask your administrator"
	hintPin        = "the proxy's key is not the pinned one: the proxy may have a new certificate or the connection is intercepted; ask your administrator before trusting it"
	hintVersion    = "the proxy offers only TLS versions older than 1.2, which trustlaunch refuses: ask your administrator to enable TLS 1.2 or 1.3 on the proxy"
	hintTLS        = "check the TLS versions asked for (the descriptor's proxy.tls_min and tls_max; trustlaunch connect --tls-min, --tls-max) and the proxy's TLS settings, or ask your administrator"
	hintDNS        = "check the proxy host name and this computer's network and DNS settings"
	hintTCP        = "check the proxy address and port, and that a firewall lets this computer reach it"
	hintAuth       = "the session token was rejected, unknown or expired: launch the session again from the portal to get a fresh one"
	hintPolicy     = "the proxy's policy does not allow this destination: ask your administrator"
	hintUpstream   = "the proxy could not reach the destination host: it may be down or unreachable from the proxy; try again later or ask your administrator"
	hintRelay      = "the connection broke while in use: reconnect, and check the network if it keeps happening"
	hintE2EVersion = "the destination offers only TLS versions older than 1.2"
)

// tlsError turns a handshake error into a StepError with a short message and
// a hint chosen by the error's type.
func tlsError(addr string, err error, destination bool) *StepError {
	msg, hint := describeTLS(err)
	if destination {
		// End-to-end TLS inside the tunnel: the peer is the destination,
		// whose settings come from the descriptor, not from flags.
		msg = strings.Replace(msg, "the proxy refused", "the destination refused", 1)
		switch hint {
		case hintVersion:
			hint = hintE2EVersion
		case hintCA:
			hint = "the destination's certificate is signed by an authority this computer does not trust: ask your administrator to add its CA to trustlaunch's admin CA bundle, or to the admin policy's entry for this destination (ca_pem)"
		case hintName:
			hint = "the destination's certificate does not name the destination host: ask your administrator"
		case hintExpired:
			hint = "check this computer's clock; if it is right, the destination's certificate has expired: ask your administrator"
		case hintTLS:
			hint = "the destination's TLS settings do not match trustlaunch's (TLS 1.2 or 1.3): ask your administrator"
		}
	}
	return &StepError{Step: StepTLS, Addr: addr, Err: &describedError{msg: msg, err: err}, hint: hint}
}

// describeTLS chooses the message and hint for a handshake error. The
// message can quote certificate names, which come from the network, so it is
// sanitized.
func describeTLS(err error) (msg, hint string) {
	msg, hint = describeTLSRaw(err)
	return safetext.Sanitize(msg), hint
}

func describeTLSRaw(err error) (msg, hint string) {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		pin      *PinError
		alert    tls.AlertError
		verr     *tls.CertificateVerificationError
		recHdr   tls.RecordHeaderError
		opErr    *net.OpError
	)
	switch {
	case errors.As(err, &pin):
		return pin.Error(), hintPin
	case errors.As(err, &unknown):
		return "certificate signed by unknown authority" + certSubject(unknown.Cert), hintCA
	case errors.As(err, &hostname):
		return strings.TrimPrefix(hostname.Error(), "x509: "), hintName
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return strings.TrimPrefix(invalid.Error(), "x509: "), hintExpired
		}
		return strings.TrimPrefix(invalid.Error(), "x509: "), hintCA
	case errors.As(err, &verr):
		return strings.TrimPrefix(verr.Err.Error(), "x509: "), hintCA
	case errors.As(err, &alert):
		if alert == 70 { // protocol_version, RFC 8446 section 6.2
			return "the proxy refused TLS 1.2 and 1.3 (alert: protocol version not supported)", hintVersion
		}
		return "the peer sent alert: " + alertText(err), hintTLS
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// crypto/tls reports a received alert as a *net.OpError with Op
		// "remote error" around its unexported alert type, a uint8.
		if v := reflect.ValueOf(opErr.Err); v.IsValid() && v.Kind() == reflect.Uint8 && v.Uint() == 70 {
			return "the proxy refused TLS 1.2 and 1.3 (alert: protocol version not supported)", hintVersion
		}
		return "the peer sent alert: " + trimSyscall(opErr.Err), hintTLS
	case errors.As(err, &recHdr):
		return "the peer did not answer with TLS (is this a TLS port?)", hintTLS
	}
	return err.Error(), hintTLS
}

func alertText(err error) string {
	var a tls.AlertError
	if errors.As(err, &a) {
		return strings.TrimPrefix(a.Error(), "tls: ")
	}
	return err.Error()
}

func certSubject(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	s := c.Subject.CommonName
	if s == "" {
		s = c.Subject.String()
	}
	if c.Issuer.CommonName != "" {
		return " (certificate " + safetext.Quote(s) + " issued by " + safetext.Quote(c.Issuer.CommonName) + ")"
	}
	return " (certificate " + safetext.Quote(s) + ")"
}

// netError wraps a DNS or TCP failure.
func netError(step Step, addr string, err error) *StepError {
	hint := hintTCP
	if step == StepDNS {
		hint = hintDNS
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			msg := dnsErr.Err
			if dnsErr.IsNotFound {
				msg = "no such host"
			}
			err = &describedError{msg: msg, err: err}
		}
	} else {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Err != nil {
			err = &describedError{msg: trimSyscall(opErr.Err), err: err}
		}
	}
	return &StepError{Step: step, Addr: addr, Err: err, hint: hint}
}

// trimSyscall drops the "connect: " prefix of a *os.SyscallError.
func trimSyscall(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i > 0 && !strings.Contains(s[:i], " ") {
		return s[i+2:]
	}
	return s
}

// Lengths of the proxy's text in a message, where a message must show
// some (an answer that is not HTTP, a WebSocket close reason): enough to
// recognize what answered, no room to quote a header, a body or a
// credential at length.
const (
	maxReason = 48 // a WebSocket close reason, or the start of an answer that is not HTTP
	maxCause  = 80 // a library's or the system's text about a failure
)

// proxyText is the one way text from a proxy enters a message: every
// spelling of every secret of the run removed (redact.Set.Scrub), then
// sanitized and cut to max runes.
func proxyText(secrets *redact.Set, s string, max int) string {
	return safetext.Excerpt(secrets.Scrub(s), max)
}

// statusText names a proxy's answer by its status code and the standard
// phrase of that code, "407 Proxy Authentication Required" (just "499"
// for a code without one). The reason phrase the proxy wrote is not shown:
// it is the proxy's text, a refusal may quote the credential it refused in
// any spelling, and the code already says which step failed and why
// (docs/design.md "Connector").
func statusText(resp *http.Response) string {
	if phrase := http.StatusText(resp.StatusCode); phrase != "" {
		return strconv.Itoa(resp.StatusCode) + " " + phrase
	}
	return strconv.Itoa(resp.StatusCode)
}

// notHTTP describes an answer that is not HTTP by the start of its first
// line, which tells an administrator what answered (an SSH or TLS
// server, an HTML page), scrubbed of the run's secrets.
func notHTTP(secrets *redact.Set, first string) string {
	if first == "" {
		return "the proxy's answer is not HTTP"
	}
	return "the proxy's answer is not HTTP (first line " + `"` + strings.ReplaceAll(proxyText(secrets, first, maxReason), `"`, `\"`) + `")`
}
