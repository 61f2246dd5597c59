// Package proxytest runs reference proxies in process for tests, in the
// shape of net/http/httptest: a CONNECT-over-TLS proxy (as Squid's
// https_port with a bearer-token check) and a WebSocket-over-TLS proxy (as
// websockify 0.10 with a token plugin), each on a loopback listener with its
// own CA, knobs for token checks and forced answers, TLS limits, and hooks
// that record what the proxy saw (tokens, CONNECT targets, handshakes).
//
// Constructors panic on setup failure, like httptest. The proxies skip no
// certificate check of their own (they verify nothing: clients do).
package proxytest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/trustlaunch/trustlaunch/connector/internal/relay"
)

// Names are the names and addresses in every proxy certificate.
var Names = []string{"127.0.0.1", "::1", "localhost", "proxy.test"}

type kind int

const (
	kindConnect kind = iota
	kindWebSocket
)

// Proxy is a running (or, from NewUnstarted..., not yet started) proxy.
// Set the exported knobs before Start; read the hooks at any time.
type Proxy struct {
	// Addr is the proxy's "127.0.0.1:PORT", set when started.
	Addr string
	// Listener is the loopback listener; a test may replace it before Start.
	Listener net.Listener
	// CA signed the proxy's certificate; CA.Pool() trusts it.
	CA *CA
	// TLS is the server configuration. Before Start, limit MinVersion,
	// MaxVersion (say, TLS 1.0 to 1.1) or CurvePreferences (say, P-256
	// only), or replace Certificates.
	TLS *tls.Config
	// CheckToken says whether a received token is valid; nil accepts any
	// non-empty token. A CONNECT proxy answers 407 to a bad token; the
	// WebSocket proxy closes the connection before the upgrade, as
	// websockify does.
	CheckToken func(token string) bool
	// CheckRequest, when set, is the token check instead of CheckToken,
	// and sees what a real proxy's check sees: where the client asks to
	// go (the CONNECT target; Target for the WebSocket proxy) and the
	// client's address. internal/demo verifies session tokens with
	// package sessiontoken through it.
	CheckRequest func(token, target string, client net.Addr) bool
	// Status, when not zero, is the CONNECT proxy's answer (403, 502, 503,
	// 504...) to a request that passed the token check; StatusText, when
	// not empty, replaces its reason phrase.
	Status     int
	StatusText string
	// Target is where the WebSocket proxy connects every tunnel (websockify
	// would look it up from the token). Unused by the CONNECT proxy.
	Target string
	// Path is the WebSocket path, "/" when empty; other paths get 404.
	Path string
	// DropOnClose makes the WebSocket proxy behave as websockify 0.10:
	// when a close frame arrives it drops the client data still queued for
	// the destination and closes the destination. NewWebSocketProxy sets it.
	DropOnClose bool
	// HoldDestinationUntil makes the WebSocket proxy write nothing to the
	// destination until it has received that many bytes from the client: a
	// destination that takes nothing for a while, so that data is still
	// queued when the client's last bytes arrive.
	HoldDestinationUntil int64
	// LoopDelay makes each pass of the WebSocket proxy's loop (one client
	// message or ping read, one buffer passed to the destination) take at
	// least this long: websockify's Python loop on a busy host. The
	// proxy's TCP stack still acknowledges the client's bytes at once, so
	// acknowledged bytes wait unread. Keep it well under the 5 s the
	// WebSocket library allows for answering a ping.
	LoopDelay time.Duration

	kind   kind
	ctx    context.Context
	cancel context.CancelFunc
	srv    *http.Server

	mu           sync.Mutex
	started      bool
	closed       bool
	wg           sync.WaitGroup
	conns        map[net.Conn]struct{} // raw client connections and destination connections
	tokens       []string
	targets      []string
	handshakes   []tls.ConnectionState
	subprotocols [][]string
}

// NewConnectProxy starts a CONNECT-over-TLS proxy.
func NewConnectProxy() *Proxy {
	p := NewUnstartedConnectProxy()
	p.Start()
	return p
}

