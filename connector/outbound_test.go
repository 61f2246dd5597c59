package connector

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/redact/redacttest"
)

// fakeOutbound is an in-process outbound (egress) HTTP proxy: it reads a
// CONNECT request, records every byte the client sent it, and either
// answers with canned bytes or connects the tunnel, resolving names
// through hosts (a name only it knows, as the Squid test's hosts_file).
type fakeOutbound struct {
	ln    net.Listener
	addr  string
	hosts map[string]string // "proxy.test" -> "127.0.0.1"
	// creds, when not empty, is the "user:password" it requires.
	creds string
	// answer, when not empty, is written instead of handling CONNECT.
	answer string
	// hangUp closes the connection after the request, without an answer.
	hangUp bool
	// redirect, when not empty, is where every CONNECT goes instead of
	// its target: a hostile proxy.
	redirect string

	mu       sync.Mutex
	received bytes.Buffer // every byte from every client
	requests []*http.Request
	wg       sync.WaitGroup
}

func newFakeOutbound(t *testing.T, configure func(*fakeOutbound)) *fakeOutbound {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeOutbound{ln: ln, addr: ln.Addr().String(), hosts: map[string]string{"proxy.test": "127.0.0.1"}}
	if configure != nil {
		configure(f)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

type recorder struct {
	r io.Reader
	f *fakeOutbound
}

func (r recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.f.mu.Lock()
	r.f.received.Write(p[:n])
	r.f.mu.Unlock()
	return n, err
}

func (f *fakeOutbound) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(recorder{c, f})
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	if f.hangUp {
		return
	}
	if f.answer != "" {
		io.WriteString(c, f.answer)
		return
	}
	if req.Method != http.MethodConnect {
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
		return
	}
	if f.creds != "" && req.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(f.creds)) {
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n")
		return
	}
	host, port, _ := net.SplitHostPort(req.Host)
	ip, ok := f.hosts[host]
	to := net.JoinHostPort(ip, port)
	if f.redirect != "" {
		to, ok = f.redirect, true
	}
	if !ok {
		io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", to)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	_ = c.SetDeadline(time.Time{})
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(c, up)
		c.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(up, br)
	up.(*net.TCPConn).CloseWrite()
	<-done
}

func (f *fakeOutbound) receivedBytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.received.Bytes())
}

func (f *fakeOutbound) outbound(t *testing.T, userinfo string) *OutboundProxy {
	t.Helper()
	u := "http://" + f.addr
	if userinfo != "" {
		u = "http://" + userinfo + "@" + f.addr
	}
	ob, err := NewOutboundProxy(SourceFlag, u, "")
	if err != nil {
		t.Fatal(err)
	}
	return ob
}

// TestOutboundTunnel opens a tunnel of each transport to a security proxy
// whose name only the outbound proxy resolves: without the outbound dial
// the tunnel fails at DNS. The outbound proxy gets the Basic credentials,
// and none of the bytes it sees carries the session token.
func TestOutboundTunnel(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			dest := newDestination(t, echo)
			p := newProxy(t, tr, dest.addr, nil)
			ob := newFakeOutbound(t, func(f *fakeOutbound) { f.creds = "alice:s3cret pass" })
			_, port, _ := net.SplitHostPort(p.Addr)
			cfg := config(p, tr, dest.addr)
			cfg.ProxyAddr = "proxy.test:" + port
			cfg.Outbound = ob.outbound(t, "alice:s3cret%20pass")
			c := mustNew(t, cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			conn, err := c.Dial(ctx)
			if err != nil {
				t.Fatalf("Dial through the outbound proxy: %v", err)
			}
			defer conn.Close()
			msg := []byte("hello through two proxies\n")
			if _, err := conn.Write(msg); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("echo = %q, %v", got, err)
			}
			if toks := p.Tokens(); len(toks) != 1 || toks[0] != testToken {
				t.Errorf("the security proxy got tokens %q", toks)
			}
			seen := ob.receivedBytes()
			if bytes.Contains(seen, []byte(testToken)) {
				t.Errorf("the outbound proxy saw the session token")
			}
			if !bytes.HasPrefix(seen, []byte("CONNECT proxy.test:"+port+" HTTP/1.1\r\n")) {
				t.Errorf("the outbound proxy got %q, want a CONNECT to the security proxy", seen[:min(len(seen), 80)])
			}
			ob.mu.Lock()
			ua := ob.requests[0].Header.Get("User-Agent")
			ob.mu.Unlock()
			if want := HeaderUserAgent(cfg.UserAgent); ua != want {
				t.Errorf("the outbound proxy got a CONNECT with User-Agent %q, want %q, the fetch's and the tunnel's", ua, want)
			}
		})
	}
}

