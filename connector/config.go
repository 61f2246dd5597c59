package connector

import (
	"cmp"
	"crypto/fips140"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxyauth"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Transport is the tunnelling protocol spoken to the proxy.
type Transport string

// The transports.
const (
	TransportConnect   Transport = "connect"   // HTTP CONNECT over TLS with a bearer token
	TransportWebSocket Transport = "websocket" // WebSocket over TLS, token in the "token" query parameter (websockify)
)

// Defaults for the zero values of Config.
const (
	DefaultDialTimeout      = 10 * time.Second
	DefaultHandshakeTimeout = 15 * time.Second
	DefaultWebSocketQuiet   = 2 * time.Second
	DefaultWebSocketLinger  = 30 * time.Second
	// DefaultWebSocketPing is well under nginx's default
	// proxy_read_timeout (60 s), the shortest idle cut in front of
	// websockify we know of.
	DefaultWebSocketPing = 30 * time.Second
)

// Config describes one tunnel: which proxy, how to trust it, what to ask it
// for, and with which token. The zero value of each optional field is the
// safe default.
type Config struct {
	// ProxyAddr is the proxy's host:port. Required.
	ProxyAddr string
	// Transport is TransportConnect or TransportWebSocket. Required.
	Transport Transport
	// Path is the WebSocket request path, "/" when empty. WebSocket only.
	Path string
	// ServerName is sent as SNI and is the name the proxy's certificate must
	// carry; the host of ProxyAddr when empty.
	ServerName string
	// TLSMin and TLSMax are tls.VersionTLS12 or tls.VersionTLS13; zero means
	// 1.2 and 1.3. Anything older than 1.2 is an error.
	TLSMin, TLSMax uint16
	// RootCAs, when not nil, are the only roots trusted for the proxy (the
	// descriptor's ca_pem, the CLI's --ca); nil means the system roots.
	RootCAs *x509.CertPool
	// Pins are "sha256/BASE64" SHA-256 digests of a SubjectPublicKeyInfo; when
	// present, a certificate of the verified chain must match one. They add
	// to chain verification, never replace it.
	Pins []string
	// PolicyPins are the admin policy's pins for this proxy: when
	// present, a certificate of the verified chain must match one of them
	// as well as one of Pins, so a descriptor's own pins can narrow the
	// admin's but never widen them.
	PolicyPins []string
	// Destination is the host:port the proxy connects to. Required.
	Destination string
	// EndToEndTLS runs a second TLS session with Destination inside the
	// tunnel, so the proxy relays ciphertext only.
	EndToEndTLS bool
	// DestRootCAs, when not nil, are the only roots trusted for the
	// destination with EndToEndTLS; nil means the system roots.
	DestRootCAs *x509.CertPool
	// DestPins, with EndToEndTLS, are pins a certificate of the
	// destination's verified chain must match (the admin policy's).
	DestPins []string
	// Token is the session token. Required.
	Token Token
	// Secrets is the registry of every secret the run holds (the token,
	// the outbound proxy's credentials, a launch's ticket): every text the
	// connector builds from what a peer sent passes through its Scrub. New
	// adds Token and Outbound's credentials to it. Nil: a registry of the
	// Connector's own, with those two.
	Secrets *redact.Set

	// UserAgent is sent by both transports: UserAgent(VERSION); UserAgent("") when empty.
	UserAgent string
	// DialTimeout bounds DNS and TCP; DefaultDialTimeout when zero.
	DialTimeout time.Duration
	// HandshakeTimeout bounds TLS and the proxy's answer (and end-to-end
	// TLS); DefaultHandshakeTimeout when zero.
	HandshakeTimeout time.Duration
	// WebSocketQuiet and WebSocketLinger govern the close after local EOF on
	// the WebSocket transport (see the package documentation); zero means
	// DefaultWebSocketQuiet and DefaultWebSocketLinger.
	WebSocketQuiet, WebSocketLinger time.Duration
	// FIPS makes New fail unless Go's FIPS 140-3 module is enabled
	// (GODEBUG=fips140=on or a GOFIPS140 build). With the module enabled,
	// crypto/tls itself limits versions, groups and suites to approved ones.
	FIPS bool
	// AllowUncheckedPeers lets Serve accept a local connection whose owner
	// cannot be checked: on systems without a check (the BSDs), or from a
	// peer on another machine through a non-loopback listener. Without it
	// such connections are refused: a security check never turns into a
	// no-op silently.
	AllowUncheckedPeers bool
	// AdmitProcess, when not nil, narrows the same-user rule to chosen
	// processes (docs/design.md "Connector": during `open`, the emulator
	// and its descendants). Serve finds the process(es) holding the client
	// end of a local connection (Linux: the holders of the socket's inode;
	// Windows: the owner in the TCP table; macOS: the holder libproc finds
	// under ProcessRoots) and relays the connection only when at least one
	// was found and AdmitProcess returns nil for each (with ProcessRoots,
	// the Linux and macOS searches stop at the first holder in the roots'
	// tree: see socketHolders).
	// Its error is logged, wrapped in a *PeerProcessError. Nil: the
	// same-user rule only (`connect --listen`, the raw and none profiles).
	AdmitProcess func(pid int) error
	// ProcessRoots, when not nil, limits the Linux search for the holder of
	// a socket to these processes and their descendants (the emulator's
	// tree: a few processes), instead of every process of this user
	// (hundreds on a desktop, with thousands of descriptors to read at
	// each accept). It is used only with AdmitProcess, which still decides.
	// On macOS it is required with AdmitProcess: without it every
	// connection is refused.
	ProcessRoots func() []int
	// WebSocketPing is how often the WebSocket transport sends a ping, so
	// a proxy that cuts idle WebSocket connections (nginx's
	// proxy_read_timeout) sees traffic; DefaultWebSocketPing when zero.
	WebSocketPing time.Duration
	// Outbound is the outbound (egress) proxy setting: when it names a
	// proxy for ProxyAddr, the tunnel is opened through it (HTTP CONNECT,
	// then TLS to the proxy inside). Nil: direct. The CLI passes the
	// same setting as the descriptor fetch.
	Outbound *OutboundProxy
	// OutboundAuth is where the user's login is found when the
	// outbound proxy asks for a Negotiate sign-on (Kerberos credential
	// cache, SSPI): the zero value reads the process's environment.
	OutboundAuth proxyauth.Config
	// Resolver resolves the proxy's host name; net.DefaultResolver when nil.
	Resolver *net.Resolver
	// Logf, when not nil, receives one line per event of Serve (refused
	// peers, relay errors). It never receives the token.
	Logf func(format string, args ...any)
	// RefusalLogInterval is how often, at most, Logf gets a line about the
	// refused connections of one source (a user, or "owner unknown"): the
	// first refusal at once, then one count per interval while they go on,
	// and the rest when Serve returns. DefaultRefusalLogInterval (10 s)
	// when zero: open writes these lines on the terminal the emulator
	// draws on (see refusalLog).
	RefusalLogInterval time.Duration
	// OnTunnelDone, when not nil, is called when a tunnel relayed by Serve
	// ends, with the bytes sent to and received from the destination and
	// the error that ended it (nil for a clean close). The launcher totals
	// these for its audit log.
	OnTunnelDone func(sent, received int64, err error)
}

// ErrFIPSUnavailable is New's error for Config.FIPS without Go's FIPS 140-3
// module enabled.
var ErrFIPSUnavailable = errors.New("FIPS 140-3 mode was requested but Go's FIPS module is not enabled")

// Connector opens tunnels for one Config. It is safe for concurrent use.
type Connector struct {
	cfg       Config
	proxyHost string
	proxyPort string
	destHost  string
	path      string
	tlsConf   *tls.Config // for the proxy; one session cache per trust configuration
	destConf  *tls.Config // for the destination with EndToEndTLS, else nil
	gate      dialGate    // Serve's dials while the proxy is unreachable (serve.go)
	secrets   *redact.Set // Config.Secrets, or the Connector's own
}

// New validates cfg and returns a Connector. Errors name the offending field.
func New(cfg Config) (*Connector, error) {
	if cfg.FIPS && !fips140.Enabled() {
		return nil, ErrFIPSUnavailable
	}
	c := &Connector{cfg: cfg}
	if err := c.checkEndpoints(); err != nil {
		return nil, err
	}
	if err := validToken(cfg.Token); err != nil {
		return nil, err
	}
	c.secrets = cfg.Secrets
	if c.secrets == nil {
		c.secrets = &redact.Set{}
	}
	cfg.Token.AddTo(c.secrets)
	cfg.Outbound.AddTo(c.secrets)
	if err := checkDurations(cfg); err != nil {
		return nil, err
	}
	if err := c.buildTLS(); err != nil {
		return nil, err
	}
	c.cfg.fillDefaults()
	return c, nil
}

// checkEndpoints checks the proxy's address, the destination, the
// transport and its path, and keeps what the transports need of them.
func (c *Connector) checkEndpoints() error {
	var err error
	if c.proxyHost, c.proxyPort, err = splitHostPort("proxy address", c.cfg.ProxyAddr); err != nil {
		return err
	}
	if c.destHost, _, err = splitHostPort("destination", c.cfg.Destination); err != nil {
		return err
	}
	switch c.cfg.Transport {
	case TransportConnect:
		if c.cfg.Path != "" {
			return errors.New("path is for the websocket transport only")
		}
	case TransportWebSocket:
		if err := CheckPath(c.cfg.Path); err != nil {
			return fmt.Errorf("websocket path %s %w", safetext.QuoteExcerpt(c.cfg.Path, 120), err)
		}
		c.path = cmp.Or(c.cfg.Path, "/")
	case "":
		return errors.New("transport is missing (connect or websocket)")
	default:
		return fmt.Errorf("unknown transport %s (want connect or websocket)", safetext.Quote(string(c.cfg.Transport)))
	}
	return nil
}

// checkDurations refuses a negative duration; zero means the default.
func checkDurations(cfg Config) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"dial timeout", cfg.DialTimeout}, {"handshake timeout", cfg.HandshakeTimeout}, {"websocket quiet period", cfg.WebSocketQuiet}, {"websocket linger", cfg.WebSocketLinger}, {"refusal log interval", cfg.RefusalLogInterval}, {"websocket ping interval", cfg.WebSocketPing}} {
		if d.v < 0 {
			return fmt.Errorf("%s %v is negative", d.name, d.v)
		}
	}
	return nil
}

