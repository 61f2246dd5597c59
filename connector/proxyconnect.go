package connector

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxyauth"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// outboundConnect is one CONNECT exchange with an outbound proxy, on a
// connection already open to it: the request for target, the proxy's
// credentials, and the reading of its answer. Choosing the proxy is the
// OutboundProxy's job; this is only what is said to the one chosen.
type outboundConnect struct {
	setting   *OutboundProxy // the setting via came from: its source, its refusal wording
	via       *url.URL       // the outbound proxy this connection reached, with its credentials
	target    string         // host:port asked for
	timeout   time.Duration  // for the whole exchange, sign-on rounds included
	userAgent string
	secrets   *redact.Set // what no message may show
	// auth is where the user's login is found for a Negotiate sign-on.
	auth proxyauth.Config
	// redial opens a fresh connection to the same outbound proxy, for a
	// sign-on round after the proxy closed the connection of its 407.
	// Nil: such a proxy cannot be signed on to.
	redial func(context.Context) (net.Conn, error)
}

// maxAuthBody bounds the body of a 407 read to keep its connection for
// the next sign-on round; a longer one costs a fresh connection.
const maxAuthBody = 16 << 10

// run sends CONNECT target on conn and reads the answer, answering a 407
// that offers Negotiate with the user's login (proxyauth): on the same
// connection when the proxy kept it open, else on a fresh one (redial),
// for at most proxyauth.MaxRounds tokens. On success the connection it
// returns (conn or a fresh one) is the byte stream to target, with
// nothing of the proxy's left unread; on failure the error is a
// StepOutbound *StepError and every connection it opened is closed, but
// conn, which is for the caller to close.
func (oc outboundConnect) run(ctx context.Context, conn net.Conn) (net.Conn, error) {
	hctx, cancel := context.WithTimeout(ctx, oc.timeout)
	defer cancel()
	first := conn
	closeOwn := func() {
		if conn != first {
			conn.Close()
		}
	}
	var authz string
	if oc.via.User != nil {
		// RFC 7617 (Basic), sent at once: the user gave it for this
		// proxy.
		pass, _ := oc.via.User.Password()
		authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(oc.via.User.Username()+":"+pass))
	}
	var neg *proxyauth.Negotiate
	defer func() {
		if neg != nil {
			neg.Close()
		}
	}()
	for {
		resp, reuse, err := oc.exchange(ctx, hctx, conn, authz)
		if err != nil {
			closeOwn()
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return conn, nil
		}
		if authz, err = oc.answer(ctx, hctx, resp, &neg); err != nil {
			closeOwn()
			return nil, err
		}
		if !reuse {
			closeOwn()
			if oc.redial == nil {
				return nil, oc.fail(ctx, hctx, resp.StatusCode, "407 Negotiate sign-on: the proxy closed the connection", fmt.Sprintf(notProxyHint, oc.setting.source), nil)
			}
			if conn, err = oc.redial(hctx); err != nil {
				return nil, err
			}
		}
	}
}

// answer returns the Proxy-Authorization value that answers resp, a
// refusal of CONNECT: the next Negotiate token when it is a 407 that
// offers Negotiate (*neg holds the sign-on across rounds, made at the
// first), else the error that words the refusal.
func (oc outboundConnect) answer(ctx, hctx context.Context, resp *http.Response, neg **proxyauth.Negotiate) (string, error) {
	refuse := func(msg, hint string) error { return oc.fail(ctx, hctx, resp.StatusCode, msg, hint, nil) }
	ch := proxyauth.ParseChallenges(resp.Header)
	switch {
	case resp.StatusCode != http.StatusProxyAuthRequired || (!ch.Negotiate && *neg == nil):
		return "", refuse(oc.setting.refusal("the security proxy", oc.target, statusText(resp), resp.StatusCode))
	case !ch.Negotiate:
		return "", refuse(signOnRefused(*neg, "the proxy dropped Negotiate"))
	case ch.Bad:
		return "", refuse("407 with a Negotiate token that is not base64", fmt.Sprintf(notProxyHint, oc.setting.source))
	case *neg != nil && ch.NegotiateToken == nil:
		// A bare "Negotiate" again after our token: refused.
		return "", refuse(signOnRefused(*neg, ""))
	}
	if *neg == nil {
		n, err := proxyauth.NewNegotiate(oc.via.Hostname(), oc.auth)
		if err != nil {
			return "", oc.signOnError(ctx, hctx, err)
		}
		*neg = n
	}
	authz, err := (*neg).Next(ch.NegotiateToken)
	if err != nil {
		return "", oc.signOnError(ctx, hctx, err)
	}
	return authz, nil
}

const notProxyHint = "the outbound proxy did not answer CONNECT as an HTTP proxy: check the outbound proxy setting (%s)"

