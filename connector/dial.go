package connector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/internal/relay"
)

// Dial opens one tunnel: DNS, TCP and TLS to the proxy, the transport's
// request carrying the token, and end-to-end TLS to the destination when
// configured. The returned connection reaches the destination; its read and
// write errors are *StepError of StepRelay, and it supports CloseWrite.
// Every error of Dial is a *StepError.
func (c *Connector) Dial(ctx context.Context) (net.Conn, error) {
	var times DialTimes
	lap := lapTimer(time.Now())
	raw, choice, err := c.dialProxy(ctx)
	if err != nil {
		return nil, err
	}
	times.TCP = lap()
	ok := false
	defer func() {
		if !ok {
			raw.Close()
		}
	}()

	hctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	defer cancel()
	// The TLS records go through raw system calls (relay.RawIO), as the
	// relay's local end does (relay.RawIO says why).
	tc := tls.Client(relay.RawIO(raw), c.tlsConf)
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, c.timeoutOr(ctx, hctx, StepTLS, c.cfg.ProxyAddr, err, func() *StepError {
			return tlsError(c.cfg.ProxyAddr, err, false)
		})
	}
	times.TLS = lap()
	// The handshake verified the chain, the name and the pins
	// (VerifyConnection): only now may the token be written.

	var tunnel net.Conn
	switch c.cfg.Transport {
	case TransportConnect:
		tunnel, err = c.connectTunnel(ctx, hctx, tc)
	case TransportWebSocket:
		tunnel, err = c.websocketTunnel(ctx, hctx, tc, raw)
	default:
		err = fmt.Errorf("unknown transport %q", c.cfg.Transport) // New refuses it
	}
	if err != nil {
		return nil, err
	}
	times.Request = lap()

	if c.destConf != nil {
		inner := tls.Client(tunnel, c.destConf)
		if err := inner.HandshakeContext(hctx); err != nil {
			tunnel.Close()
			return nil, c.timeoutOr(ctx, hctx, StepTLS, c.cfg.Destination, err, func() *StepError {
				// The proxy holds the token and can answer this handshake.
				return c.withoutSecrets(tlsError(c.cfg.Destination, err, true))
			})
		}
		tunnel = &e2eConn{Conn: inner, tunnel: tunnel}
		times.EndToEnd = lap()
	}
	ok = true
	return &tunnelConn{Conn: tunnel, addr: c.cfg.ProxyAddr, proxyTLS: tc.ConnectionState(), times: times, route: choice}, nil
}

// DialTimes are how long the steps of one Dial took, for the launch's
// record of its phases.
type DialTimes struct {
	TCP      time.Duration // DNS and TCP to the proxy, or the outbound proxy's CONNECT to it
	TLS      time.Duration // the TLS handshake with the proxy
	Request  time.Duration // the transport's request carrying the token (CONNECT, WebSocket upgrade) to the proxy's answer
	EndToEnd time.Duration // the TLS handshake with the destination inside the tunnel; 0 without end-to-end TLS
}

// Times returns how long the steps of Dial took for a tunnel that Dial
// returned; ok is false for any other connection.
func Times(tunnel net.Conn) (times DialTimes, ok bool) {
	t, ok := tunnel.(*tunnelConn)
	if !ok {
		return DialTimes{}, false
	}
	return t.times, true
}

// lapTimer returns a func that returns the time since the previous call
// (since start, the first time).
func lapTimer(start time.Time) func() time.Duration {
	return func() time.Duration {
		now := time.Now()
		d := now.Sub(start)
		start = now
		return d
	}
}

// Route returns how a tunnel that Dial returned went out to the proxy:
// the outbound proxy or DIRECT, what chose it, and what was tried first;
// ok is false for any other connection.
func Route(tunnel net.Conn) (c Choice, ok bool) {
	t, ok := tunnel.(*tunnelConn)
	if !ok {
		return Choice{}, false
	}
	return t.route, true
}

// ProxyTLS returns the state of the TLS session with the proxy of a tunnel
// that Dial returned (version, cipher suite, verified chains), for status
// displays; ok is false for any other connection.
func ProxyTLS(tunnel net.Conn) (state tls.ConnectionState, ok bool) {
	t, ok := tunnel.(*tunnelConn)
	if !ok {
		return tls.ConnectionState{}, false
	}
	return t.proxyTLS, true
}