// buildTLS checks the TLS settings (versions, pins, server name, the
// destination's roots and pins) and builds the tls.Configs for the proxy
// and, with EndToEndTLS, for the destination.
func (c *Connector) buildTLS() error {
	cfg := &c.cfg
	minV, maxV, err := TLSVersions(cfg.TLSMin, cfg.TLSMax)
	if err != nil {
		return err
	}
	pins, err := parsePins(cfg.Pins)
	if err != nil {
		return err
	}
	serverName := cfg.ServerName
	if serverName == "" {
		serverName = c.proxyHost
	} else if err := validHost("server name", serverName); err != nil {
		return err
	}
	policyPins, err := parsePins(cfg.PolicyPins)
	if err != nil {
		return fmt.Errorf("policy %w", err)
	}
	destPins, err := parsePins(cfg.DestPins)
	if err != nil {
		return fmt.Errorf("destination %w", err)
	}
	if !cfg.EndToEndTLS && (cfg.DestRootCAs != nil || len(destPins) > 0) {
		return errors.New("destination roots or pins given without end-to-end TLS")
	}
	c.tlsConf = &tls.Config{
		ServerName:         serverName,
		RootCAs:            cfg.RootCAs,
		MinVersion:         minV,
		MaxVersion:         maxV,
		CurvePreferences:   curvePreferences(),
		ClientSessionCache: tls.NewLRUClientSessionCache(16),
		VerifyConnection:   allPins(pins, policyPins),
	}
	if cfg.EndToEndTLS {
		c.destConf = &tls.Config{
			ServerName:         c.destHost,
			RootCAs:            cfg.DestRootCAs,
			MinVersion:         tls.VersionTLS12,
			CurvePreferences:   curvePreferences(),
			ClientSessionCache: tls.NewLRUClientSessionCache(16),
			VerifyConnection:   allPins(destPins),
		}
	}
	return nil
}

