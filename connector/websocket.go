package connector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/trustlaunch/trustlaunch/internal/redact"
)

// websocketTunnel runs the WebSocket upgrade on an established TLS
// connection: GET wss://proxy/path?token=..., subprotocol "binary".
func (c *Connector) websocketTunnel(ctx, hctx context.Context, tc *tls.Conn, raw net.Conn) (net.Conn, error) {
	watch := &watchConn{Conn: tc}
	var used atomic.Bool
	tr := &http.Transport{
		// The TLS connection is ours, already verified: the HTTP client
		// must neither dial nor use a proxy from the environment.
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
			if used.Swap(true) {
				return nil, errors.New("connector: second dial for one websocket")
			}
			return watch, nil
		},
		Proxy:                  nil,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: maxResponseHeader,
	}
	defer tr.CloseIdleConnections()
	tok := c.cfg.Token.reveal()
	// websockify reads only the "token" query parameter
	// (websocketproxy.py get_target).
	u := url.URL{Scheme: "wss", Host: c.cfg.ProxyAddr, Path: c.path, RawQuery: "token=" + url.QueryEscape(tok)}
	wc, resp, err := websocket.Dial(hctx, u.String(), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr},
		HTTPHeader: http.Header{"User-Agent": {c.userAgent()}},
		// websockify 0.10 accepts exactly this list.
		Subprotocols: []string{"binary"},
	})
	if err != nil {
		watch.Close()
		if ctx.Err() != nil || hctx.Err() != nil {
			return nil, c.timeoutOr(ctx, hctx, StepProxyPolicy, c.cfg.ProxyAddr, scrubErr(err, c.secrets), nil)
		}
		return nil, c.withoutSecrets(c.upgradeError(resp, watch, err))
	}
	if p := wc.Subprotocol(); p != "binary" {
		wc.CloseNow()
		return nil, &StepError{Step: StepProxyPolicy, Addr: c.cfg.ProxyAddr, Err: errors.New("the proxy did not accept the \"binary\" subprotocol"),
			hint: "the proxy is not a websockify-compatible WebSocket proxy: check the transport, or ask your administrator"}
	}
	nc := websocket.NetConn(context.Background(), wc, websocket.MessageBinary)
	w := &wsConn{
		Conn:    nc,
		ws:      wc,
		raw:     raw,
		secrets: c.secrets,
		rule:    closeRule{pong: true, acked: true, quiet: c.cfg.WebSocketQuiet, pongRTTs: pongRTTs},
		linger:  c.cfg.WebSocketLinger,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	w.touch()
	go w.keepAlive(c.cfg.WebSocketPing)
	return w, nil
}

// keepAlive sends a WebSocket ping (RFC 6455 section 5.5.2) once the
// tunnel has carried no data for interval, and again each interval while
// it stays idle, until the WebSocket closes. A proxy that cuts idle
// WebSocket connections (nginx's proxy_read_timeout counts bytes from
// upstream) sees the ping, and the pong websockify answers with, as
// traffic; TCP keepalive would not count. A ping that gets no pong is not
// an error here: a dead peer shows up as a failed read of the relay.
func (w *wsConn) keepAlive(interval time.Duration) {
	t := time.NewTimer(interval)
	defer t.Stop()
	lastPing := time.Now()
	for {
		select {
		case <-w.done:
			return
		case <-w.stop:
			return
		case <-t.C:
		}
		busy := time.Unix(0, w.last.Load())
		if busy.Before(lastPing) {
			busy = lastPing
		}
		if wait := interval - time.Since(busy); wait > 0 {
			t.Reset(wait)
			continue
		}
		lastPing = time.Now()
		w.pings.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		_ = w.ws.Ping(ctx)
		cancel()
		t.Reset(max(interval-time.Since(lastPing), 0))
	}
}