// The outbound proxy's credentials of the tests that check they never
// show: the password in the URL is percent-encoded, as a user writes it.
const (
	outboundUser     = "alice"
	outboundPass     = "Corp-Pr0xy/Pa55w0rd!Spring"
	outboundUserinfo = "alice:Corp-Pr0xy%2FPa55w0rd%21Spring"
)

// outboundBasic is the Basic credential of outboundUser and outboundPass.
var outboundBasic = base64.StdEncoding.EncodeToString([]byte(outboundUser + ":" + outboundPass))

// TestOutboundBadAnswers: an outbound proxy that refuses or answers
// garbage gives one line naming the outbound proxy, with the status code
// and its standard phrase, not the proxy's reason, and no spelling of its
// credentials; the token was never sent to it.
func TestOutboundBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, answer, userinfo string
		want                   []string
	}{
		{"garbage", "SSH-2.0-OpenSSH_9.2 " + testToken + "\r\n", "", []string{"outbound proxy 127.0.0.1:", "not HTTP", "SSH-2.0"}},
		{"407 without credentials", "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "", []string{": 407 authentication required"}},
		{"407 with credentials", "HTTP/1.1 407 Nope alice:hunter2\r\n\r\n", "alice:hunter2", []string{": 407 authentication required: the user name or password was refused"}},
		{"403", "HTTP/1.1 403 Forbidden\r\n\r\n", "", []string{"refused CONNECT to the security proxy", "403 Forbidden"}},
		{"503", "HTTP/1.1 503 Service Unavailable\r\n\r\n", "", []string{"could not reach the security proxy"}},
		{"closed", "", "", []string{"closed the connection without answering CONNECT"}},
		// A refusal that echoes the password or the Basic credential in
		// another case than it was sent.
		{"403 echoing the password in lower case", "HTTP/1.1 403 denied " + strings.ToLower(outboundUser+":"+outboundPass) + "\r\n\r\n", outboundUserinfo, []string{"refused CONNECT to the security proxy", "(403 Forbidden)"}},
		{"502 echoing the Basic credential in lower case", "HTTP/1.1 502 bad " + strings.ToLower(outboundBasic) + "\r\n\r\n", outboundUserinfo, []string{"could not reach the security proxy", "(502 Bad Gateway)"}},
		{"garbage echoing the Basic credential in upper case", "SSH-2.0-" + strings.ToUpper(outboundBasic) + "\r\n", outboundUserinfo, []string{"not HTTP", "SSH-2.0-[redacted]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ob := newFakeOutbound(t, func(f *fakeOutbound) {
				f.answer = tc.answer
				f.hangUp = tc.answer == ""
			})
			cfg := Config{ProxyAddr: "proxy.test:8443", Transport: TransportConnect, Destination: "host.test:23", Token: NewToken(testToken),
				Outbound: ob.outbound(t, tc.userinfo), HandshakeTimeout: 5 * time.Second}
			c := mustNew(t, cfg)
			_, err := c.Dial(t.Context())
			if err == nil {
				t.Fatal("Dial succeeded")
			}
			var se *StepError
			if !errors.As(err, &se) || se.Step != StepOutbound {
				t.Fatalf("error %v (%T), want a StepOutbound *StepError", err, err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error %q is more than one line", msg)
			}
			for _, secret := range []string{testToken, "hunter2", base64.StdEncoding.EncodeToString([]byte("alice:hunter2")), outboundPass, outboundBasic} {
				if strings.Contains(strings.ToLower(msg), strings.ToLower(secret)) || strings.Contains(strings.ToLower(se.Hint()), strings.ToLower(secret)) {
					t.Errorf("error or hint shows %q in some case: %q (hint %q)", secret, msg, se.Hint())
				}
			}
			for _, secret := range []string{outboundPass, outboundUser + ":" + outboundPass} {
				if run, ok := redacttest.Leak(msg, secret); ok {
					t.Errorf("error %q shows the run %q of a spelling of %q", msg, run, secret)
				}
			}
			if bytes.Contains(ob.receivedBytes(), []byte(testToken)) {
				t.Errorf("the token was sent to the outbound proxy")
			}
		})
	}
}