// fillDefaults gives the zero durations and the nil resolver their
// defaults.
func (cfg *Config) fillDefaults() {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.DialTimeout, DefaultDialTimeout},
		{&cfg.HandshakeTimeout, DefaultHandshakeTimeout},
		{&cfg.WebSocketQuiet, DefaultWebSocketQuiet},
		{&cfg.WebSocketLinger, DefaultWebSocketLinger},
		{&cfg.WebSocketPing, DefaultWebSocketPing},
		{&cfg.RefusalLogInterval, DefaultRefusalLogInterval},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
}

// curvePreferences is the set of key exchanges offered; see the package
// documentation ("Key exchange") for why X25519MLKEM768 is left out. Go
// orders the set itself; the first member, SecP256r1MLKEM768, gets a key
// share along with its classical fallback P-256.
func curvePreferences() []tls.CurveID {
	return []tls.CurveID{tls.SecP256r1MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}
}

// The TLS versions trustlaunch speaks to a proxy (docs/design.md "Connector"):
// 1.2 and 1.3, which are also the defaults of Config's TLSMin and TLSMax.
const (
	MinTLSVersion = tls.VersionTLS12
	MaxTLSVersion = tls.VersionTLS13
)

// ParseTLSVersion parses "1.2" or "1.3", the spelling of the descriptor
// and of the CLI, into a tls.Version constant; FormatTLSVersion is its
// inverse. Older versions are refused with their own message, since
// asking for one is a configuration to fix, not a typo. The error names
// no field or flag: the caller adds its own.
func ParseTLSVersion(s string) (uint16, error) {
	switch s {
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	case "1.0", "1.1":
		return 0, fmt.Errorf("TLS %s is older than 1.2, the oldest version trustlaunch allows; use 1.2 or 1.3", s)
	}
	return 0, fmt.Errorf("%s is not allowed; use 1.2 or 1.3", safetext.QuoteExcerpt(s, 40))
}

