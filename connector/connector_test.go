package connector

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// serve runs c.Serve on a fresh loopback listener until the test ends and
// returns the listener's address.
func serve(t *testing.T, c *Connector) string {
	t.Helper()
	if c.cfg.Logf == nil {
		// A refusal a test did not expect is then in its output.
		c.cfg.Logf = t.Logf
	}
	ln, err := Listen("", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestBulk64MiB sends 64 MiB each way at once through Serve and each
// transport, and compares SHA-256 on both sides.
func TestBulk64MiB(t *testing.T) {
	const n = 64 << 20
	want1, want2 := sumOf(1, n), sumOf(2, n)
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			type result struct {
				sum [32]byte
				err error
			}
			atDest := make(chan result, 1)
			dest := newDestination(t, func(c net.Conn) {
				werr := make(chan error, 1)
				go func() { _, err := io.CopyN(c, newPattern(2), n); werr <- err }()
				h := sha256.New()
				_, err := io.CopyN(h, c, n)
				if e := <-werr; err == nil {
					err = e
				}
				atDest <- result{[32]byte(h.Sum(nil)), err}
			})
			p := newProxy(t, tr, dest.addr, nil)
			addr := serve(t, mustNew(t, config(p, tr, dest.addr)))

			local, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer local.Close()
			_ = local.SetDeadline(time.Now().Add(2 * time.Minute))
			werr := make(chan error, 1)
			go func() {
				_, err := io.CopyN(local, newPattern(1), n)
				if err == nil {
					err = local.(*net.TCPConn).CloseWrite()
				}
				werr <- err
			}()
			h := sha256.New()
			got, err := io.Copy(h, local)
			if err != nil {
				t.Fatalf("reading the tunnel: %v after %d bytes", err, got)
			}
			if got != n || [32]byte(h.Sum(nil)) != want2 {
				t.Errorf("client received %d bytes with a different SHA-256, want %d bytes of the destination's stream", got, n)
			}
			if err := <-werr; err != nil {
				t.Errorf("writing the tunnel: %v", err)
			}
			r := <-atDest
			if r.err != nil || r.sum != want1 {
				t.Errorf("destination: err %v, SHA-256 match %v", r.err, r.sum == want1)
			}
		})
	}
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestProxyKilledMidStream kills the proxy's connections while data flows:
// Relay must end at once with a relay StepError and close the local end.
// TestMain's goleak check proves nothing is left running.
func TestProxyKilledMidStream(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			flowing := make(chan struct{})
			dest := newDestination(t, func(c net.Conn) {
				_, _ = io.CopyN(io.Discard, c, 1<<20)
				close(flowing)
				_, _ = io.Copy(io.Discard, c)
			})
			p := newProxy(t, tr, dest.addr, nil)
			c := mustNew(t, config(p, tr, dest.addr))
			tun, err := c.Dial(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			app, local := tcpPair(t)
			relayed := make(chan error, 1)
			go func() { _, _, err := Relay(t.Context(), local, tun); relayed <- err }()
			go func() { _, _ = io.Copy(app, newPattern(1)) }()

			<-flowing
			p.CloseClientConnections()
			select {
			case err := <-relayed:
				var se *StepError
				if !errors.As(err, &se) || se.Step != StepRelay {
					t.Fatalf("Relay returned %v, want a relay StepError", err)
				}
				if se.Addr != p.Addr || se.Hint() == "" {
					t.Errorf("StepError %+v: want Addr %s and a hint", se, p.Addr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Relay still running 10s after the proxy died")
			}
			_ = app.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.Copy(io.Discard, app)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the local end was not closed after the proxy died")
			}
			app.Close()
		})
	}
}