// TestOutboundProxySetting: malformed settings are one error naming the
// source and never the password; NO_PROXY and the Windows override rules
// choose direct connections.
func TestOutboundProxySetting(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"http://alice:hunter2@proxy.corp:99999", `HTTPS_PROXY: proxy "http://proxy.corp:99999" has an invalid port`},
		{"socks5://alice:hunter2@proxy.corp:1080", `HTTPS_PROXY: proxy scheme "socks5" is not supported`},
		{"https://proxy.corp:3128", `HTTPS_PROXY: proxy scheme "https" is not supported`},
		{"http://alice:hunter2@", "HTTPS_PROXY: the proxy URL has no host"},
		{"http://alice:hunter2@proxy.corp:3128/x?y", `HTTPS_PROXY: proxy "http://proxy.corp:3128": want http://HOST:PORT with no path`},
		{"http://alice:hun ter2@proxy.corp:3128", "HTTPS_PROXY: the proxy URL has a space or a control character"},
		{"http://alice:hunter2%zz@proxy.corp:3128", "HTTPS_PROXY: the proxy URL does not parse"},
		{"http://proxy.corp:", `HTTPS_PROXY: proxy "http://proxy.corp:" has an empty port`},
	} {
		_, err := OutboundFromEnvironment(func(k string) string {
			if k == "HTTPS_PROXY" {
				return tc.raw
			}
			return ""
		})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n") {
			t.Errorf("HTTPS_PROXY=%q: error %v, want one line starting %q without the password", tc.raw, err, tc.want)
		}
	}

	ob, err := OutboundFromEnvironment(func(k string) string {
		return map[string]string{"https_proxy": "proxy.corp:3128", "no_proxy": ".internal.corp,10.0.0.0/8,direct.example:8443"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if ob.String() != "http://proxy.corp:3128 (from https_proxy)" {
		t.Errorf("String = %q", ob.String())
	}
	win := ob.WithWindowsBypass(true, []string{"*.lab.corp", "192.168.*"})
	for _, tc := range []struct {
		ob      *OutboundProxy
		addr    string
		proxied bool
	}{
		{ob, "secproxy.example.com:443", true},
		{ob, "a.internal.corp:443", false},
		{ob, "10.1.2.3:443", false},
		{ob, "direct.example:8443", false},
		{ob, "direct.example:443", true},
		{ob, "127.0.0.1:8443", false}, // httpproxy never proxies loopback
		{ob, "localhost:8443", false},
		{ob, "mainframe:443", true},
		{win, "mainframe:443", false}, // <local>
		{win, "x.lab.corp:443", false},
		{win, "192.168.4.5:443", false},
		{win, "secproxy.example.com:443", true},
		{nil, "secproxy.example.com:443", false},
		{DirectOutbound(SourceFlag), "secproxy.example.com:443", false},
	} {
		got := tc.ob.ProxyFor(tc.addr)
		if (got != nil) != tc.proxied {
			t.Errorf("%v: ProxyFor(%s) = %v, want proxied %v", tc.ob, tc.addr, got, tc.proxied)
		}
		if got != nil && got.Host != "proxy.corp:3128" {
			t.Errorf("ProxyFor(%s) = %v", tc.addr, got)
		}
	}
}