// NewUnstartedConnectProxy returns a CONNECT proxy to configure, then Start.
func NewUnstartedConnectProxy() *Proxy { return newProxy(kindConnect) }

// NewWebSocketProxy starts a WebSocket-over-TLS proxy to target, with
// websockify's behaviour on close (DropOnClose).
func NewWebSocketProxy(target string) *Proxy {
	p := NewUnstartedWebSocketProxy(target)
	p.Start()
	return p
}

// NewUnstartedWebSocketProxy returns a WebSocket proxy to configure, then
// Start.
func NewUnstartedWebSocketProxy(target string) *Proxy {
	p := newProxy(kindWebSocket)
	p.Target = target
	p.DropOnClose = true
	return p
}

func newProxy(k kind) *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("proxytest: listen: " + err.Error())
	}
	ca := NewCA("trustlaunch proxytest CA")
	return &Proxy{
		Listener: ln,
		CA:       ca,
		TLS: &tls.Config{
			Certificates: []tls.Certificate{ca.Issue(Names...)},
			MinVersion:   tls.VersionTLS12,
		},
		kind:  k,
		conns: map[net.Conn]struct{}{},
	}
}

// Start starts the proxy. It panics if the proxy was started already.
func (p *Proxy) Start() {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		panic("proxytest: Start called twice")
	}
	p.started = true
	p.mu.Unlock()
	p.Addr = p.Listener.Addr().String()
	p.ctx, p.cancel = context.WithCancel(context.Background())
	userVerify := p.TLS.VerifyConnection
	p.TLS.VerifyConnection = func(cs tls.ConnectionState) error {
		p.mu.Lock()
		p.handshakes = append(p.handshakes, cs)
		p.mu.Unlock()
		if userVerify != nil {
			return userVerify(cs)
		}
		return nil
	}
	ln := &trackListener{Listener: p.Listener, p: p}
	switch p.kind {
	case kindConnect:
		p.goTracked(func() { p.acceptConnect(ln) })
	case kindWebSocket:
		p.srv = &http.Server{
			Handler:           http.HandlerFunc(p.serveWebSocket),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0),
		}
		tln := tls.NewListener(ln, p.TLS)
		p.goTracked(func() { _ = p.srv.Serve(tln) })
	}
}

// Close stops the proxy, closes every connection and waits for its
// goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	if p.cancel != nil {
		p.cancel()
	}
	p.Listener.Close()
	if p.srv != nil {
		p.srv.Close()
	}
	p.closeConns(false)
	p.wg.Wait()
}

// CloseClientConnections kills every tunnel at once, as if the proxy
// process died: client and destination connections are reset (RST, with
// SO_LINGER 0). The proxy keeps accepting new connections.
func (p *Proxy) CloseClientConnections() { p.closeConns(true) }

func (p *Proxy) closeConns(reset bool) {
	p.mu.Lock()
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(interface{ SetLinger(int) error }); ok && reset {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
}

// RootCAs returns a pool that trusts the proxy's certificate.
func (p *Proxy) RootCAs() *x509.CertPool { return p.CA.Pool() }

// Certificate returns the proxy's leaf certificate.
func (p *Proxy) Certificate() *x509.Certificate { return p.TLS.Certificates[0].Leaf }

// ClientTLSConfig returns a client configuration that trusts the proxy.
func (p *Proxy) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: p.RootCAs(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Tokens returns every token the proxy received, valid or not, in order.
// After a failed TLS handshake it has none: the client sent nothing.
func (p *Proxy) Tokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tokens...)
}

// Targets returns every CONNECT target (host:port) or WebSocket target
// requested.
func (p *Proxy) Targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

// Handshakes returns the state of every completed TLS handshake
// (HelloRetryRequest, CurveID, Version, DidResume...).
func (p *Proxy) Handshakes() []tls.ConnectionState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]tls.ConnectionState(nil), p.handshakes...)
}