// TestTLSRefused: every TLS failure stops at StepTLS with a hint, and the
// proxy never sees the token.
func TestTLSRefused(t *testing.T) {
	otherCA := proxytest.NewCA("some other CA")
	var junk [32]byte
	_, _ = rand.Read(junk[:])
	wrongPin := PinPrefix + base64.StdEncoding.EncodeToString(junk[:])
	cases := []struct {
		name     string
		proxy    func(*proxytest.Proxy)
		cfg      func(*Config)
		wantHint string
		wantMsg  string
	}{
		{name: "wrong CA", cfg: func(c *Config) { c.RootCAs = otherCA.Pool() },
			wantHint: hintCA, wantMsg: "certificate signed by unknown authority"},
		{name: "system roots", cfg: func(c *Config) { c.RootCAs = nil },
			wantHint: hintCA, wantMsg: "certificate signed by unknown authority"},
		{name: "pin mismatch", cfg: func(c *Config) { c.Pins = []string{wrongPin} },
			wantHint: hintPin, wantMsg: "matches no pin"},
		{name: "TLS 1.0 and 1.1 only", proxy: func(p *proxytest.Proxy) {
			p.TLS.MinVersion, p.TLS.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		}, wantHint: hintVersion, wantMsg: "protocol version"},
		{name: "name mismatch", cfg: func(c *Config) { c.ServerName = "wrong.test" },
			wantHint: hintName, wantMsg: "wrong.test"},
		{name: "expired", proxy: func(p *proxytest.Proxy) {
			p.TLS.Certificates = []tls.Certificate{p.CA.IssueExpired(proxytest.Names...)}
		}, wantHint: hintExpired, wantMsg: "expired"},
	}
	for _, tr := range transports {
		for _, tc := range cases {
			t.Run(string(tr)+"/"+tc.name, func(t *testing.T) {
				p := newProxy(t, tr, "127.0.0.1:1", tc.proxy)
				cfg := config(p, tr, "127.0.0.1:1")
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				c := mustNew(t, cfg)
				_, err := c.Dial(t.Context())
				var se *StepError
				if !errors.As(err, &se) || se.Step != StepTLS {
					t.Fatalf("Dial: %v; want a tls StepError", err)
				}
				if se.Hint() != tc.wantHint {
					t.Errorf("hint %q, want %q", se.Hint(), tc.wantHint)
				}
				if !strings.HasPrefix(err.Error(), "tls handshake with "+p.Addr+": ") || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("error %q: want %q after the step", err, tc.wantMsg)
				}
				if got := p.Tokens(); len(got) != 0 {
					t.Errorf("the proxy received tokens %q after a failed handshake", got)
				}
			})
		}
	}
}

// TestPins accepts a pin of the leaf or of the CA, and checks pins again on
// a resumed session.
func TestPins(t *testing.T) {
	dest := newDestination(t, echo)
	for _, tc := range []struct {
		name string
		pin  func(*proxytest.Proxy) string
	}{
		{"leaf", func(p *proxytest.Proxy) string { return SPKIPin(p.Certificate()) }},
		{"CA", func(p *proxytest.Proxy) string { return SPKIPin(p.CA.Cert) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t, TransportConnect, "", nil)
			cfg := config(p, TransportConnect, dest.addr)
			cfg.Pins = []string{tc.pin(p)}
			c := mustNew(t, cfg)
			for i := range 2 {
				tun, err := c.Dial(t.Context())
				if err != nil {
					t.Fatalf("Dial %d: %v", i, err)
				}
				tun.Close()
			}
			hs := p.Handshakes()
			if len(hs) != 2 || !hs[1].DidResume {
				t.Errorf("second handshake did not resume (one session cache per Connector): %d handshakes", len(hs))
			}
		})
	}
	t.Run("resumed session against new pins", func(t *testing.T) {
		// VerifyConnection runs on resumption too: a session cached under
		// a matching pin set must fail once the pins no longer match.
		p := newProxy(t, TransportConnect, "", nil)
		cfg := config(p, TransportConnect, dest.addr)
		var junk [32]byte
		pins := map[string]bool{SPKIPin(p.Certificate()): true}
		c := mustNew(t, cfg)
		// Whether a handshake resumed is read from what the client's own
		// check was given, not from the proxy's record: the proxy records
		// a handshake only after it sent its whole flight, so a client
		// that refuses that flight can return from Dial before the record
		// exists (under load the record was missing in about 1 run in 10).
		var resumed []bool
		check := verifyPins(pins)
		c.tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
			resumed = append(resumed, cs.DidResume)
			return check(cs)
		}
		tun, err := c.Dial(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// Dial read the proxy's answer, and with it the TLS 1.3 session
		// ticket sent before it: the session is cached.
		tun.Close()
		clear(pins)
		pins[PinPrefix+base64.StdEncoding.EncodeToString(junk[:])] = true
		_, err = c.Dial(t.Context())
		if stepOf(err) != StepTLS {
			t.Fatalf("second Dial: %v; want a tls StepError", err)
		}
		var pe *PinError
		if !errors.As(err, &pe) {
			t.Errorf("second Dial: %v; want a PinError", err)
		}
		if len(resumed) != 2 || resumed[0] || !resumed[1] {
			t.Fatalf("the client's check saw resumption %v, want [false true]: the test proves nothing", resumed)
		}
	})
}