// exchange sends one CONNECT (with authz, a Proxy-Authorization value,
// when not "") on conn and reads the answer. A 2xx answer returns a nil
// error and resp; so does a 407, with reuse telling whether conn can
// carry the next request (the proxy kept it open and its body was read
// to the end). Other answers return resp for the caller's wording.
func (oc outboundConnect) exchange(ctx, hctx context.Context, conn net.Conn, authz string) (resp *http.Response, reuse bool, err error) {
	undo := deadlineFromContext(hctx, conn)
	defer undo()
	// RFC 9110 section 9.3.6 (CONNECT). Nothing of the session is in
	// this request: only the target's address.
	req := "CONNECT " + oc.target + " HTTP/1.1\r\nHost: " + oc.target + "\r\n"
	if authz != "" {
		req += "Proxy-Authorization: " + authz + "\r\n"
	}
	req += "User-Agent: " + oc.userAgent + "\r\n\r\n"
	source := oc.setting.source
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, false, oc.fail(ctx, hctx, 0, "sending CONNECT: "+trimSyscall(err), hintRelay, err)
	}
	lim := &headerLimit{r: conn, n: maxResponseHeader, limited: true}
	br := bufio.NewReaderSize(lim, 4096)
	resp, err = http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, errHeaderTooLong):
			return nil, false, oc.fail(ctx, hctx, 0, fmt.Sprintf("the answer header is longer than %d KiB", maxResponseHeader>>10), fmt.Sprintf(notProxyHint, source), err)
		case lim.read == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			return nil, false, oc.fail(ctx, hctx, 0, "closed the connection without answering CONNECT", fmt.Sprintf(notProxyHint, source), err)
		case errors.As(err, &ne):
			return nil, false, oc.fail(ctx, hctx, 0, "reading the answer to CONNECT: "+safetext.Excerpt(trimSyscall(err), maxCause), fmt.Sprintf(notProxyHint, source), err)
		}
		msg := strings.Replace(notHTTP(oc.secrets, lim.first.String()), "the proxy's answer", "the answer", 1)
		return nil, false, oc.fail(ctx, hctx, 0, msg, fmt.Sprintf(notProxyHint, source), errors.New("not HTTP"))
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if br.Buffered() > 0 {
			// The target speaks only after our first bytes (a TLS
			// ClientHello): bytes here are the outbound proxy's.
			return nil, false, oc.fail(ctx, hctx, resp.StatusCode, "sent data after its 2xx answer, before the TLS handshake", fmt.Sprintf(notProxyHint, source), nil)
		}
		return resp, false, nil
	}
	if resp.StatusCode == http.StatusProxyAuthRequired && !resp.Close {
		// Read the body to its end, bounded, so that the next round
		// can go on this connection (NTLM's rounds must; Kerberos
		// saves a connection).
		n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxAuthBody+1))
		reuse = err == nil && n <= maxAuthBody && br.Buffered() == 0
	}
	resp.Body.Close()
	return resp, reuse, nil
}

// fail builds the StepOutbound error of the exchange, or the context's
// error when the caller gave up; an exchange that ran out of time says
// so instead of msg.
func (oc outboundConnect) fail(ctx, hctx context.Context, status int, msg, hint string, err error) error {
	addr := oc.via.Host
	if ctx.Err() != nil {
		return &StepError{Step: StepOutbound, Addr: addr, Err: ctx.Err()}
	}
	if hctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		msg = fmt.Sprintf("no answer to CONNECT within %v", oc.timeout)
		hint = "the outbound proxy accepted the connection but did not answer: check the outbound proxy setting (" + oc.setting.source + ")"
	}
	// The message may quote the outbound proxy (the start of an answer
	// that is not HTTP); the cause keeps only errors of our own making
	// or of the system, which carry no secret.
	return outboundError(addr, status, oc.secrets.Scrub(msg), hint, err)
}

// signOnError is the StepOutbound error for a Negotiate sign-on that
// could not go on (no ticket, an expired one, ...): "outbound proxy
// proxy.corp:3128: 407 Negotiate sign-on: no Kerberos ticket: ...".
func (oc outboundConnect) signOnError(ctx, hctx context.Context, err error) error {
	var pe *proxyauth.Error
	if !errors.As(err, &pe) {
		return oc.fail(ctx, hctx, http.StatusProxyAuthRequired, "407 Negotiate sign-on: "+safetext.Excerpt(err.Error(), maxCause), "", err)
	}
	return oc.fail(ctx, hctx, http.StatusProxyAuthRequired, "407 Negotiate sign-on: "+pe.Msg, pe.Hint, err)
}

// signOnRefused words a proxy's refusal of the user's Negotiate token.
func signOnRefused(neg *proxyauth.Negotiate, why string) (msg, hint string) {
	var pe *proxyauth.Error
	errors.As(neg.Refused(), &pe)
	msg = "407 Negotiate sign-on: " + pe.Msg
	if why != "" {
		msg += " (" + why + ")"
	}
	return msg, pe.Hint
}