// upgradeError describes a failed WebSocket upgrade. Like a CONNECT
// refusal it shows the status code and its standard phrase, or the first
// line of an answer that is not HTTP, never a header or the body: the
// library's own text quotes header values (a bad Upgrade header) and the
// request URL with the token.
func (c *Connector) upgradeError(resp *http.Response, watch *watchConn, err error) *StepError {
	addr, secrets := c.cfg.ProxyAddr, c.secrets
	cause := scrubErr(err, secrets)
	hint := "the proxy did not complete the WebSocket upgrade: check the proxy address, path and transport, or ask your administrator"
	switch {
	case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
		return statusError(resp.StatusCode, statusText(resp), addr, c.cfg.Destination)
	case resp != nil:
		return &StepError{Step: StepProxyPolicy, Addr: addr, hint: hint,
			Err: &describedError{msg: "the proxy answered " + statusText(resp) + " but did not complete a valid WebSocket handshake", err: cause}}
	case watch.readBytes.Load() == 0 && watch.readErr.Load() != nil:
		// websockify checks the token before the upgrade and, when it
		// fails, closes the connection without an HTTP answer.
		return &StepError{Step: StepProxyAuth, Addr: addr, hint: hintAuth,
			Err: &describedError{msg: "the proxy closed the connection before the WebSocket upgrade: token rejected, unknown or expired", err: cause}}
	case watch.readBytes.Load() > 0:
		// net/http could not read the answer; its message quotes the
		// line it failed on, which may be a header.
		return &StepError{Step: StepProxyPolicy, Addr: addr, hint: hint,
			Err: &describedError{msg: notHTTP(secrets, watch.firstLine()), err: cause}}
	}
	// Nothing came back: the cause is local or the connection's (a reset,
	// a failed write), named by its innermost error.
	inner := err
	for e := err; e != nil; e = errors.Unwrap(e) {
		inner = e
	}
	return &StepError{Step: StepProxyPolicy, Addr: addr, hint: hint,
		Err: &describedError{msg: "the WebSocket upgrade failed: " + proxyText(secrets, trimSyscall(inner), maxCause), err: cause}}
}

// scrubErr removes the run's secrets from an error: the HTTP client's
// *url.Error quotes the request URL with the token in its query, and so do
// the fmt.Errorf wrappers of the WebSocket library, which copied its text;
// a TLS error quotes names of a certificate that a proxy holding the token
// chose. The message is scrubbed, and the chain kept behind it starts at
// the first error whose whole chain is free of every secret (url.Error's
// cause, such as io.EOF), so nothing that unwraps the result finds one
// either.
func scrubErr(err error, secrets *redact.Set) error {
	has := func(e error) bool {
		for ; e != nil; e = errors.Unwrap(e) {
			if m := e.Error(); secrets.Scrub(m) != m {
				return true
			}
		}
		return false
	}
	if !has(err) {
		return err
	}
	var cause error
	for e := err; e != nil; e = errors.Unwrap(e) {
		if !has(e) {
			cause = e
			break
		}
	}
	return &describedError{msg: secrets.Scrub(err.Error()), err: cause}
}

// withoutSecrets removes the run's secrets from the text of a failure
// built from what a proxy sent: the first line of an answer that is not
// HTTP, a library's text that quotes the request, the names of a
// certificate the proxy chose.
func (c *Connector) withoutSecrets(se *StepError) *StepError {
	se.Err = scrubErr(se.Err, c.secrets)
	return se
}

// watchConn records whether the proxy sent anything before failing, and
// the start of its first line. The HTTP client reads in its own goroutine.
type watchConn struct {
	net.Conn
	readBytes atomic.Int64
	readErr   atomic.Pointer[error]
	mu        sync.Mutex
	first     firstLine
}

func (w *watchConn) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.readBytes.Add(int64(n))
	w.mu.Lock()
	w.first.add(p[:n])
	w.mu.Unlock()
	if err != nil {
		w.readErr.CompareAndSwap(nil, &err)
	}
	return n, err
}