// TestConnectStatus maps the proxy's answers to steps, named by the status
// code and its standard phrase: the proxy's own reason phrase is never
// shown.
func TestConnectStatus(t *testing.T) {
	cases := []struct {
		name   string
		proxy  func(*proxytest.Proxy)
		dest   string
		want   Step
		inText string
	}{
		{"407 token rejected", func(p *proxytest.Proxy) { p.CheckToken = func(string) bool { return false } }, "", StepProxyAuth, "407 Proxy Authentication Required"},
		{"403 refused", func(p *proxytest.Proxy) { p.Status = 403 }, "", StepProxyPolicy, "403 Forbidden"},
		{"502", func(p *proxytest.Proxy) { p.Status = 502 }, "", StepUpstream, "502 Bad Gateway"},
		{"503", func(p *proxytest.Proxy) { p.Status = 503 }, "", StepUpstream, "503 Service Unavailable"},
		{"504", func(p *proxytest.Proxy) { p.Status = 504 }, "", StepUpstream, "504 Gateway Timeout"},
		{"503 destination down", nil, "127.0.0.1:1", StepUpstream, "could not reach \"127.0.0.1:1\""},
		{"other status: its standard phrase, not the proxy's", func(p *proxytest.Proxy) { p.Status, p.StatusText = 418, "Tea\x1b[2J\u202eOK" }, "", StepProxyPolicy, "unexpected answer from the proxy: 418 I'm a teapot"},
		{"a status without a standard phrase", func(p *proxytest.Proxy) { p.Status, p.StatusText = 499, "Client Gone" }, "", StepProxyPolicy, "unexpected answer from the proxy: 499"},
		{"status quoting the token", func(p *proxytest.Proxy) { p.Status, p.StatusText = 407, "invalid token "+testToken }, "", StepProxyAuth, "(407 Proxy Authentication Required)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t, TransportConnect, "", tc.proxy)
			dest := tc.dest
			if dest == "" {
				dest = "mainframe.example.com:23"
			}
			_, err := mustNew(t, config(p, TransportConnect, dest)).Dial(t.Context())
			var se *StepError
			if !errors.As(err, &se) || se.Step != tc.want {
				t.Fatalf("Dial: %v; want step %s", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.inText) || se.Hint() == "" {
				t.Errorf("error %q (hint %q): want %q in it and a hint", err, se.Hint(), tc.inText)
			}
			if strings.ContainsAny(err.Error(), "\x1b\u202e") || strings.Contains(err.Error(), "Tea") || strings.Contains(err.Error(), "Gone") || strings.Contains(err.Error(), "invalid token") {
				t.Errorf("error %q carries the proxy's own reason phrase", err)
			}
			for e := error(err); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), testToken) {
					t.Errorf("the error chain carries the token: %q", e)
				}
			}
			if got := p.Tokens(); len(got) != 1 || got[0] != testToken {
				t.Errorf("proxy received tokens %q, want the one token", got)
			}
			if got := p.Targets(); len(got) != 1 || got[0] != dest {
				t.Errorf("proxy received targets %q, want %q", got, dest)
			}
		})
	}
}

