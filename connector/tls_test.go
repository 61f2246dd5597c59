package connector

import (
	"bufio"
	"context"
	"crypto/fips140"
	"crypto/tls"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// TestCurvesNoHelloRetry measures the key-exchange choice: Go 1.26's
// default client costs a HelloRetryRequest against a P-256-only proxy; the
// connector's does not, and still negotiates a post-quantum hybrid with a
// default Go 1.26 proxy.
func TestCurvesNoHelloRetry(t *testing.T) {
	dest := newDestination(t, echo)
	p256 := newProxy(t, TransportConnect, "", func(p *proxytest.Proxy) { p.TLS.CurvePreferences = []tls.CurveID{tls.CurveP256} })

	baseline, err := tls.Dial("tcp", p256.Addr, p256.ClientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	// The proxy records a handshake when it has read the client's Finished,
	// which may be after Dial returns: wait for its answer to a request so
	// that the two handshakes are recorded in the order they were made.
	io.WriteString(baseline, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := bufio.NewReader(baseline).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	baseline.Close()
	tun, err := mustNew(t, config(p256, TransportConnect, dest.addr)).Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tun.Close()
	hs := p256.Handshakes()
	if len(hs) != 2 {
		t.Fatalf("%d handshakes", len(hs))
	}
	t.Logf("P-256-only proxy: Go default client HelloRetryRequest=%v group=%v; connector HelloRetryRequest=%v group=%v",
		hs[0].HelloRetryRequest, hs[0].CurveID, hs[1].HelloRetryRequest, hs[1].CurveID)
	if !hs[0].HelloRetryRequest {
		t.Log("note: Go's default client no longer needs a HelloRetryRequest here; the curve choice may be revisited")
	}
	if hs[1].HelloRetryRequest || hs[1].CurveID != tls.CurveP256 {
		t.Errorf("connector against a P-256-only proxy: HelloRetryRequest=%v group=%v; want no retry, P-256", hs[1].HelloRetryRequest, hs[1].CurveID)
	}

	def := newProxy(t, TransportConnect, "", nil)
	tun, err = mustNew(t, config(def, TransportConnect, dest.addr)).Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tun.Close()
	hs = def.Handshakes()
	t.Logf("default Go proxy: connector HelloRetryRequest=%v group=%v", hs[0].HelloRetryRequest, hs[0].CurveID)
	if hs[0].HelloRetryRequest || hs[0].CurveID != tls.SecP256r1MLKEM768 {
		t.Errorf("connector against a default Go proxy: HelloRetryRequest=%v group=%v; want no retry, SecP256r1MLKEM768", hs[0].HelloRetryRequest, hs[0].CurveID)
	}

	tls12 := newProxy(t, TransportConnect, "", func(p *proxytest.Proxy) { p.TLS.MaxVersion = tls.VersionTLS12 })
	tun, err = mustNew(t, config(tls12, TransportConnect, dest.addr)).Dial(t.Context())
	if err != nil {
		t.Fatalf("TLS 1.2 proxy: %v", err)
	}
	tun.Close()
	if hs := tls12.Handshakes(); hs[0].Version != tls.VersionTLS12 {
		t.Errorf("TLS 1.2 proxy negotiated %s", tls.VersionName(hs[0].Version))
	}
}

// TestTLSVersionLimits: a 1.3-only connector refuses a 1.2-only proxy.
func TestTLSVersionLimits(t *testing.T) {
	p := newProxy(t, TransportConnect, "", func(p *proxytest.Proxy) { p.TLS.MaxVersion = tls.VersionTLS12 })
	cfg := config(p, TransportConnect, "127.0.0.1:1")
	cfg.TLSMin = tls.VersionTLS13
	_, err := mustNew(t, cfg).Dial(t.Context())
	if stepOf(err) != StepTLS || len(p.Tokens()) != 0 {
		t.Errorf("Dial: %v, tokens %q; want a tls StepError and no token", err, p.Tokens())
	}
}

func TestNewValidation(t *testing.T) {
	good := func() Config {
		return Config{ProxyAddr: "proxy.example.com:8443", Transport: TransportConnect, Destination: "host.example.com:23", Token: NewToken("t")}
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string // "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"valid websocket", func(c *Config) { c.Transport, c.Path = TransportWebSocket, "/websockify" }, ""},
		{"valid IPv6", func(c *Config) { c.ProxyAddr = "[2001:db8::1]:443" }, ""},
		{"valid 1.3 only", func(c *Config) { c.TLSMin = tls.VersionTLS13 }, ""},
		{"no proxy", func(c *Config) { c.ProxyAddr = "" }, "proxy address is missing"},
		{"proxy without port", func(c *Config) { c.ProxyAddr = "proxy.example.com" }, "want host:port"},
		{"port zero", func(c *Config) { c.ProxyAddr = "p:0" }, "invalid port"},
		{"port too big", func(c *Config) { c.ProxyAddr = "p:65536" }, "invalid port"},
		{"CRLF in destination", func(c *Config) { c.Destination = "h\r\nX-Evil:23" }, "not allowed"},
		{"space in destination", func(c *Config) { c.Destination = "h h:23" }, "not allowed"},
		{"zone", func(c *Config) { c.Destination = "[fe80::1%eth0]:23" }, "IPv6"},
		{"no transport", func(c *Config) { c.Transport = "" }, "transport is missing"},
		{"bad transport", func(c *Config) { c.Transport = "socks" }, "unknown transport"},
		{"path with connect", func(c *Config) { c.Path = "/x" }, "websocket transport only"},
		{"relative path", func(c *Config) { c.Transport, c.Path = TransportWebSocket, "x" }, "must start with /"},
		{"query in path", func(c *Config) { c.Transport, c.Path = TransportWebSocket, "/x?token=y" }, "not allowed"},
		{"no token", func(c *Config) { c.Token = Token{} }, "token: missing"},
		{"token with newline", func(c *Config) { c.Token = NewToken("a\nb") }, "visible ASCII"},
		{"TLS 1.1 minimum", func(c *Config) { c.TLSMin = tls.VersionTLS11 }, "not allowed"},
		{"TLS 1.0 maximum", func(c *Config) { c.TLSMax = tls.VersionTLS10 }, "not allowed"},
		{"min above max", func(c *Config) { c.TLSMin, c.TLSMax = tls.VersionTLS13, tls.VersionTLS12 }, "above the maximum"},
		{"pin without prefix", func(c *Config) { c.Pins = []string{"AAAA"} }, "pin 1 of 1 does not start with sha256/"},
		{"pin of wrong size", func(c *Config) { c.Pins = []string{"sha256/AAAA"} }, "32-byte"},
		{"negative timeout", func(c *Config) { c.DialTimeout = -1 }, "negative"},
		{"dest roots without e2e", func(c *Config) { c.DestRootCAs = proxytest.NewCA("x").Pool() }, "without end-to-end"},
	}
	if !fips140.Enabled() {
		cases = append(cases, struct {
			name string
			mod  func(*Config)
			want string
		}{"FIPS without the module", func(c *Config) { c.FIPS = true }, "FIPS module is not enabled"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.mod(&cfg)
			_, err := New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("New: %v; want an error with %q", err, tc.want)
			}
		})
	}
}

func TestParseTLSVersion(t *testing.T) {
	for in, want := range map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13, "1.1": 0, "1.0": 0, "": 0, "TLS1.2": 0} {
		got, err := ParseTLSVersion(in)
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("ParseTLSVersion(%q) = %v, %v", in, got, err)
		}
		if err == nil && FormatTLSVersion(got) != in {
			t.Errorf("FormatTLSVersion(ParseTLSVersion(%q)) = %q", in, FormatTLSVersion(got))
		}
	}
}