func (w *watchConn) firstLine() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first.String()
}

// wsConn is the tunnel of the WebSocket transport.
//
// WebSocket has no half-close, and websockify 0.10 (do_proxy) reads the
// client's frames into a queue in memory, passes one queued buffer to the
// destination per pass of its loop, and drops the queue when it reads a
// close frame. So CloseWrite, the local side's EOF, sends nothing: the
// tunnel keeps delivering the peer's data, and a background linger closes
// the WebSocket only when one of these holds:
//   - the peer closed (websockify sends close 1000 when the destination
//     closes): nothing is left to deliver;
//   - rule holds (see closeRule): the proxy has read every frame, and has
//     had time to pass the last of them on;
//   - the linger timeout passed, so a silent peer cannot hold the tunnel.
//
// Close after CloseWrite waits for that linger, so Relay's teardown does not
// cut it short; Close without CloseWrite closes at once.
type wsConn struct {
	net.Conn                 // websocket.NetConn
	ws       *websocket.Conn // for pings
	raw      net.Conn        // the TCP connection under TLS
	secrets  *redact.Set     // scrubbed from the proxy's close reasons
	rule     closeRule
	linger   time.Duration

	last       atomic.Int64 // unix nanoseconds of the last read or write
	pings      atomic.Int64 // pings sent (keepAlive), for tests
	lingerOnce sync.Once
	lingering  atomic.Bool
	closing    atomic.Bool // closeNow started: reads end with EOF
	stopOnce   sync.Once
	stop       chan struct{} // closed when the peer closed or reading failed
	closeOnce  sync.Once
	closeErr   error
	done       chan struct{} // closed when the WebSocket is closed
}

// pongRTTs is how many round trips of the EOF ping the linger waits after
// its pong (closeRule.pongRTTs).
const pongRTTs = 2

// closeRule says when the tunnel may send its close frame after the local
// EOF, so that a proxy that drops what it still queues on a close frame
// (websockify 0.10) has passed everything on. All of its conditions must
// hold:
//   - pong: the proxy answered a ping sent after the last data frame.
//     websockify answers a ping in the pass of its loop that reads it, so
//     it has read every earlier frame into its queue, and in that same
//     pass it passes the queue's head to the destination when the
//     destination keeps up. Neither the quiet period nor the TCP
//     acknowledgement proves that: on a busy proxy acknowledged bytes wait
//     unread, and a close frame behind them ends the tunnel before the
//     last of them leaves the queue.
//   - acked: the proxy's TCP stack acknowledged every byte (Linux
//     SIOCOUTQ 0; unknown elsewhere, where the pong covers it).
//   - quiet: the tunnel carried no data either way for this long, time
//     for a destination that takes its data slowly; a peer still sending
//     is a live session. Pings and pongs do not count: they are the
//     connector's own probes, and websockify answers them however full
//     its queue is.
//   - pongRTTs: this many round trips of the ping have passed since its
//     pong: a proxy that was slow to read the ping (a busy host, which
//     also passes its queue on slowly) gets that much longer. The round
//     trip also counts the data still in flight at the EOF, so a slow
//     link with much of it waits longer too, within the linger timeout.
//
// A destination that takes nothing for longer than that still loses what
// the proxy queues: nothing the client can observe shows websockify's
// queue (see the package documentation). TestWebSocketEOFKeepsData shows
// a rule without the pong, or without the wait after it, losing data that
// this rule keeps.
type closeRule struct {
	pong, acked bool
	quiet       time.Duration
	pongRTTs    int
}

func (w *wsConn) touch() { w.last.Store(time.Now().UnixNano()) }

func (w *wsConn) LocalAddr() net.Addr  { return w.raw.LocalAddr() }
func (w *wsConn) RemoteAddr() net.Addr { return w.raw.RemoteAddr() }

