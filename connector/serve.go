package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// DefaultListenAddr is where Listen listens when given no address.
const DefaultListenAddr = "127.0.0.1:0"

// Listen opens the local end of the tunnel on a TCP address, 127.0.0.1 with
// a free port when addr is empty. addr must be an IP literal and a port. An
// address that is not loopback needs allowNonLoopback (the CLI's
// --unsafe-listen): any machine that can reach it could use the tunnel and
// the token it carries. A wildcard address (0.0.0.0, ::) is always refused.
func Listen(addr string, allowNonLoopback bool) (net.Listener, error) {
	if addr == "" {
		addr = DefaultListenAddr
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		if host, _, serr := net.SplitHostPort(addr); serr == nil && host == "localhost" {
			return nil, fmt.Errorf("listen address %s: use 127.0.0.1 or [::1], not a name", safetext.Quote(addr))
		}
		return nil, fmt.Errorf("listen address %s: want IP:PORT, such as 127.0.0.1:0", safetext.Quote(addr))
	}
	ip := ap.Addr()
	switch {
	case ip.Zone() != "":
		return nil, fmt.Errorf("listen address %s: zones are not allowed", safetext.Quote(addr))
	case ip.IsUnspecified():
		return nil, fmt.Errorf("listen address %s is a wildcard, which would accept connections from every network: name one address", safetext.Quote(addr))
	case !ip.Unmap().IsLoopback() && !allowNonLoopback:
		return nil, fmt.Errorf("listen address %s is not a loopback address: other machines could use the tunnel (allow it with --unsafe-listen)", safetext.Quote(addr))
	}
	// No keepalive on accept: Serve sets KeepAlive on a connection once it
	// passed the owner check. Go's default (on, 15 s) is four setsockopt
	// calls on every connection accepted, each refused one of a
	// connect/close flood included.
	lc := net.ListenConfig{KeepAliveConfig: net.KeepAliveConfig{Enable: false}, KeepAlive: -1, Control: listenControl}
	ln, err := lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(ip.Unmap(), ap.Port()).String())
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve accepts connections on ln and relays each through its own tunnel
// from Dial, until ctx ends; then it closes ln, ends every relay, waits for
// them and returns nil. It returns an error if Accept fails for another
// reason. On Linux it relays only connections opened by the current user
// (see the package documentation); it closes others and logs them through
// Config.Logf. Serve owns ln and closes it.
func (c *Connector) Serve(ctx context.Context, ln net.Listener) error {
	return c.ServePreDialed(ctx, ln, nil)
}

// ServePreDialed is Serve with a tunnel dialed ahead of time: the first local
// connection that passes the owner check is relayed through first instead of
// a new tunnel, so it is not kept waiting for TCP, TLS and the proxy's answer
// (three round trips), and a host that speaks first has its opening bytes
// already waiting in the tunnel. first may be nil. ServePreDialed owns first
// and closes it if no connection used it.
func (c *Connector) ServePreDialed(ctx context.Context, ln net.Listener, first net.Conn) error {
	var spare sync.Mutex // guards first: handed to exactly one connection
	take := func() net.Conn {
		spare.Lock()
		defer spare.Unlock()
		t := first
		first = nil
		return t
	}
	defer func() {
		if t := take(); t != nil {
			t.Close()
		}
	}()
	// Refusal lines are aggregated (refusal.go); the last counts are
	// written once every connection has been handled, when Serve returns.
	refusals := newRefusalLog(c.cfg.RefusalLogInterval, nil, c.cfg.Logf)
	refusals.start()
	defer refusals.close()
	// checks bounds the connections in the owner check: under a flood of
	// connect/close from another user, at most maxPendingChecks goroutines
	// and descriptors are in it, instead of one per connection accepted
	// (which ran out of descriptors, and then the accept loop backed off
	// for up to a second). A connection gives its slot back as soon as its
	// check is over, so open tunnels do not count.
	checks := make(chan struct{}, maxPendingChecks)
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors or similar: wait and retry, as
				// net/http's Server does, instead of spinning or quitting.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				c.logf("accept on %s: %v; retrying in %v", ln.Addr(), err, backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		backoff = 0
		select {
		case checks <- struct{}{}:
		default:
			// Every slot is busy: a flood is on. A client that has already
			// closed its end (the connect/close loop) is refused here,
			// without a goroutine or the check: the check would refuse it
			// anyway, its socket being a kernel orphan whose owner is
			// unknown. A same-user client that half-closes at once is
			// refused too while this lasts: that is failing closed
			// (docs/design.md "Fail closed"). Anything else waits for a slot.
			if clientClosed(conn) {
				conn.Close()
				refusals.record(PeerSource(errClosedUnderLoad), conn.RemoteAddr().String(), errClosedUnderLoad)
				continue
			}
			select {
			case checks <- struct{}{}:
			case <-ctx.Done():
				conn.Close()
				return nil
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.handle(ctx, conn, take, refusals, func() { <-checks })
		}()
	}
}

