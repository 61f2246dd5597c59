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
	timeout   time.Duration  // for the whole exchange
	userAgent string
	secrets   *redact.Set // what no message may show
}

// run sends CONNECT target on conn and reads the answer. On success conn
// is the byte stream to target, with nothing of the proxy's left unread;
// on failure the error is a StepOutbound *StepError and conn is for the
// caller to close.
func (oc outboundConnect) run(ctx context.Context, conn net.Conn) error {
	addr := oc.via.Host
	hctx, cancel := context.WithTimeout(ctx, oc.timeout)
	defer cancel()
	undo := deadlineFromContext(hctx, conn)
	defer undo()
	// RFC 9110 section 9.3.6 (CONNECT), RFC 7617 (Basic). Nothing of the
	// session is in this request: only the target's address.
	req := "CONNECT " + oc.target + " HTTP/1.1\r\nHost: " + oc.target + "\r\n"
	if oc.via.User != nil {
		pass, _ := oc.via.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(oc.via.User.Username() + ":" + pass))
		req += "Proxy-Authorization: Basic " + cred + "\r\n"
	}
	req += "User-Agent: " + oc.userAgent + "\r\n\r\n"
	source := oc.setting.source
	fail := func(status int, msg, hint string, err error) error {
		if ctx.Err() != nil {
			return &StepError{Step: StepOutbound, Addr: addr, Err: ctx.Err()}
		}
		if hctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			msg = fmt.Sprintf("no answer to CONNECT within %v", oc.timeout)
			hint = "the outbound proxy accepted the connection but did not answer: check the outbound proxy setting (" + source + ")"
		}
		// The message may quote the outbound proxy (the start of an
		// answer that is not HTTP); the cause keeps only errors of our
		// own making or of the system, which carry no secret.
		return outboundError(addr, status, oc.secrets.Scrub(msg), hint, err)
	}
	if _, err := io.WriteString(conn, req); err != nil {
		return fail(0, "sending CONNECT: "+trimSyscall(err), hintRelay, err)
	}
	lim := &headerLimit{r: conn, n: maxResponseHeader, limited: true}
	br := bufio.NewReaderSize(lim, 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	const notProxy = "the outbound proxy did not answer CONNECT as an HTTP proxy: check the outbound proxy setting (%s)"
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, errHeaderTooLong):
			return fail(0, fmt.Sprintf("the answer header is longer than %d KiB", maxResponseHeader>>10), fmt.Sprintf(notProxy, source), err)
		case lim.read == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			return fail(0, "closed the connection without answering CONNECT", fmt.Sprintf(notProxy, source), err)
		case errors.As(err, &ne):
			return fail(0, "reading the answer to CONNECT: "+safetext.Excerpt(trimSyscall(err), maxCause), fmt.Sprintf(notProxy, source), err)
		}
		msg := strings.Replace(notHTTP(oc.secrets, lim.first.String()), "the proxy's answer", "the answer", 1)
		return fail(0, msg, fmt.Sprintf(notProxy, source), errors.New("not HTTP"))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg, hint := oc.setting.refusal("the security proxy", oc.target, statusText(resp), resp.StatusCode)
		return fail(resp.StatusCode, msg, hint, nil)
	}
	if br.Buffered() > 0 {
		// The target speaks only after our first bytes (a TLS
		// ClientHello): bytes here are the outbound proxy's.
		return fail(resp.StatusCode, "sent data after its 2xx answer, before the TLS handshake", fmt.Sprintf(notProxy, source), nil)
	}
	return nil
}
