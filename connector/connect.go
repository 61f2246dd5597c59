package connector

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// maxResponseHeader caps the proxy's CONNECT answer: the bytes come from the
// network and textproto has no limit of its own.
const maxResponseHeader = 64 << 10

var errHeaderTooLong = errors.New("header too long")

// headerLimit reads at most n bytes while limited, then errHeaderTooLong;
// once the header is parsed the limit is lifted for the tunnelled stream.
type headerLimit struct {
	r       io.Reader
	n       int
	limited bool
	read    int // bytes read in total, to tell "closed without answering"
	first   firstLine
}

func (h *headerLimit) Read(p []byte) (int, error) {
	if h.limited {
		if h.n <= 0 {
			return 0, errHeaderTooLong
		}
		if len(p) > h.n {
			p = p[:h.n]
		}
	}
	n, err := h.r.Read(p)
	h.read += n
	if h.limited {
		h.n -= n
		h.first.add(p[:n])
	}
	return n, err
}

// firstLine keeps the start of what the proxy sent, up to its first line
// break or maxFirstLine bytes: all of an answer that a message may show
// when the answer is not HTTP, as a status line would be shown.
type firstLine struct {
	b    []byte
	done bool
}

const maxFirstLine = 128

func (f *firstLine) add(p []byte) {
	if f.done {
		return
	}
	if i := bytes.IndexAny(p, "\r\n"); i >= 0 {
		p, f.done = p[:i], true
	}
	if room := maxFirstLine - len(f.b); len(p) > room {
		p, f.done = p[:room], true
	}
	f.b = append(f.b, p...)
}

func (f *firstLine) String() string { return string(f.b) }

// UserAgent returns the User-Agent of trustlaunch's HTTP requests (the
// descriptor fetch and both transports): "trustlaunch/VERSION", or
// "trustlaunch" without a version. The version is known to the binary
// (cmd/trustlaunch, set at release time), which passes this string down.
func UserAgent(version string) string {
	if version == "" {
		return "trustlaunch"
	}
	return "trustlaunch/" + version
}

// HeaderUserAgent is the one rule for the User-Agent header of every
// request trustlaunch makes (both transports, the CONNECT to an outbound
// proxy, the descriptor fetch and the detection POST): ua, or
// UserAgent("") when ua is empty or could not stand in a header unchanged
// (the CONNECT request is written as text: a line break would add a
// header).
func HeaderUserAgent(ua string) string {
	if ua != "" && httpguts.ValidHeaderFieldValue(ua) && !strings.ContainsAny(ua, "\r\n") {
		return ua
	}
	return UserAgent("")
}

// userAgent is Config.UserAgent under HeaderUserAgent's rule.
func (c *Connector) userAgent() string { return HeaderUserAgent(c.cfg.UserAgent) }

// connectTunnel sends the CONNECT request on an established TLS connection
// and reads the answer.
func (c *Connector) connectTunnel(ctx, hctx context.Context, tc *tls.Conn) (net.Conn, error) {
	dest := c.cfg.Destination
	undo := deadlineFromContext(hctx, tc)
	// RFC 9110 section 9.3.6: CONNECT names host:port as the request target
	// and in Host. RFC 6750 section 2.1: "Bearer" credentials.
	req := "CONNECT " + dest + " HTTP/1.1\r\n" +
		"Host: " + dest + "\r\n" +
		"Proxy-Authorization: Bearer " + c.cfg.Token.reveal() + "\r\n" +
		"User-Agent: " + c.userAgent() + "\r\n" +
		"\r\n"
	if _, err := io.WriteString(tc, req); err != nil {
		undo()
		return nil, c.timeoutOr(ctx, hctx, StepProxyPolicy, c.cfg.ProxyAddr, err, func() *StepError {
			return &StepError{Step: StepProxyPolicy, Addr: c.cfg.ProxyAddr, Err: &describedError{msg: "sending the CONNECT request: " + trimSyscall(err), err: err}, hint: hintRelay}
		})
	}
	lim := &headerLimit{r: tc, n: maxResponseHeader, limited: true}
	br := bufio.NewReaderSize(lim, 4096)
	err := readConnectResponse(br, lim, c.cfg.ProxyAddr, dest, c.secrets)
	undo()
	if err != nil {
		// A timeout or cancellation shows up as a read error: name it so.
		return nil, c.timeoutOr(ctx, hctx, StepProxyPolicy, c.cfg.ProxyAddr, err, func() *StepError { return c.withoutSecrets(err.(*StepError)) })
	}
	lim.limited = false
	return &connectConn{Conn: tc, br: br}, nil
}