// TestConnectBytesBehindHeader: bytes that arrive in the same read as the
// proxy's 200 answer are the first bytes of the tunnel.
func TestConnectBytesBehindHeader(t *testing.T) {
	ca := proxytest.NewCA("raw proxy CA")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Issue("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		var req []byte
		for !bytes.Contains(req, []byte("\r\n\r\n")) {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			req = append(req, buf[:n]...)
		}
		_, _ = c.Write([]byte("HTTP/1.1 200 Connection established\r\nX-Pad: 1\r\n\r\nHELLO FROM THE HOST"))
		_, _ = io.Copy(io.Discard, c)
	}()
	c := mustNew(t, Config{ProxyAddr: ln.Addr().String(), Transport: TransportConnect, RootCAs: ca.Pool(),
		Destination: "host.example:23", Token: NewToken(testToken)})
	tun, err := c.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_ = tun.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len("HELLO FROM THE HOST"))
	if _, err := io.ReadFull(tun, got); err != nil || string(got) != "HELLO FROM THE HOST" {
		t.Errorf("first tunnel bytes %q, %v", got, err)
	}
	tun.Close()
	<-served
}

// TestHalfClose: the application half-closes after its request and still
// receives the whole answer, through both transports.
func TestHalfClose(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			dest := newDestination(t, func(c net.Conn) {
				req, _ := io.ReadAll(c) // until the client's EOF (connect) ...
				_, _ = c.Write(append([]byte("answer to "), req...))
			})
			p := newProxy(t, tr, dest.addr, nil)
			cfg := config(p, tr, dest.addr)
			cfg.WebSocketQuiet = 200 * time.Millisecond
			addr := serve(t, mustNew(t, cfg))
			app, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			_ = app.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := app.Write([]byte("question")); err != nil {
				t.Fatal(err)
			}
			_ = app.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(app)
			if tr == TransportConnect && (err != nil || string(got) != "answer to question") {
				t.Errorf("got %q, %v; want the answer after half-close", got, err)
			}
			// WebSocket has no half-close: the destination sees the end of
			// the stream only when the tunnel closes after its quiet period,
			// and then the answer has nowhere to go. It must still end.
			if tr == TransportWebSocket && err != nil {
				t.Errorf("websocket tunnel did not end cleanly: %v", err)
			}
		})
	}
}

