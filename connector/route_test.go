package connector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseProxyList(t *testing.T) {
	for _, tc := range []struct {
		in, want, skipped, err string
	}{
		{in: "PROXY a.corp:3128; PROXY b.corp:3128; DIRECT", want: "PROXY a.corp:3128|PROXY b.corp:3128|DIRECT"},
		{in: "  proxy A.Corp:8080 ;;direct; ", want: "PROXY A.Corp:8080|DIRECT"},
		{in: "HTTP a:1", want: "PROXY a:1"},
		{in: "PROXY a", want: "PROXY a:80"},
		{in: "SOCKS5 s:1080; PROXY a:3128", want: "PROXY a:3128", skipped: `"SOCKS5 s:1080"`},
		{in: "HTTPS h:443; DIRECT", want: "DIRECT", skipped: `"HTTPS h:443"`},
		{in: "PROXY user:pw@a:3128; DIRECT", want: "DIRECT", skipped: `"PROXY user:pw@a:3128"`},
		{in: "PROXY a:99999; DIRECT", want: "DIRECT", skipped: "invalid port"},
		{in: "PROXY a:1 extra", err: "no entry trustlaunch can use"},
		{in: "SOCKS s:1080", err: `no entry trustlaunch can use (PROXY HOST:PORT or DIRECT) in the proxy list: "SOCKS s:1080"`},
		{in: "", err: "the proxy list is empty"},
		{in: "PROXY \x1b[31m:1", err: `\x1b`},
		{in: strings.Repeat("DIRECT;", 17), err: "more than 16 entries"},
		{in: strings.Repeat("x", maxListBytes+1), err: "longer than 4096 bytes"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			hops, skipped, err := ParseProxyList(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if strings.ContainsRune(err.Error(), 0x1b) {
					t.Fatalf("the error carries an escape: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, h := range hops {
				names = append(names, hopName(h))
			}
			if got := strings.Join(names, "|"); got != tc.want {
				t.Errorf("hops = %s, want %s", got, tc.want)
			}
			if got := strings.Join(skipped, ","); !strings.Contains(got, tc.skipped) || (tc.skipped == "") != (got == "") {
				t.Errorf("skipped = %s, want %s", got, tc.skipped)
			}
		})
	}
}

// FuzzParseProxyList: a PAC answer is untrusted text; whatever it is,
// the parser returns usable hops or an error, never a hop with
// credentials, a path, or a host the connector would refuse, and its
// error text carries no control character.
func FuzzParseProxyList(f *testing.F) {
	for _, s := range []string{"PROXY a:3128; DIRECT", "SOCKS5 x:1; HTTPS y:2", "PROXY [::1]:8080", "PROXY a:b@c:1", "DIRECT DIRECT", "proxy 10.0.0.1:3128;proxy x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hops, _, err := ParseProxyList(s)
		if err != nil {
			if len(hops) != 0 {
				t.Fatalf("hops with an error")
			}
			if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("control character in %q", err)
			}
			return
		}
		if len(hops) == 0 || len(hops) > maxListEntries {
			t.Fatalf("%d hops", len(hops))
		}
		for _, h := range hops {
			if h == nil {
				continue
			}
			if h.User != nil || h.Path != "" || h.Scheme != "http" {
				t.Fatalf("hop %#v", h)
			}
			host, port, err := net.SplitHostPort(h.Host)
			if err != nil || port == "" || validHost("outbound proxy", host) != nil {
				t.Fatalf("hop host %q", h.Host)
			}
		}
	})
}

// deadAddr is a loopback address nothing listens on: a listener's,
// closed.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// echoServer answers each connection with what it reads.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo: %q, %v", buf, err)
	}
}