// maxPendingChecks is how many accepted connections may be in the owner
// check at once. A check takes tens of microseconds (a sock_diag round
// trip in a blocking system call, and with Config.AdmitProcess a walk of a
// few processes), so a few at once keep the CPUs busy. More only add
// goroutines and threads that the legitimate connection's relay then
// queues behind on every hop: with 256, its p99 setup time under a flood
// was about 4x that with 4 (BENCHMARKS.md "Refusals under a connect/close
// flood").
const maxPendingChecks = 4

// errClosedUnderLoad is the refusal of a connection whose client closed
// before a check slot was free.
var errClosedUnderLoad = &PeerUnknownError{Reason: "the client closed its end while the owner checks were saturated (refused unchecked)"}

// handle checks the owner of one local connection and relays it, through
// the pre-dialed tunnel that take returns or else a new one. It calls done
// once the check is over. A refusal is counted by refusals, which writes
// the log lines later and never makes handle wait for them.
func (c *Connector) handle(ctx context.Context, conn net.Conn, take func() net.Conn, refusals *refusalLog, done func()) {
	from := conn.RemoteAddr().String()
	err := c.checkPeer(conn)
	done()
	if err != nil {
		conn.Close()
		refusals.record(PeerSource(err), from, err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetKeepAliveConfig(KeepAlive)
	}
	tun := take()
	if tun == nil {
		// While the proxy is unreachable, a connection is closed at once
		// rather than after a dial that would fail too: the emulator's own
		// retry gets its answer quickly, and the proxy gets at most one
		// dial per dialRetryInterval from this launch.
		if !c.gate.allow() {
			conn.Close()
			c.logf("tunnel for %s not opened: the proxy was unreachable less than %v ago; closed at once so the emulator retries", from, dialRetryInterval)
			c.tunnelDone(0, 0, errProxyDown)
			return
		}
		var err error
		tun, err = c.Dial(ctx)
		c.gate.done(err == nil || ctx.Err() != nil)
		if err != nil {
			conn.Close()
			if ctx.Err() == nil {
				c.logError("tunnel for "+from, err)
			}
			c.tunnelDone(0, 0, err)
			return
		}
	}
	if n := c.gate.opened(); n > 1 {
		// A later tunnel: the emulator reconnected (after a drop, or a
		// second session window), with the launch's token.
		c.logf("tunnel for %s reopened (tunnel %d of this launch, same session token) to %s through %s", from, n, safetext.Sanitize(c.cfg.Destination), safetext.Sanitize(c.cfg.ProxyAddr))
	} else {
		c.logf("tunnel for %s open to %s through %s", from, safetext.Sanitize(c.cfg.Destination), safetext.Sanitize(c.cfg.ProxyAddr))
	}
	sent, received, err := Relay(ctx, conn, tun)
	c.tunnelDone(sent, received, err)
	if err != nil && ctx.Err() == nil {
		c.logError(fmt.Sprintf("tunnel for %s after %d bytes sent and %d received", from, sent, received), err)
		return
	}
	c.logf("tunnel for %s closed: %d bytes sent, %d received", from, sent, received)
}

// dialRetryInterval is how long after a failed dial Serve closes new
// local connections without dialing.
const dialRetryInterval = time.Second

// errProxyDown is the end of a local connection that Serve closed without
// dialing, the proxy having been unreachable a moment ago.
var errProxyDown = errors.New("the proxy was unreachable a moment ago; the connection was closed without a new dial")

// dialGate limits Serve's dials while the proxy is unreachable: after a
// failed dial, one dial per dialRetryInterval (the first connection after
// it probes, every other is closed at once); after a success, no limit.
type dialGate struct {
	mu       sync.Mutex
	failedAt time.Time // last failed dial; zero after a success
	probing  bool      // a dial after a failure is under way
	tunnels  int       // tunnels opened, for the reconnect line
}

func (g *dialGate) allow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failedAt.IsZero() {
		return true
	}
	if g.probing || time.Since(g.failedAt) < dialRetryInterval {
		return false
	}
	g.probing = true
	return true
}

func (g *dialGate) done(ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.probing = false
	if ok {
		g.failedAt = time.Time{}
	} else {
		g.failedAt = time.Now()
	}
}