// TestWebSocketEOFKeepsData: websockify drops what it still queues for
// the destination when it reads a close frame. After a transfer and the
// local EOF, every byte must still reach the destination through
// proxytest's model of websockify (a queue in memory, one buffer passed on
// per pass of its loop, a pong when the loop reads the ping, the queue
// dropped on a close frame).
//
// "linger" sends 32 MiB with the default rule; it loses data on a starved
// host (nice -n 15 beside busy loops) when the rule closes on a quiet,
// acknowledged tunnel alone. The "rule" subtests make the model slow on
// purpose and drop conditions of the rule: each rule without the pong, or
// without the wait after it, loses data where the connector's rule keeps it.
func TestWebSocketEOFKeepsData(t *testing.T) {
	t.Run("linger", func(t *testing.T) {
		const n = 32 << 20
		m, sum := sendThenEOF(t, n, time.Second, nil, nil)
		t.Logf("destination received %d of %d bytes", m, n)
		if m != n || sum != sumOf(3, n) {
			t.Errorf("destination received %d of %d bytes (SHA-256 match %v)", m, n, sum == sumOf(3, n))
		}
	})
	// Each pass of the model takes a second, far longer than the
	// connector takes to decide, even starved: the proxy's TCP stack
	// acknowledges the two 32 KiB messages at once, and the model reads
	// one a second.
	const (
		n     = 64 << 10
		pass  = time.Second
		quiet = 100 * time.Millisecond
	)
	busy := func(p *proxytest.Proxy) { p.LoopDelay = pass }
	held := func(p *proxytest.Proxy) { p.LoopDelay = pass; p.HoldDestinationUntil = n }
	for _, tc := range []struct {
		name  string
		proxy func(*proxytest.Proxy)
		rule  *closeRule // nil: the connector's own
		keeps bool
	}{
		// The close frame goes out once the last byte is acknowledged,
		// behind bytes the proxy has not read: the last message is still
		// queued when the proxy reads the close. The pong comes in the
		// pass after the last message, which passes that message on.
		{"busy proxy/quiet and acked", busy, &closeRule{acked: true, quiet: quiet}, false},
		{"busy proxy/the connector's rule", busy, nil, true},
		// The destination takes nothing until the last byte arrived:
		// everything is queued at the pong, and the proxy passes it on
		// one buffer per pass, as slowly as it read it.
		{"held destination/pong", held, &closeRule{pong: true}, false},
		{"held destination/pong, quiet and acked", held, &closeRule{pong: true, acked: true, quiet: quiet}, false},
		{"held destination/the connector's rule", held, nil, true},
	} {
		t.Run("rule/"+tc.name, func(t *testing.T) {
			t.Parallel() // each waits for the model's slow passes
			m, sum := sendThenEOF(t, n, quiet, tc.proxy, tc.rule)
			kept := m == n && sum == sumOf(3, n)
			t.Logf("destination received %d of %d bytes", m, n)
			if kept != tc.keeps {
				t.Errorf("destination received %d of %d bytes (SHA-256 match %v), want all: %v", m, n, sum == sumOf(3, n), tc.keeps)
			}
		})
	}
}

// sendThenEOF sends n bytes of newPattern(3) through a WebSocket tunnel to
// a destination that hashes what it reads, then ends the sending direction
// (CloseWrite) and reads until the tunnel closes. It returns what the
// destination received. rule, when not nil, replaces the close rule.
func sendThenEOF(t *testing.T, n int64, quiet time.Duration, proxy func(*proxytest.Proxy), rule *closeRule) (int64, [32]byte) {
	t.Helper()
	type result struct {
		n   int64
		sum [32]byte
	}
	got := make(chan result, 1)
	dest := newDestination(t, func(c net.Conn) {
		h := sha256.New()
		m, _ := io.Copy(h, c) // until the proxy closes the destination
		got <- result{m, [32]byte(h.Sum(nil))}
	})
	p := newProxy(t, TransportWebSocket, dest.addr, proxy)
	cfg := config(p, TransportWebSocket, dest.addr)
	cfg.WebSocketQuiet = quiet
	tun, err := mustNew(t, cfg).Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	if rule != nil {
		tun.(*tunnelConn).Conn.(*wsConn).rule = *rule
	}
	if _, err := io.CopyN(tun, newPattern(3), n); err != nil {
		t.Fatal(err)
	}
	if err := tun.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The default linger timeout (30 s) bounds the wait.
	_ = tun.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.Copy(io.Discard, tun); err != nil {
		t.Errorf("reading until the tunnel closes: %v", err)
	}
	tun.Close()
	select {
	case r := <-got:
		return r.n, r.sum
	case <-time.After(time.Minute):
		t.Fatal("the destination did not see the end of the stream")
	}
	return 0, [32]byte{}
}