// TestDialFailover: a list whose first proxy is dead goes through the
// second, and the choice says so; a proxy that answers with a refusal
// ends the dial (no failover to DIRECT past a 403); a proxy that accepts
// and closes without an answer is passed over.
func TestDialFailover(t *testing.T) {
	echo := echoServer(t)
	_, echoPort, _ := net.SplitHostPort(echo)
	target := "dest.test:" + echoPort
	good := newFakeOutbound(t, func(f *fakeOutbound) { f.hosts = map[string]string{"dest.test": "127.0.0.1"} })
	forbid := newFakeOutbound(t, func(f *fakeOutbound) { f.answer = "HTTP/1.1 403 Forbidden\r\n\r\n" })
	mute := newFakeOutbound(t, func(f *fakeOutbound) { f.hangUp = true })
	dead := deadAddr(t)
	opts := DialOptions{What: "the portal", DialTimeout: 5 * time.Second, HandshakeTimeout: 5 * time.Second}

	for _, tc := range []struct {
		name, list, via, failed, err string
	}{
		{name: "dead first", list: "PROXY " + dead + "; PROXY " + good.addr, via: "PROXY " + good.addr, failed: dead + " refused"},
		{name: "mute first", list: "PROXY " + mute.addr + "; PROXY " + good.addr, via: "PROXY " + good.addr, failed: mute.addr + ": closed the connection without answering CONNECT"},
		{name: "refusal ends it", list: "PROXY " + forbid.addr + "; PROXY " + good.addr, err: "outbound proxy " + forbid.addr + `: refused CONNECT to the portal "` + target + `" (403 Forbidden)`},
		{name: "all dead", list: "PROXY " + dead + "; DIRECT", err: "no such host (tried first: " + dead + " refused)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ob, err := NewOutboundList(SourceFlag, tc.list, "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			o := opts
			o.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.DNSError{Err: "no such host", Name: "dest.test", IsNotFound: true}
			}}
			conn, ch, err := ob.Dial(ctx, target, o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				var se *StepError
				var dns *net.DNSError
				if !errors.As(err, &se) && !errors.As(err, &dns) {
					t.Fatalf("err %T is neither a *StepError nor the direct dial's own", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, conn)
			if ch.Via != tc.via || len(ch.Failed) != 1 || !strings.HasPrefix(ch.Failed[0], tc.failed) {
				t.Errorf("choice %+v, want via %s after %s", ch, tc.via, tc.failed)
			}
			want := tc.via + " (chosen by --outbound-proxy; after " + tc.failed
			if !strings.HasPrefix(ch.String(), want) {
				t.Errorf("choice reads %q, want %q", ch, want)
			}
			if got, ok := ob.Chosen(target); !ok || got.Via != ch.Via {
				t.Errorf("Chosen = %+v, %v", got, ok)
			}
		})
	}
}

// fakeScript is a ProxyScript with a canned answer that counts its calls.
type fakeScript struct {
	answer string
	err    error
	calls  atomic.Int32
}

func (s *fakeScript) FindProxy(_ context.Context, host, port string) (string, error) {
	s.calls.Add(1)
	return s.answer, s.err
}

func (s *fakeScript) String() string { return "PAC http://wpad.test/wpad.dat" }

// TestDialScript: a script's answer is asked once per target and
// followed; a failing script, or one that answers nothing usable, sends
// the connection direct, and the choice says why.
func TestDialScript(t *testing.T) {
	echo := echoServer(t)
	good := newFakeOutbound(t, func(f *fakeOutbound) { f.hosts = map[string]string{"dest.test": "127.0.0.1"} })
	_, port, _ := net.SplitHostPort(echo)
	opts := DialOptions{What: "the security proxy", DialTimeout: 5 * time.Second, HandshakeTimeout: 5 * time.Second}

	s := &fakeScript{answer: "PROXY " + deadAddr(t) + "; PROXY " + good.addr + "; DIRECT"}
	ob := NewOutboundScript(SourceFlag, s)
	for range 3 {
		conn, ch, err := ob.Dial(t.Context(), "dest.test:"+port, opts)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, conn)
		if !strings.HasPrefix(ch.String(), "PROXY "+good.addr+" (chosen by PAC http://wpad.test/wpad.dat; after 127.0.0.1:") {
			t.Errorf("choice reads %q", ch)
		}
	}
	if n := s.calls.Load(); n != 1 {
		t.Errorf("the script was asked %d times for one target, want 1", n)
	}

	for _, tc := range []struct {
		name string
		s    *fakeScript
		note string
	}{
		{"script fails", &fakeScript{err: errors.New("ran longer than 2s")}, "the PAC script failed: ran longer than 2s; going direct"},
		{"nothing usable", &fakeScript{answer: "SOCKS5 s:1080"}, `the PAC script failed: no entry trustlaunch can use (PROXY HOST:PORT or DIRECT) in the proxy list: "SOCKS5 s:1080"; going direct`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, ch, err := NewOutboundScript(SourceFlag, tc.s).Dial(t.Context(), echo, opts)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, conn)
			if want := "DIRECT (chosen by PAC http://wpad.test/wpad.dat; " + tc.note + ")"; ch.String() != want {
				t.Errorf("choice reads\n%q, want\n%q", ch, want)
			}
		})
	}
}

