package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

const connectUsage = `Open a TLS tunnel to a destination host through the security proxy.

Usage:
  trustlaunch connect --proxy HOST:PORT --transport connect|websocket --to HOST:PORT
      [--path P] [--ca FILE] [--pin sha256/...] [--server-name N]
      [--tls-min 1.2|1.3] [--tls-max 1.2|1.3] [--e2e-tls]
      [--listen ADDR | --stdio] [--token-file FILE] [--fips]

The session token comes from --token-file, else the TRUSTLAUNCH_TOKEN
environment variable, else standard input when it is not a terminal (one
trailing newline is removed). There is no --token flag: every user of this
machine can read a command line.

Without --stdio, connect listens on 127.0.0.1 (a free port unless --listen
names one), prints "listening on 127.0.0.1:PORT" and relays every connection
from your own user through its own tunnel until interrupted. A --listen
address that is not loopback needs --unsafe-listen: anyone who can reach it
uses your session. Warning: every program you run passes that check, your
browser included, so a web page you visit could send requests through the
tunnel while it listens (open, unlike connect, admits only the emulator it
started). Listen only while you use it. With --stdio, it relays standard
input and output through one tunnel, as an ssh ProxyCommand.

The proxy's certificate is always verified: against the system roots, or only
against --ca when given, then against every --pin (the SHA-256 of a public
key of the verified chain). The token is sent only after these checks pass.

Examples:
  trustlaunch connect --proxy proxy.example.com:8443 --transport connect \
      --to mainframe.example.com:23 --token-file ~/.session-token
  TRUSTLAUNCH_TOKEN=... trustlaunch connect --proxy proxy.example.com:443 \
      --transport websocket --path /websockify --to vnc.example.com:5901 \
      --ca /etc/ssl/company-ca.pem --listen 127.0.0.1:5901
  ssh -o ProxyCommand='trustlaunch connect --stdio --proxy proxy.example.com:8443 \
      --transport connect --to %h:%p --token-file ~/.session-token' host.example.com
`

// maxTokenBytes caps what is read from a token file or standard input.
const maxTokenBytes = connector.MaxTokenBytes

// maxCABytes caps a --ca bundle: a private CA's is a few KiB, a copy of
// the system's whole bundle a few hundred.
const maxCABytes = 4 << 20

type connectOptions struct {
	proxy, transport, path, to     string
	ca, serverName, tlsMin, tlsMax string
	pins                           []string
	e2e, stdioMode, unsafeListen   bool
	listen, tokenFile              string
	fips                           bool
	outbound                       outboundFlags
}

func cmdConnect(ctx context.Context, s *stdio, args []string) int {
	fs, o := newConnectFlagSet(s)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 {
		s.errorf("connect: unexpected argument %s", safetext.Quote(fs.Arg(0)))
		s.hintf("run \"trustlaunch connect --help\"")
		return exitUsage
	}
	cfg, code, ok := o.config(ctx, s)
	if !ok {
		return code
	}
	if code, ok := o.addToken(ctx, s, &cfg); !ok {
		return code
	}
	var logMu sync.Mutex
	cfg.Logf = func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		s.logf(format, args...)
	}
	if !o.stdioMode {
		if o.unsafeListen {
			// A peer on another machine has no owner we can check.
			cfg.AllowUncheckedPeers = true
		} else if !connector.PeerCheckAvailable() {
			s.warnf("on %s trustlaunch cannot check which user opens a local connection: any user of this computer can use the tunnel while it runs", runtime.GOOS)
			cfg.AllowUncheckedPeers = true
		}
	}
	c, err := connector.New(cfg)
	if err != nil {
		s.errorf("connect: %v", err)
		if errors.Is(err, connector.ErrFIPSUnavailable) {
			s.hintf("run with GODEBUG=fips140=on, or without --fips")
		}
		return exitUsage
	}
	if o.stdioMode {
		return connectStdio(ctx, s, c)
	}
	return connectListen(ctx, s, c, o)
}