func (g *dialGate) opened() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tunnels++
	return g.tunnels
}

// Tunnels returns how many tunnels Serve and ServePreDialed have opened for
// local connections so far, the pre-dialed one included. Each one after the
// first is the emulator connecting again (after a drop, or for a second
// session window) with the launch's session token: the launcher reports them
// when the session ends, since nothing may be drawn over a running emulator,
// and counts them in the audit record.
func (c *Connector) Tunnels() int {
	c.gate.mu.Lock()
	defer c.gate.mu.Unlock()
	return c.gate.tunnels
}

func (c *Connector) tunnelDone(sent, received int64, err error) {
	if c.cfg.OnTunnelDone != nil {
		c.cfg.OnTunnelDone(sent, received, err)
	}
}

func (c *Connector) logf(format string, args ...any) {
	if c.cfg.Logf != nil {
		c.cfg.Logf(format, args...)
	}
}

func (c *Connector) logError(what string, err error) {
	var se *StepError
	if errors.As(err, &se) && se.Hint() != "" {
		c.logf("%s: %v (hint: %s)", what, err, se.Hint())
		return
	}
	c.logf("%s: %v", what, err)
}

// ServeStdio opens one tunnel and relays in to it and it to out, the way an
// ssh ProxyCommand works, until both directions end or ctx ends. The tunnel
// is opened before anything is read from in, so a failure is reported
// first. EOF on in half-closes the tunnel; the end of the tunnel closes out
// when it is an io.Closer.
//
// A read of in that is pending when the relay ends (ctx ended, the tunnel
// broke) cannot be interrupted and is left behind: it ends with the next
// input or EOF, and what it reads is dropped. Call ServeStdio once per
// input stream, as a ProxyCommand process does.
func (c *Connector) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	tun, err := c.Dial(ctx)
	if err != nil {
		return err
	}
	local := &stdioConn{in: in, out: out, done: make(chan struct{}), reads: make(chan stdinRead, 1)}
	_, _, err = Relay(ctx, local, tun)
	return err
}

// stdioConn makes a net.Conn of a reader and a writer for Relay.
type stdioConn struct {
	in        io.Reader
	out       io.Writer
	closeOnce sync.Once
	done      chan struct{}
	wmu       sync.Mutex
	wclosed   bool

	// A read of stdin cannot be interrupted: closing a terminal or a pipe
	// in blocking mode does not end a read(2) in progress, and Relay waits
	// for its reader. So the read runs in its own goroutine and Read
	// returns at Close; the goroutine ends with the next input or EOF
	// (for the CLI, with the process).
	reads   chan stdinRead // buffered: a read finishing after Close does not block
	reading bool           // a read goroutine is running; Read is not concurrent
	buf     []byte
}

type stdinRead struct {
	n   int
	err error
}

func (s *stdioConn) Read(p []byte) (int, error) {
	select {
	case <-s.done:
		return 0, net.ErrClosed
	default:
	}
	if !s.reading {
		if cap(s.buf) < len(p) {
			s.buf = make([]byte, len(p))
		}
		buf := s.buf[:len(p)]
		s.reading = true
		go func() {
			n, err := s.in.Read(buf)
			s.reads <- stdinRead{n, err}
		}()
	}
	select {
	case r := <-s.reads:
		s.reading = false
		return copy(p, s.buf[:r.n]), r.err
	case <-s.done:
		return 0, net.ErrClosed
	}
}

func (s *stdioConn) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wclosed {
		return 0, net.ErrClosed
	}
	return s.out.Write(p)
}

// CloseWrite closes out (when it can be closed): the reader of our stdout
// sees EOF.
func (s *stdioConn) CloseWrite() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wclosed {
		return nil
	}
	s.wclosed = true
	if c, ok := s.out.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Close closes in and out where they can be closed, which unblocks a
// pending read of a pipe.
func (s *stdioConn) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		if c, ok := s.in.(io.Closer); ok {
			c.Close()
		}
		_ = s.CloseWrite()
	})
	return nil
}

type stdioAddr struct{}

func (stdioAddr) Network() string { return "stdio" }
func (stdioAddr) String() string  { return "stdio" }

func (s *stdioConn) LocalAddr() net.Addr  { return stdioAddr{} }
func (s *stdioConn) RemoteAddr() net.Addr { return stdioAddr{} }

// Deadlines do not apply to stdio; Close is what unblocks it.
func (s *stdioConn) SetDeadline(time.Time) error      { return nil }
func (s *stdioConn) SetReadDeadline(time.Time) error  { return nil }
func (s *stdioConn) SetWriteDeadline(time.Time) error { return nil }