// TestTunnelRoute: the tunnel's Dial takes the same route as
// OutboundProxy.Dial and reports it (Route).
func TestTunnelRoute(t *testing.T) {
	dest := newDestination(t, echo)
	p := newProxy(t, TransportConnect, dest.addr, nil)
	ob := newFakeOutbound(t, nil)
	_, port, _ := net.SplitHostPort(p.Addr)
	list, err := NewOutboundList(SourceFlag, "PROXY "+deadAddr(t)+"; PROXY "+ob.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(p, TransportConnect, dest.addr)
	cfg.ProxyAddr = "proxy.test:" + port
	cfg.Outbound = list
	conn, err := mustNew(t, cfg).Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, ok := Route(conn)
	if !ok || ch.Via != "PROXY "+ob.addr || len(ch.Failed) != 1 {
		t.Fatalf("Route = %+v, %v", ch, ok)
	}
}

// TestScriptCannotRedirectTunnel: a PAC script fetched over http may name
// a hostile outbound proxy, which sends the CONNECT somewhere else than
// the security proxy asked for (here: a TLS server with a certificate of
// its own). The tunnel still verifies the security proxy's certificate,
// fails at TLS, and never sends the token: a script chooses the path, not
// the peer.
func TestScriptCannotRedirectTunnel(t *testing.T) {
	impostor := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the impostor got a request: %s %s", r.Method, r.Host)
	}))
	impostor.StartTLS()
	defer impostor.Close()
	hostile := newFakeOutbound(t, func(f *fakeOutbound) { f.redirect = impostor.Listener.Addr().String() })
	dest := newDestination(t, echo)
	p := newProxy(t, TransportConnect, dest.addr, nil)
	cfg := config(p, TransportConnect, dest.addr)
	cfg.Outbound = NewOutboundScript(SourceFlag, &fakeScript{answer: "PROXY " + hostile.addr})
	_, err := mustNew(t, cfg).Dial(t.Context())
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepTLS {
		t.Fatalf("Dial: %v, want a TLS failure", err)
	}
	if bytes.Contains(hostile.receivedBytes(), []byte(testToken)) {
		t.Errorf("the hostile proxy saw the token")
	}
}

// BenchmarkRoute is the choice of the outbound proxy for one connection:
// a static proxy, a static list, and a PAC script whose answer for the
// target is cached (every connection after the first to a target in a
// launch; internal/pac's BenchmarkFindProxy is the first).
func BenchmarkRoute(b *testing.B) {
	static, err := NewOutboundProxy(SourceFlag, "http://proxy.corp:3128", "")
	if err != nil {
		b.Fatal(err)
	}
	list, err := NewOutboundList(SourceFlag, "PROXY a.corp:3128; PROXY b.corp:3128; DIRECT", "")
	if err != nil {
		b.Fatal(err)
	}
	script := NewOutboundScript(SourceFlag, &fakeScript{answer: "PROXY a.corp:3128; PROXY b.corp:3128; DIRECT"})
	for _, bc := range []struct {
		name string
		ob   *OutboundProxy
	}{{"static", static}, {"list", list}, {"pac-cached", script}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			bc.ob.route(ctx, "secproxy.test:8443")
			for b.Loop() {
				if r := bc.ob.route(ctx, "secproxy.test:8443"); len(r.hops) == 0 {
					b.Fatal("no hops")
				}
			}
		})
	}
}