func (w *wsConn) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.touch()
	if err != nil {
		w.stopOnce.Do(func() { close(w.stop) })
		if w.closing.Load() {
			// Our own close cancels the library's read context; after
			// a close frame the stream has simply ended.
			err = io.EOF
		}
	}
	return n, w.clean(err)
}

func (w *wsConn) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	w.touch()
	return n, w.clean(err)
}

// clean keeps the proxy's text out of a read or write error: the reason of
// a close frame is the proxy's to choose (websockify says "Target closed";
// another proxy may quote the token it refuses), and the library quotes it
// whole. The error keeps the close status, and a websocket.CloseError with
// the reason through proxyText stays in the chain for errors.As; any other
// error loses every spelling of the run's secrets from its text.
func (w *wsConn) clean(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return scrubErr(err, w.secrets)
	}
	ce.Reason = proxyText(w.secrets, ce.Reason, maxReason)
	msg := fmt.Sprintf("the proxy closed the WebSocket with status %d", int(ce.Code))
	if ce.Reason != "" {
		msg += " (" + ce.Reason + ")"
	}
	return &describedError{msg: msg, err: ce}
}

// CloseWrite starts the linger described on wsConn and returns at once.
func (w *wsConn) CloseWrite() error {
	w.lingerOnce.Do(func() {
		w.lingering.Store(true)
		go w.lingerThenClose()
	})
	return nil
}

func (w *wsConn) lingerThenClose() {
	deadline := time.Now().Add(w.linger)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// The ping is sent now, behind every data frame: CloseWrite comes
	// after the last Write.
	pong := make(chan answer, 1)
	if w.rule.pong {
		go func() {
			sent := time.Now()
			if w.ws.Ping(ctx) == nil {
				now := time.Now()
				pong <- answer{now, now.Sub(sent)}
			}
		}()
	}
	var got *answer
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		now := time.Now()
		wait := w.untilClose(now, got)
		if wait <= 0 || !now.Before(deadline) {
			break
		}
		t.Reset(min(wait, deadline.Sub(now)))
		select {
		case <-w.done:
			return
		case <-w.stop:
			w.closeNow()
			return
		case a := <-pong:
			got = &a
		case <-t.C:
		}
	}
	w.closeNow()
}

// ackPoll is how often the linger reads SIOCOUTQ once everything else
// holds: the kernel does not say when it changes.
const ackPoll = 20 * time.Millisecond

// untilClose returns how long, from now, w.rule keeps the tunnel open: 0
// when it allows the close. pong is the answer to the EOF ping, nil until
// it came.
func (w *wsConn) untilClose(now time.Time, pong *answer) time.Duration {
	ready := time.Unix(0, w.last.Load()).Add(w.rule.quiet)
	if w.rule.pong {
		if pong == nil {
			return time.Duration(math.MaxInt64) // the pong ends the wait
		}
		ready = later(ready, pong.at.Add(time.Duration(w.rule.pongRTTs)*pong.rtt))
	}
	if now.Before(ready) {
		return ready.Sub(now)
	}
	if w.rule.acked {
		if n, ok := unsentBytes(w.raw); ok && n > 0 {
			return ackPoll
		}
	}
	return 0
}

// answer is a pong: when it came, and the round trip of its ping.
type answer struct {
	at  time.Time
	rtt time.Duration
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (w *wsConn) closeNow() error {
	w.closeOnce.Do(func() {
		w.closing.Store(true)
		w.closeErr = w.Conn.Close()
		close(w.done)
	})
	<-w.done
	return w.closeErr
}

// Close closes the WebSocket with status 1000; after CloseWrite it waits for
// the linger first (bounded by the linger timeout).
func (w *wsConn) Close() error {
	if w.lingering.Load() {
		<-w.done
		return w.closeErr
	}
	return w.closeNow()
}

var _ io.ReadWriteCloser = (*wsConn)(nil)