// readConnectResponse reads and judges the proxy's answer to CONNECT with
// net/http. It returns nil for a 2xx answer, leaving in br every byte that
// arrived behind the header; otherwise a *StepError. Its input is untrusted
// (FuzzConnectResponse). A refusal shows the status code and its standard
// phrase (statusText), or for an answer that is not HTTP the start of its
// first line, never the proxy's reason phrase, a header or the body; every
// spelling of every secret of the run is removed from the text that is
// shown before it is cut or escaped, and from the whole message after.
func readConnectResponse(br *bufio.Reader, lim *headerLimit, proxyAddr, dest string, secrets *redact.Set) error {
	se := judgeConnectResponse(br, lim, proxyAddr, dest, secrets)
	if se == nil {
		return nil
	}
	se.Err = scrubErr(se.Err, secrets)
	return se
}

func judgeConnectResponse(br *bufio.Reader, lim *headerLimit, proxyAddr, dest string, secrets *redact.Set) *StepError {
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		fail := func(msg string) *StepError {
			return &StepError{Step: StepProxyPolicy, Addr: proxyAddr, Err: &describedError{msg: msg, err: err},
				hint: "the proxy did not answer the CONNECT request as an HTTP proxy: check the proxy address and transport, or ask your administrator"}
		}
		switch {
		case errors.Is(err, errHeaderTooLong):
			return fail(fmt.Sprintf("the proxy's answer header is longer than %d KiB", maxResponseHeader>>10))
		case lim.read == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			return fail("the proxy closed the connection without answering")
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return fail("the proxy closed the connection in the middle of its answer")
		}
		var ne net.Error
		if errors.As(err, &ne) {
			return fail("reading the proxy's answer: " + proxyText(secrets, trimSyscall(err), maxCause))
		}
		// net/http's message quotes the line it could not parse, which
		// may be a header: show the first line only, as a status.
		return fail(notHTTP(secrets, lim.first.String()))
	}
	// The body of a 2xx answer to CONNECT is the tunnel (RFC 9110 section
	// 9.3.6: Content-Length and Transfer-Encoding are ignored); of any other
	// answer, it is discarded with the connection.
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return statusError(resp.StatusCode, statusText(resp), proxyAddr, dest)
}

// statusError maps a refusing HTTP status to its step; status is the
// answer's code and phrase, as statusText makes it.
func statusError(code int, status, proxyAddr, dest string) *StepError {
	switch code {
	case http.StatusProxyAuthRequired, http.StatusUnauthorized:
		return &StepError{Step: StepProxyAuth, Addr: proxyAddr, Err: errors.New("token rejected or expired (" + status + ")"), hint: hintAuth}
	case http.StatusForbidden:
		return &StepError{Step: StepProxyPolicy, Addr: proxyAddr, Err: errors.New("destination " + safetext.Quote(dest) + " refused by the proxy's policy (" + status + ")"), hint: hintPolicy}
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		// Squid 5.7 answers 503 when it cannot connect to the destination.
		return &StepError{Step: StepUpstream, Addr: proxyAddr, Err: errors.New("the proxy could not reach " + safetext.Quote(dest) + " (" + status + ")"), hint: hintUpstream}
	}
	return &StepError{Step: StepProxyPolicy, Addr: proxyAddr, Err: errors.New("unexpected answer from the proxy: " + status),
		hint: "the proxy refused the tunnel: ask your administrator"}
}

// connectConn is the tunnel of the CONNECT transport: reads go through the
// bufio.Reader that parsed the answer until the bytes that arrived behind
// the header are consumed, then straight to the TLS connection. Reads are
// not concurrent (net.Conn allows one reader), so br needs no lock.
type connectConn struct {
	*tls.Conn
	br *bufio.Reader
}

func (c *connectConn) Read(p []byte) (int, error) {
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(p)
		}
		// The bytes behind the header are consumed: drop the reader and
		// its buffer, which an idle tunnel would otherwise keep.
		c.br = nil
	}
	return c.Conn.Read(p)
}

// CloseWrite sends TLS close_notify: the proxy reads it as the end of the
// client's stream and half-closes its connection to the destination.
func (c *connectConn) CloseWrite() error { return c.Conn.CloseWrite() }