// TestWebSocketHandshake checks the request websockify sees, and the
// rejection of a bad token.
func TestWebSocketHandshake(t *testing.T) {
	dest := newDestination(t, echo)
	t.Run("accepted", func(t *testing.T) {
		p := newProxy(t, TransportWebSocket, dest.addr, func(p *proxytest.Proxy) { p.Path = "/websockify" })
		cfg := config(p, TransportWebSocket, dest.addr)
		cfg.Path = "/websockify"
		tun, err := mustNew(t, cfg).Dial(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		_ = tun.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := tun.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(tun, buf); err != nil || string(buf) != "ping" {
			t.Errorf("echo %q, %v", buf, err)
		}
		tun.Close()
		if got := p.Tokens(); len(got) != 1 || got[0] != testToken {
			t.Errorf("tokens %q", got)
		}
		if got := p.Subprotocols(); len(got) != 1 || len(got[0]) != 1 || got[0][0] != "binary" {
			t.Errorf("subprotocols offered %q, want exactly [binary]", got)
		}
	})
	t.Run("token rejected before upgrade", func(t *testing.T) {
		p := newProxy(t, TransportWebSocket, dest.addr, func(p *proxytest.Proxy) { p.CheckToken = func(string) bool { return false } })
		_, err := mustNew(t, config(p, TransportWebSocket, dest.addr)).Dial(t.Context())
		var se *StepError
		if !errors.As(err, &se) || se.Step != StepProxyAuth || !strings.Contains(err.Error(), "token rejected, unknown or expired") {
			t.Fatalf("Dial: %v; want proxy-auth, token rejected", err)
		}
		var ue *url.Error
		if errors.As(err, &ue) && strings.Contains(ue.URL, testToken) {
			t.Errorf("url.Error in the chain still holds the token: %s", ue.URL)
		}
	})
	t.Run("wrong path", func(t *testing.T) {
		p := newProxy(t, TransportWebSocket, dest.addr, nil)
		cfg := config(p, TransportWebSocket, dest.addr)
		cfg.Path = "/elsewhere"
		_, err := mustNew(t, cfg).Dial(t.Context())
		if stepOf(err) != StepProxyPolicy || !strings.Contains(err.Error(), "404") {
			t.Fatalf("Dial: %v; want proxy-policy with the 404", err)
		}
	})
}

// TestEndToEndTLS runs TLS to the destination inside the tunnel.
func TestEndToEndTLS(t *testing.T) {
	destCA := proxytest.NewCA("destination CA")
	tlsDest := newDestination(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{destCA.Issue("127.0.0.1")}})
		echo(tc)
	})
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			p := newProxy(t, tr, tlsDest.addr, nil)
			cfg := config(p, tr, tlsDest.addr)
			cfg.EndToEndTLS, cfg.DestRootCAs = true, destCA.Pool()
			tun, err := mustNew(t, cfg).Dial(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			_ = tun.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := tun.Write([]byte("secret")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 6)
			if _, err := io.ReadFull(tun, buf); err != nil || string(buf) != "secret" {
				t.Errorf("echo %q, %v", buf, err)
			}
			tun.Close()

			cfg.DestRootCAs = proxytest.NewCA("not the destination's").Pool()
			_, err = mustNew(t, cfg).Dial(t.Context())
			se := &StepError{}
			if !errors.As(err, &se) || se.Step != StepTLS || se.Addr != tlsDest.addr || !strings.Contains(se.Hint(), "destination's certificate") {
				t.Errorf("Dial with the wrong destination CA: %v (hint %q); want a tls StepError for %s about the destination", err, se.Hint(), tlsDest.addr)
			}
		})
	}
}

// TestEndToEndTLSNameHint: a destination certificate for another name is
// reported as the destination's, not with the proxy's hint.
func TestEndToEndTLSNameHint(t *testing.T) {
	destCA := proxytest.NewCA("destination CA")
	tlsDest := newDestination(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{destCA.Issue("other.example")}})
		_ = tc.Handshake()
	})
	p := newProxy(t, TransportConnect, tlsDest.addr, nil)
	cfg := config(p, TransportConnect, tlsDest.addr)
	cfg.EndToEndTLS, cfg.DestRootCAs = true, destCA.Pool()
	_, err := mustNew(t, cfg).Dial(t.Context())
	se := &StepError{}
	if !errors.As(err, &se) || se.Step != StepTLS || !strings.Contains(se.Hint(), "destination's certificate does not name") || strings.Contains(se.Hint(), "proxy") {
		t.Errorf("Dial to a destination with another name: %v (hint %q)", err, se.Hint())
	}
}