// Subprotocols returns the WebSocket subprotocol lists clients offered.
func (p *Proxy) Subprotocols() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]string(nil), p.subprotocols...)
}

// goTracked runs f in a goroutine that Close waits for; it returns false,
// without running f, once the proxy is closed.
func (p *Proxy) goTracked(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

func (p *Proxy) track(c net.Conn) net.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
	}
	tc := &trackedConn{Conn: c, p: p}
	p.conns[tc] = struct{}{}
	return tc
}

func (p *Proxy) record(f func()) { p.mu.Lock(); f(); p.mu.Unlock() }

func (p *Proxy) tokenOK(tok, target string, client net.Addr) bool {
	if p.CheckRequest != nil {
		return p.CheckRequest(tok, target, client)
	}
	if p.CheckToken != nil {
		return p.CheckToken(tok)
	}
	return tok != ""
}

func (p *Proxy) dialTarget(target string) (net.Conn, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, err
	}
	return p.track(c), nil
}

type trackListener struct {
	net.Listener
	p *Proxy
}

func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.p.track(c), nil
}

// trackedConn forgets itself on Close. CloseWrite and SetLinger pass to
// the TCP connection.
type trackedConn struct {
	net.Conn
	p    *Proxy
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.p.mu.Lock()
		delete(c.p.conns, c)
		c.p.mu.Unlock()
	})
	return c.Conn.Close()
}

func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

func (c *trackedConn) SetLinger(sec int) error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return tc.SetLinger(sec)
	}
	return nil
}

// ---- CONNECT ----

func (p *Proxy) acceptConnect(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !p.goTracked(func() { p.serveConnect(c) }) {
			c.Close()
			return
		}
	}
}

func (p *Proxy) serveConnect(raw net.Conn) {
	defer raw.Close()
	tc := tls.Server(raw, p.TLS)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.HandshakeContext(p.ctx); err != nil {
		return
	}
	br := bufio.NewReader(tc)
	req, err := http.ReadRequest(br)
	if err != nil {
		answer(tc, http.StatusBadRequest, "")
		return
	}
	if req.Method != http.MethodConnect {
		answer(tc, http.StatusMethodNotAllowed, "")
		return
	}
	target := req.RequestURI
	auth := req.Header.Get("Proxy-Authorization")
	token, isBearer := strings.CutPrefix(auth, "Bearer ")
	p.record(func() {
		p.targets = append(p.targets, target)
		if auth != "" {
			p.tokens = append(p.tokens, token)
		}
	})
	if !isBearer || !p.tokenOK(token, target, raw.RemoteAddr()) {
		answer(tc, http.StatusProxyAuthRequired, "", "Proxy-Authenticate: Bearer")
		return
	}
	if p.Status != 0 {
		answer(tc, p.Status, p.StatusText)
		return
	}
	dest, err := p.dialTarget(target)
	if err != nil {
		answer(tc, http.StatusServiceUnavailable, "") // as Squid 5.7
		return
	}
	defer dest.Close()
	if _, err := io.WriteString(tc, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	_ = tc.SetDeadline(time.Time{})
	_, _, _ = relay.Relay(p.ctx, &bufferedTLS{Conn: tc, br: br}, dest)
}

func answer(w io.Writer, code int, text string, headers ...string) {
	if text == "" {
		text = http.StatusText(code)
	}
	h := ""
	for _, x := range headers {
		h += x + "\r\n"
	}
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", code, text, h)
}

type bufferedTLS struct {
	*tls.Conn
	br *bufio.Reader
}

func (b *bufferedTLS) Read(p []byte) (int, error) { return b.br.Read(p) }

// ---- WebSocket ----

// remoteAddr is the client address of an HTTP request, nil when it does
// not parse.
func remoteAddr(r *http.Request) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err != nil {
		return nil
	}
	return a
}