// timeoutOr reports a cancelled or timed-out step as such, and any other
// failure with describe (which may be nil when ctx or hctx has ended).
func (c *Connector) timeoutOr(ctx, hctx context.Context, step Step, addr string, err error, describe func() *StepError) *StepError {
	if ctx.Err() != nil {
		return &StepError{Step: step, Addr: addr, Err: ctx.Err()}
	}
	if hctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return &StepError{Step: step, Addr: addr,
			Err:  &describedError{msg: fmt.Sprintf("no answer within %v", c.cfg.HandshakeTimeout), err: context.DeadlineExceeded},
			hint: "the proxy accepted the connection but did not complete the exchange: check the proxy address, or ask your administrator"}
	}
	if describe == nil {
		return &StepError{Step: step, Addr: addr, Err: err}
	}
	return describe()
}

// dialProxy connects to the security proxy the way Config.Outbound
// says (OutboundProxy.Dial: through each outbound proxy of its route in
// turn, StepOutbound), or directly: it resolves the proxy's host
// (StepDNS) and connects to its addresses in turn (StepTCP).
func (c *Connector) dialProxy(ctx context.Context) (net.Conn, Choice, error) {
	d := routeDial{
		setting: c.cfg.Outbound,
		target:  c.cfg.ProxyAddr,
		opts: DialOptions{
			What:             "the security proxy",
			DialTimeout:      c.cfg.DialTimeout,
			HandshakeTimeout: c.cfg.HandshakeTimeout,
			Resolver:         c.cfg.Resolver,
			UserAgent:        c.cfg.UserAgent,
			Secrets:          c.secrets,
			Auth:             c.cfg.OutboundAuth,
		},
		dialHost: c.dialHost,
		direct: func(ctx context.Context) (net.Conn, error) {
			conn, step, err := c.dialHost(ctx, c.proxyHost, c.proxyPort)
			if err != nil {
				addr := c.cfg.ProxyAddr
				if step == StepDNS {
					addr = c.proxyHost
				}
				return nil, netError(step, addr, err)
			}
			return conn, nil
		},
	}
	return d.dial(ctx)
}

// dialHost resolves host (unless it is an IP literal) and connects to its
// addresses in turn, within DialTimeout, with TCP keepalive (keepAlive).
// A failure is returned with the step it happened in.
func (c *Connector) dialHost(ctx context.Context, host, portStr string) (net.Conn, Step, error) {
	return dialAddrs(ctx, c.cfg.Resolver, c.cfg.DialTimeout, host, portStr)
}

// KeepAlive is the TCP keepalive of every socket trustlaunch opens or
// accepts (the tunnel's, the local end's, the descriptor fetch's): a
// first probe after 30 s of silence, then every 10 s, and the connection
// declared dead after 3 unanswered probes. NAT gateways and L4 load
// balancers drop idle flows after minutes (AWS NLB 350 s, Azure LB 4 min
// by default), so 30 s keeps the flow known to them. Keepalive does not
// keep an HTTP proxy's tunnel open: Squid and nginx count bytes, which the
// emulator's TELNET NOPs and the WebSocket pings provide
// (docs/admin.md "Idle sessions").
var KeepAlive = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 3}

// tunnelConn is the connection Dial returns: it reports read and write
// failures as relay errors naming the proxy.
type tunnelConn struct {
	net.Conn
	addr     string
	proxyTLS tls.ConnectionState
	times    DialTimes
	route    Choice
}

func (t *tunnelConn) wrap(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &StepError{Step: StepRelay, Addr: t.addr, Err: err, hint: hintRelay}
}

func (t *tunnelConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	return n, t.wrap(err)
}

func (t *tunnelConn) Write(p []byte) (int, error) {
	n, err := t.Conn.Write(p)
	return n, t.wrap(err)
}

// CloseWrite ends the sending direction (see the transports).
func (t *tunnelConn) CloseWrite() error {
	if cw, ok := t.Conn.(interface{ CloseWrite() error }); ok {
		return t.wrap(cw.CloseWrite())
	}
	return nil
}

// e2eConn is end-to-end TLS inside a tunnel. Its CloseWrite sends
// close_notify to the destination and then half-closes the tunnel, so the
// proxy sees the end of the stream too.
type e2eConn struct {
	*tls.Conn
	tunnel net.Conn
}

func (e *e2eConn) CloseWrite() error {
	err := e.Conn.CloseWrite()
	if cw, ok := e.tunnel.(interface{ CloseWrite() error }); ok {
		if err2 := cw.CloseWrite(); err == nil {
			err = err2
		}
	}
	return err
}

// deadlineFromContext applies ctx's deadline and cancellation to conn for
// the duration of a blocking exchange; the returned func undoes it.
func deadlineFromContext(ctx context.Context, conn net.Conn) (undo func()) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		_ = conn.SetDeadline(time.Time{})
	}
}