// FormatTLSVersion spells a tls.Version constant as ParseTLSVersion reads
// it ("1.2", "1.3"), and any other as crypto/tls names it.
func FormatTLSVersion(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return tls.VersionName(v)
}

// TLSVersions checks a minimum and a maximum TLS version, zero meaning
// MinTLSVersion and MaxTLSVersion, and returns them with the zeros filled
// in: each must be 1.2 or 1.3, and the minimum not above the maximum. New
// and the descriptor apply it.
func TLSVersions(minV, maxV uint16) (uint16, uint16, error) {
	if minV == 0 {
		minV = MinTLSVersion
	}
	if maxV == 0 {
		maxV = MaxTLSVersion
	}
	for _, v := range []uint16{minV, maxV} {
		if v != tls.VersionTLS12 && v != tls.VersionTLS13 {
			return 0, 0, fmt.Errorf("%s is not allowed; use TLS 1.2 or 1.3", tls.VersionName(v))
		}
	}
	if minV > maxV {
		return 0, 0, fmt.Errorf("minimum TLS version %s is above the maximum %s", FormatTLSVersion(minV), FormatTLSVersion(maxV))
	}
	return minV, maxV, nil
}

// splitHostPort checks a host:port from a descriptor or the command line.
func splitHostPort(what, addr string) (host, port string, err error) {
	if addr == "" {
		return "", "", fmt.Errorf("%s is missing (want host:port)", what)
	}
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("%s %s: want host:port", what, safetext.Quote(addr))
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", "", fmt.Errorf("%s %s: invalid port %s", what, safetext.Quote(addr), safetext.Quote(port))
	}
	if err := validHost(what, host); err != nil {
		return "", "", err
	}
	return host, port, nil
}

// validHost refuses what could change an HTTP request line or a URL:
// empty names, controls, spaces, non-ASCII, URL delimiters and IPv6 zones.
// Names are otherwise left to DNS and to the proxy's policy. It is the
// floor for every host a Config or the outbound proxy setting names; a
// descriptor's hosts pass a stricter rule first, the admin policy's
// (see checkHost in package descriptor for why there are two).
func validHost(what, host string) error {
	if host == "" {
		return fmt.Errorf("%s has an empty host", what)
	}
	if strings.Contains(host, ":") {
		if a, err := netip.ParseAddr(host); err != nil || a.Zone() != "" {
			return fmt.Errorf("%s host %s is not a valid IPv6 address", what, safetext.Quote(host))
		}
		return nil
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`/?#@%\[]"'<>`, c) >= 0 {
			return fmt.Errorf("%s host %s has a character not allowed in a host name", what, safetext.Quote(host))
		}
	}
	return nil
}