// TestFIPS runs a tunnel with Config.FIPS in a child process started with
// GODEBUG=fips140=on.
func TestFIPS(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "TL_CONNECTOR_CHILD=fips", "GODEBUG=fips140=on")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tunnel under GODEBUG=fips140=on: %v\n%s", err, out)
	}
}

// childFIPS is TestFIPS's child: FIPS must be on, and a tunnel must work.
func childFIPS() int {
	if !fips140.Enabled() {
		os.Stderr.WriteString("fips140 is not enabled in the child\n")
		return 2
	}
	dest, err := listenEcho()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	defer dest.Close()
	p := proxytest.NewConnectProxy()
	defer p.Close()
	c, err := New(Config{ProxyAddr: p.Addr, Transport: TransportConnect, RootCAs: p.RootCAs(),
		Destination: dest.Addr().String(), Token: NewToken(testToken), FIPS: true})
	if err != nil {
		os.Stderr.WriteString("New: " + err.Error() + "\n")
		return 1
	}
	tun, err := c.Dial(context.Background())
	if err != nil {
		os.Stderr.WriteString("Dial: " + err.Error() + "\n")
		return 1
	}
	defer tun.Close()
	if hs := p.Handshakes(); len(hs) != 1 || hs[0].CurveID == tls.X25519 {
		os.Stderr.WriteString("unexpected handshake under FIPS\n")
		return 1
	}
	return 0
}

// listenEcho is a destination outside a test (for child processes).
func listenEcho() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln, nil
}