// newConnectFlagSet is the flag set of connect.
func newConnectFlagSet(s *stdio) (*pflag.FlagSet, *connectOptions) {
	fs := newFlagSet("connect", connectUsage, s)
	o := &connectOptions{}
	fs.StringVar(&o.proxy, "proxy", "", "the security proxy, `HOST:PORT`")
	fs.StringVar(&o.transport, "transport", "", "how to talk to the proxy: connect (HTTP CONNECT) or websocket (websockify)")
	fs.StringVar(&o.path, "path", "", "WebSocket request `path` (websocket only; default /)")
	fs.StringVar(&o.to, "to", "", "the destination the proxy connects to, `HOST:PORT`")
	fs.StringVar(&o.ca, "ca", "", "PEM `FILE` of the CA certificates to trust for the proxy, instead of the system roots")
	fs.StringSliceVar(&o.pins, "pin", nil, "`sha256/BASE64` of a public key the proxy's verified chain must contain (repeatable)")
	fs.StringVar(&o.serverName, "server-name", "", "`NAME` to send as SNI and to verify in the proxy's certificate (default: the proxy host)")
	// The defaults and the choices are the connector's, which a
	// descriptor without tls_min or tls_max gets too.
	oldest, newest := connector.FormatTLSVersion(connector.MinTLSVersion), connector.FormatTLSVersion(connector.MaxTLSVersion)
	fs.StringVar(&o.tlsMin, "tls-min", oldest, "oldest TLS version to accept: "+oldest+" or "+newest)
	fs.StringVar(&o.tlsMax, "tls-max", newest, "newest TLS version to offer: "+oldest+" or "+newest)
	fs.BoolVar(&o.e2e, "e2e-tls", false, "run TLS to the destination inside the tunnel (verified with the system roots)")
	fs.StringVar(&o.listen, "listen", "", "local `ADDR` to listen on (default 127.0.0.1 with a free port)")
	fs.BoolVar(&o.unsafeListen, "unsafe-listen", false, "allow a --listen address that is not loopback: other machines could use your session")
	fs.BoolVar(&o.stdioMode, "stdio", false, "relay standard input and output through one tunnel instead of listening")
	fs.StringVar(&o.tokenFile, "token-file", "", "read the session token from `FILE`")
	addOutboundFlag(fs, &o.outbound)
	fs.BoolVar(&o.fips, "fips", false, "refuse to run unless Go's FIPS 140-3 module is enabled (GODEBUG=fips140=on)")
	return fs, o
}

// addToken reads the session token (readToken) into cfg, with the
// registry of secrets that connector.New adds it to.
func (o *connectOptions) addToken(ctx context.Context, s *stdio, cfg *connector.Config) (code int, ok bool) {
	if o.stdioMode && o.tokenFile == "" && s.getenv("TRUSTLAUNCH_TOKEN") == "" {
		s.errorf("connect: --stdio needs the token from --token-file or TRUSTLAUNCH_TOKEN: standard input carries the tunnel")
		return exitUsage, false
	}
	tok, err := readToken(ctx, s, o.tokenFile)
	if ctx.Err() != nil {
		s.errorf("connect: interrupted")
		return exitInterrupted, false
	}
	if err != nil {
		s.errorf("connect: %v", err)
		s.hintf("give the token with --token-file FILE, the TRUSTLAUNCH_TOKEN environment variable, or on standard input")
		return exitUsage, false
	}
	cfg.Token = tok
	cfg.Secrets = s.registry() // New adds the token and the outbound credentials
	return 0, true
}

// connectStdio relays standard input and output through one tunnel
// (--stdio) and returns the exit code.
func connectStdio(ctx context.Context, s *stdio, c *connector.Connector) int {
	err := c.ServeStdio(ctx, s.stdin, s.stdout)
	switch {
	case ctx.Err() != nil:
		s.errorf("connect: interrupted")
		return exitInterrupted
	case err != nil:
		printConnectError(s, err)
		return exitFailure
	}
	return exitOK
}