// CheckPath checks a WebSocket request path; "" stands for "/". It must
// start with "/" and hold only visible ASCII other than "?", "#", "%" and
// "\": the path goes into the request line through url.URL, which would
// percent-encode the first three rather than send them as written, and
// servers disagree on whether "\" is a "/". So the path the proxy sees is
// the one the descriptor or the command line wrote. The error names no
// field and shows no value: the caller adds both.
func CheckPath(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return errors.New("must start with /")
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`?#%\`, c) >= 0 {
			return errors.New(`has a character that is not allowed (controls, spaces, non-ASCII, ?, #, %, \)`)
		}
	}
	return nil
}

// PinPrefix starts every SPKI pin.
const PinPrefix = "sha256/"

// SPKIPin returns the pin of a certificate's public key:
// "sha256/" + base64(SHA-256(SubjectPublicKeyInfo)), the form of HPKP
// (RFC 7469) and of the descriptor's "pins".
func SPKIPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return PinPrefix + base64.StdEncoding.EncodeToString(sum[:])
}

// ParsePin checks one SPKI pin, PinPrefix and the standard base64 of a
// SHA-256 digest, and returns it in canonical form. It is the one pin
// rule: New applies it to every pin of a Config, the descriptor to its
// proxy.pins, the admin policy to its own. The error names neither the
// field nor the value, which each caller adds as suits it: the descriptor
// and the policy quote the value, since it came from a server or a file
// where seeing it helps; New names the pin by its position, since a value
// mis-pasted on a command line could be a secret.
func ParsePin(pin string) (string, error) {
	b64, ok := strings.CutPrefix(pin, PinPrefix)
	if !ok {
		return "", errors.New("does not start with " + PinPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return "", errors.New("is not " + PinPrefix + " and the base64 of a 32-byte SHA-256 digest")
	}
	return PinPrefix + base64.StdEncoding.EncodeToString(raw), nil
}

func parsePins(pins []string) (map[string]bool, error) {
	set := make(map[string]bool, len(pins))
	for i, p := range pins {
		pin, err := ParsePin(p)
		if err != nil {
			return nil, fmt.Errorf("pin %d of %d %w", i+1, len(pins), err)
		}
		set[pin] = true
	}
	return set, nil
}

// PinError is the error of a verified chain that matches no pin.
type PinError struct {
	Got string // the pin of the proxy's leaf certificate
}

func (e *PinError) Error() string {
	return "certificate public key matches no pin (the proxy's key is " + e.Got + ")"
}

// allPins returns a VerifyConnection that requires a match in each
// non-empty pin set, or nil when every set is empty.
func allPins(sets ...map[string]bool) func(tls.ConnectionState) error {
	var checks []func(tls.ConnectionState) error
	for _, s := range sets {
		if len(s) > 0 {
			checks = append(checks, verifyPins(s))
		}
	}
	if len(checks) == 0 {
		return nil
	}
	return func(cs tls.ConnectionState) error {
		for _, check := range checks {
			if err := check(cs); err != nil {
				return err
			}
		}
		return nil
	}
}

// verifyPins returns a tls.Config.VerifyConnection that checks the pins
// against every certificate of every verified chain. VerifyConnection runs
// after chain verification, on full handshakes and on resumptions alike,
// unlike VerifyPeerCertificate (RFC 7469 section 2.6 semantics: any key of
// the validated chain may be pinned).
func verifyPins(pins map[string]bool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		for _, chain := range cs.VerifiedChains {
			for _, cert := range chain {
				if pins[SPKIPin(cert)] {
					return nil
				}
			}
		}
		got := "unknown"
		if len(cs.PeerCertificates) > 0 {
			got = SPKIPin(cs.PeerCertificates[0])
		}
		return &PinError{Got: got}
	}
}