func (p *Proxy) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	path := p.Path
	if path == "" {
		path = "/"
	}
	if r.URL.Path != path {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	var offered []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, s := range strings.Split(v, ",") {
			offered = append(offered, strings.TrimSpace(s))
		}
	}
	token := q.Get("token")
	p.record(func() {
		if q.Has("token") {
			p.tokens = append(p.tokens, token)
		}
		p.subprotocols = append(p.subprotocols, offered)
	})
	if !p.tokenOK(token, p.Target, remoteAddr(r)) {
		// websockify raises in validate_connection, before the upgrade:
		// the client gets no HTTP answer, only a closed connection.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	}
	if len(offered) != 1 || offered[0] != "binary" {
		http.Error(w, "subprotocol must be exactly binary", http.StatusBadRequest)
		return
	}
	p.record(func() { p.targets = append(p.targets, p.Target) })
	events := make(chan clientEvent)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{"binary"},
		// websockify answers a ping in the pass of its loop that reads
		// it: the pong waits until the loop takes the ping (see
		// relayWebSocket). The library gives the answer 5 s; a loop
		// that takes longer fails the read.
		OnPingReceived: func(ctx context.Context, _ []byte) bool {
			taken := make(chan struct{})
			select {
			case events <- clientEvent{ping: taken}:
				select {
				case <-taken:
				case <-ctx.Done():
				}
			case <-ctx.Done():
			}
			return true
		},
	})
	if err != nil {
		return
	}
	c.SetReadLimit(-1)
	dest, err := p.dialTarget(p.Target)
	if err != nil {
		c.Close(websocket.StatusInternalError, "Failed to connect to downstream server")
		return
	}
	p.relayWebSocket(c, dest, events)
}

// clientEvent is what one pass of the WebSocket proxy's loop reads from
// the client: a message, a ping (closed once the pass took it), or the end.
type clientEvent struct {
	data []byte
	ping chan struct{}
	err  error
}

// always is ready at once, for a select case that is on or off.
var always = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// relayWebSocket relays as websockify 0.10's do_proxy (websocketproxy.py)
// does, so that what a client sees of the proxy (TCP acknowledgements,
// pongs) and what the proxy keeps or drops at the end are websockify's:
//
//   - the client's messages go to a queue in memory, read whenever the
//     client sends, however slowly the destination takes them;
//   - each pass of the loop reads at most one client message or ping, and
//     passes at most one queued buffer to the destination, only when the
//     destination took the previous one (websockify selects on the
//     target's writability, then sends one buffer);
//   - a ping is answered in the pass that reads it: a pong proves that every
//     earlier message is in the queue, not that it reached the destination;
//   - a close frame from the client ends the tunnel at once: the queue is
//     dropped (DropOnClose; websockify raises CClose) and the destination
//     closed, keeping only what was already written to it;
//   - the destination's EOF closes the WebSocket with 1000 "Target closed".
//
// LoopDelay stretches every pass, and HoldDestinationUntil keeps the
// destination from taking anything, to model a busy proxy and a slow
// destination.
func (p *Proxy) relayWebSocket(c *websocket.Conn, dest net.Conn, events chan clientEvent) {
	ctx, cancel := context.WithCancel(p.ctx)
	r := &wsRelay{p: p, c: c, dest: dest, events: events, writes: make(chan []byte), written: make(chan error, 1)}
	var wg sync.WaitGroup
	wg.Go(func() { r.readClient(ctx) })
	wg.Go(r.sendToDestination)
	wg.Go(func() { r.destinationToClient(ctx) })
	r.passes(ctx)
	r.end()
	cancel()
	c.CloseNow()
	wg.Wait()
}

// wsRelay is one tunnel of relayWebSocket: the two ends, the channels of
// its goroutines, and the state of websockify's loop.
type wsRelay struct {
	p       *Proxy
	c       *websocket.Conn
	dest    net.Conn
	events  chan clientEvent // from readClient, and from OnPingReceived
	writes  chan []byte      // to sendToDestination, one buffer at a time
	written chan error       // sendToDestination's result for each buffer

	queue    [][]byte // the client's messages not yet passed to the destination
	received int64    // bytes the client sent, for HoldDestinationUntil
	writing  bool     // the destination has not taken the last buffer yet
	drop     bool     // end without flushing the queue
}