// connectListen listens on --listen, says where, and relays every
// connection through its own tunnel until interrupted.
func connectListen(ctx context.Context, s *stdio, c *connector.Connector, o *connectOptions) int {
	ln, err := connector.Listen(o.listen, o.unsafeListen)
	if err != nil {
		s.errorf("connect: %v", err)
		// A refused --listen value is a usage error; a port already in
		// use, say, is a failure of the run.
		if _, ok := errors.AsType[*net.OpError](err); ok {
			return exitFailure
		}
		return exitUsage
	}
	fmt.Fprintf(s.stdout, "listening on %s\n", ln.Addr())
	if f, ok := s.stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	if err := c.Serve(ctx, ln); err != nil {
		printConnectError(s, err)
		return exitFailure
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitOK
}

// config turns the flags into a connector.Config (without the token).
func (o *connectOptions) config(ctx context.Context, s *stdio) (connector.Config, int, bool) {
	var cfg connector.Config
	switch {
	case o.proxy == "":
		s.errorf("connect: --proxy HOST:PORT is required")
		return cfg, exitUsage, false
	case o.to == "":
		s.errorf("connect: --to HOST:PORT is required")
		return cfg, exitUsage, false
	case o.transport == "":
		s.errorf("connect: --transport connect|websocket is required")
		return cfg, exitUsage, false
	case o.stdioMode && o.listen != "":
		s.errorf("connect: --listen and --stdio exclude each other")
		return cfg, exitUsage, false
	case o.stdioMode && o.unsafeListen:
		s.errorf("connect: --unsafe-listen applies to --listen, not --stdio")
		return cfg, exitUsage, false
	}
	minV, err := connector.ParseTLSVersion(o.tlsMin)
	if err != nil {
		s.errorf("connect: --tls-min: %v", err)
		return cfg, exitUsage, false
	}
	maxV, err := connector.ParseTLSVersion(o.tlsMax)
	if err != nil {
		s.errorf("connect: --tls-max: %v", err)
		return cfg, exitUsage, false
	}
	cfg = connector.Config{
		ProxyAddr:   o.proxy,
		Transport:   connector.Transport(o.transport),
		Path:        o.path,
		ServerName:  o.serverName,
		TLSMin:      minV,
		TLSMax:      maxV,
		Pins:        o.pins,
		Destination: o.to,
		EndToEndTLS: o.e2e,
		FIPS:        o.fips,
		UserAgent:   connector.UserAgent(versionString()),
	}
	if cfg.Outbound, err = outboundSetting(s, o.outbound, ""); err != nil {
		s.errorf("connect: outbound proxy: %v", err)
		return cfg, exitUsage, false
	}
	if o.ca != "" {
		pool, err := loadCA(ctx, o.ca)
		if ctx.Err() != nil {
			s.errorf("connect: interrupted")
			return cfg, exitInterrupted, false
		}
		if err != nil {
			s.errorf("connect: --ca: %v", err)
			return cfg, exitUsage, false
		}
		cfg.RootCAs = pool
	}
	return cfg, 0, true
}

// loadCA reads a PEM bundle; it must hold at least one certificate.
func loadCA(ctx context.Context, path string) (*x509.CertPool, error) {
	data, err := readNamedFile(ctx, path, maxCABytes)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}

// readToken takes the token from the file, else TRUSTLAUNCH_TOKEN, else
// standard input when it is not a terminal. One trailing newline (LF or
// CRLF) is removed, as editors and echo add one.
func readToken(ctx context.Context, s *stdio, file string) (connector.Token, error) {
	var raw []byte
	switch {
	case file != "":
		var err error
		if raw, err = readNamedFile(ctx, file, maxTokenBytes); err != nil {
			return connector.Token{}, fmt.Errorf("token file: %w", err)
		}
	case s.getenv("TRUSTLAUNCH_TOKEN") != "":
		raw = []byte(s.getenv("TRUSTLAUNCH_TOKEN"))
	default:
		if f, ok := s.stdin.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				return connector.Token{}, errors.New("no token: standard input is a terminal (the token is not typed, so that it is never echoed)")
			}
		}
		if s.stdin == nil {
			return connector.Token{}, errors.New("no token given")
		}
		var err error
		raw, err = readInput(ctx, s.stdin, maxTokenBytes)
		if err != nil {
			return connector.Token{}, fmt.Errorf("reading the token from standard input: %w", err)
		}
	}
	if len(raw) > maxTokenBytes {
		return connector.Token{}, fmt.Errorf("the token is longer than %d KiB", maxTokenBytes>>10)
	}
	if b, ok := bytes.CutSuffix(raw, []byte("\r\n")); ok {
		raw = b
	} else if b, ok := bytes.CutSuffix(raw, []byte("\n")); ok {
		raw = b
	}
	if len(raw) == 0 {
		return connector.Token{}, errors.New("the token is empty")
	}
	return connector.NewToken(string(raw)), nil
}

// printConnectError prints a connector error and its hint.
func printConnectError(s *stdio, err error) {
	s.errorf("connect: %v", err)
	if h := hintOf(err); h != "" {
		s.hintf("%s", h)
	}
}
