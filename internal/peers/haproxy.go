//go:build linux

package peers

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// HAProxyOptions configures StartHAProxy.
type HAProxyOptions struct {
	// Squid is the proxy behind HAProxy, which opens the tunnels; it
	// checks no token of its own (SquidOptions.NoTokenCheck). Required.
	Squid *Squid
	// Tokens is the portal whose ES256 tokens HAProxy admits; nil means
	// a new ES256 one for the audience "haproxy.test:8443".
	Tokens *TokenIssuer
	// Cert is HAProxy's certificate; nil means a new CA and a
	// certificate for 127.0.0.1, ::1 and localhost.
	Cert *ServerCert
	// StartTimeout bounds start-up (default DefaultStartTimeout).
	StartTimeout time.Duration
}

// HAProxy is a running HAProxy 2.6 (Debian haproxy) that terminates TLS
// on 127.0.0.1, checks session tokens with its own jwt_verify as
// docs/proxy.md configures it, and forwards each admitted CONNECT to a
// Squid.
type HAProxy struct {
	Addr   string // "127.0.0.1:PORT"
	Cert   *ServerCert
	Tokens *TokenIssuer
	Dir    string
	*Process
}

// haproxyDocMarker precedes, in docs/proxy.md, the tested haproxy.cfg.
const haproxyDocMarker = "<!-- tested: haproxy.cfg token check -->"

// StartHAProxy writes docs/proxy.md's haproxy.cfg with the test's paths,
// addresses, issuer and audience, checks it (haproxy -c), and starts
// HAProxy in the foreground on a listening socket the harness bound on
// 127.0.0.1:0 and hands it as file descriptor 3 (bind fd@3). It returns
// once HAProxy completes a TLS handshake.
func StartHAProxy(t testing.TB, opts HAProxyOptions) *HAProxy {
	t.Helper()
	bin := RequireBinary(t, "haproxy")
	if opts.Squid == nil {
		t.Fatal("haproxy: HAProxyOptions.Squid is required")
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	h := &HAProxy{Cert: defaultServerCert(t, opts.Cert), Tokens: opts.Tokens, Dir: t.TempDir()}
	if h.Tokens == nil {
		h.Tokens = NewTokenIssuer(t, "haproxy.test:8443", "ES256")
	}
	// HAProxy reads the certificate and its key from one file.
	crt := filepath.Join(h.Dir, "proxy.pem")
	writeFile(t, crt, append(append([]byte{}, h.Cert.CertPEM...), h.Cert.KeyPEM...), 0o600)
	pub, err := publicKeyPEM(h.Tokens.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(h.Dir, "trustlaunch-portal.pub")
	writeFile(t, keyFile, pub, 0o644)
	squidCA := filepath.Join(h.Dir, "squid-ca.pem")
	writeFile(t, squidCA, opts.Squid.Cert.CA.CertPEM, 0o644)

	conf := replaceOnce(t, "haproxy", proxyDocBlock(t, haproxyDocMarker),
		"bind :8443 ssl crt /etc/haproxy/proxy.example.com.pem", "bind fd@3 ssl crt "+crt,
		"/etc/haproxy/trustlaunch-portal.pub", keyFile,
		"-m str https://portal.example.com", "-m str "+PortalIssuer,
		"-m str proxy.example.com:8443", "-m str "+h.Tokens.Audience,
		// The test's Squid serves TLS only (https_port): HAProxy checks
		// its certificate.
		"server squid 127.0.0.1:3128", "server squid "+opts.Squid.Addr+" ssl verify required ca-file "+squidCA+" sni str(localhost) verifyhost localhost",
	)
	confPath := filepath.Join(h.Dir, "haproxy.cfg")
	writeFile(t, confPath, []byte(conf), 0o644)
	ctx, cancel := context.WithTimeout(t.Context(), opts.StartTimeout)
	defer cancel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("haproxy: listen: %v", err)
	}
	h.Addr = ln.Addr().String()
	lnFile, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatalf("haproxy: listener file: %v", err)
	}
	defer lnFile.Close()
	// The check parses bind fd@3 too, so it gets the socket as well.
	check := exec.CommandContext(ctx, bin, "-c", "-f", confPath)
	check.ExtraFiles = []*os.File{lnFile}
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	// -db: foreground, no daemon; its log (log stdout) is its output.
	cmd := exec.Command(bin, "-db", "-f", confPath)
	cmd.Dir = h.Dir
	cmd.ExtraFiles = []*os.File{lnFile}
	p, err := startProcess(t, "haproxy", h.Dir, cmd)
	if err != nil {
		t.Fatalf("%v", err)
	}
	p.doneWatching()
	h.Process = p
	// The socket listens already; a handshake completes once HAProxy
	// has taken it.
	d := tls.Dialer{Config: h.Cert.CA.ClientTLS("127.0.0.1")}
	c, err := d.DialContext(ctx, "tcp", h.Addr)
	if err != nil {
		t.Fatalf("haproxy did not start: %v\n%s", err, redactTokens(tail(p.Log())))
	}
	c.Close()
	return h
}

// Token returns a new ES256 token admitting CONNECT to dest through this
// HAProxy.
func (h *HAProxy) Token(t testing.TB, dest string) string {
	t.Helper()
	return h.Tokens.Token(t, dest)
}