// readClient reads the client's messages, one at a time: the next one, and
// the pings before it, are read only once the loop took this one.
func (r *wsRelay) readClient(ctx context.Context) {
	for {
		_, data, err := r.c.Read(ctx)
		select {
		case r.events <- clientEvent{data: data, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// sendToDestination is the destination's send, one buffer at a time.
func (r *wsRelay) sendToDestination() {
	for data := range r.writes {
		_, err := r.dest.Write(data)
		r.written <- err
	}
}

// destinationToClient relays destination -> client; the destination's EOF
// closes the WebSocket as websockify does.
func (r *wsRelay) destinationToClient(ctx context.Context) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.dest.Read(buf)
		if n > 0 {
			if werr := r.c.Write(ctx, websocket.MessageBinary, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.c.Close(websocket.StatusNormalClosure, "Target closed")
			}
			return
		}
	}
}

// passes runs websockify's loop until the client, the destination or the
// proxy's end stops it. Each pass takes at most one client event and
// passes at most one queued buffer on.
func (r *wsRelay) passes(ctx context.Context) {
	var delay *time.Timer
	if r.p.LoopDelay > 0 {
		delay = time.NewTimer(r.p.LoopDelay)
		defer delay.Stop()
	}
	for {
		ev, writable, ok := r.nextPass(ctx)
		if !ok {
			return
		}
		switch {
		case ev.err != nil:
			r.drop = r.p.DropOnClose || websocket.CloseStatus(ev.err) == -1
			return
		case ev.ping != nil:
			close(ev.ping)
		case ev.data != nil:
			r.queue = append(r.queue, ev.data)
			r.received += int64(len(ev.data))
		}
		if writable {
			r.writes <- r.queue[0]
			r.queue = r.queue[1:]
			r.writing = true
		}
		if delay != nil {
			<-delay.C
			delay.Reset(r.p.LoopDelay)
		}
	}
}

// nextPass waits for the start of a pass: whatever the client sent first,
// as websockify reads and writes in the same pass; else the client's next
// event, or a buffer to pass on (writable: the destination took the last
// one, and HoldDestinationUntil is reached). The return of a send is not a
// pass. ok is false when the loop must end (drop says how).
func (r *wsRelay) nextPass(ctx context.Context) (ev clientEvent, writable, ok bool) {
	for {
		select {
		case err := <-r.written:
			if !r.sent(err) {
				return ev, false, false
			}
		default:
		}
		writable = len(r.queue) > 0 && !r.writing && r.received >= r.p.HoldDestinationUntil
		var ready <-chan struct{}
		if writable {
			ready = always
		}
		select {
		case ev = <-r.events:
			return ev, writable, true
		default:
		}
		select {
		case ev = <-r.events:
			return ev, writable, true
		case <-ready:
			return ev, writable, true
		case err := <-r.written:
			if !r.sent(err) {
				return ev, false, false
			}
		case <-ctx.Done():
			r.drop = true
			return ev, false, false
		}
	}
}

// sent records that the destination's send returned; false when it
// failed, which ends the tunnel and drops the queue.
func (r *wsRelay) sent(err error) bool {
	r.writing = false
	if err != nil {
		r.drop = true
		return false
	}
	return true
}

// end closes the destination as websockify does, after the last send
// returned and, unless the tunnel ended dropping it, after the queue was
// flushed (a proxy that flushes on close).
func (r *wsRelay) end() {
	if r.writing && <-r.written != nil {
		r.drop = true
	}
	if !r.drop {
		for _, data := range r.queue {
			if _, err := r.dest.Write(data); err != nil {
				break
			}
		}
	}
	close(r.writes)
	// websockify: tsock.shutdown(SHUT_RDWR); tsock.close(). What the
	// destination's TCP stack holds is still delivered.
	if cw, ok := r.dest.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	r.dest.Close()
}