// TestDialSteps covers DNS and TCP failures.
func TestDialSteps(t *testing.T) {
	failingDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server in this test")
	}}
	c := mustNew(t, Config{ProxyAddr: "proxy.invalid:8443", Transport: TransportConnect, Destination: "h:23",
		Token: NewToken(testToken), Resolver: failingDNS})
	_, err := c.Dial(t.Context())
	if stepOf(err) != StepDNS || !strings.HasPrefix(err.Error(), "dns lookup of proxy.invalid: ") {
		t.Errorf("Dial: %v; want a dns StepError", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	c = mustNew(t, Config{ProxyAddr: closed, Transport: TransportConnect, Destination: "h:23", Token: NewToken(testToken)})
	_, err = c.Dial(t.Context())
	// The errno, not its text: Windows words it "Connection refused." or,
	// under Wine, "winapi error #10061".
	if stepOf(err) != StepTCP || !strings.HasPrefix(err.Error(), "tcp connect to "+closed+": ") || !errors.Is(err, errConnRefused) {
		t.Errorf("Dial: %v; want tcp connect ... %v", err, errConnRefused)
	}
}

// TestServeStdio relays a reader and a writer through an echo destination.
func TestServeStdio(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			dest := newDestination(t, echo)
			p := newProxy(t, tr, dest.addr, nil)
			cfg := config(p, tr, dest.addr)
			cfg.WebSocketQuiet = 100 * time.Millisecond
			c := mustNew(t, cfg)
			in := strings.NewReader("hello through stdio")
			outR, outW := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- c.ServeStdio(t.Context(), in, outW) }()
			got, err := io.ReadAll(outR)
			if err != nil || string(got) != "hello through stdio" {
				t.Errorf("stdout %q, %v", got, err)
			}
			if err := <-done; err != nil {
				t.Errorf("ServeStdio: %v", err)
			}
		})
	}
}

// TestServeStdioCancelWhileStdinBlocks: a read of stdin that nothing can
// interrupt (a terminal, a blocking pipe) must not keep ServeStdio from
// returning when its context ends (Ctrl-C on `connect --stdio`).
func TestServeStdioCancelWhileStdinBlocks(t *testing.T) {
	dest := newDestination(t, echo)
	p := newProxy(t, TransportConnect, dest.addr, nil)
	c := mustNew(t, config(p, TransportConnect, dest.addr))
	pr, pw := io.Pipe()
	defer pw.Close()                 // ends the read left behind, for the leak check
	stdin := struct{ io.Reader }{pr} // no Close: like a blocking stdin
	outR, outW := io.Pipe()
	defer outR.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.ServeStdio(ctx, stdin, outW) }()
	// One round trip proves the relay runs; its next read of stdin blocks.
	if _, err := pw.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(outR, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo: %q, %v", buf, err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ServeStdio: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeStdio did not return after its context ended while stdin blocked")
	}
}

// TestListen keeps the local end on loopback unless told otherwise.
func TestListen(t *testing.T) {
	ln, err := Listen("", false)
	if err != nil {
		t.Fatal(err)
	}
	if a := ln.Addr().(*net.TCPAddr); !a.IP.IsLoopback() || a.Port == 0 {
		t.Errorf("default listener on %v", a)
	}
	ln.Close()
	for _, tc := range []struct {
		addr  string
		allow bool
		ok    bool
	}{
		{"127.0.0.1:0", false, true},
		{"[::1]:0", false, true},
		{"0.0.0.0:0", false, false},
		{"0.0.0.0:0", true, false},
		{"[::]:0", true, false},
		{"localhost:0", false, false},
		{"192.0.2.1:0", false, false},
		{"nonsense", false, false},
	} {
		ln, err := Listen(tc.addr, tc.allow)
		if ln != nil {
			ln.Close()
		}
		if (err == nil) != tc.ok && !(tc.ok && strings.Contains(fmt.Sprint(err), "cannot assign")) {
			t.Errorf("Listen(%q, %v): %v, want ok=%v", tc.addr, tc.allow, err, tc.ok)
		}
	}
}
