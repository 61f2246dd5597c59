package descriptor

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/plural"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Version is the only descriptor version this build reads.
const Version = 1

// MaxSessionRunes bounds the session, a display name (docs/descriptor.md
// "The object"). The token's bound is connector.MaxTokenBytes, which
// the connector applies too.
const MaxSessionRunes = 200

// Descriptor is a decoded and validated launch descriptor, version 1. Only
// Decode makes one that has passed every check; its fields are the
// JSON of docs/descriptor.md "The object", with TLSMin and TLSMax filled in
// with their defaults.
//
// A Descriptor never prints its token: String, every fmt verb and
// MarshalJSON show "[redacted]" or leave it out, because Token is a
// connector.Token.
type Descriptor struct {
	Version     int             `json:"version"`
	Session     string          `json:"session"` // display only; show it through safetext
	Profile     string          `json:"profile"` // a local profile name, never a command
	Proxy       Proxy           `json:"proxy"`
	Destination Destination     `json:"destination"`
	Token       connector.Token `json:"token"`
	// IssuedAt and Expires are the optional iat and exp, NumericDate
	// seconds (required in a signed descriptor); 0 when absent.
	IssuedAt int64 `json:"iat,omitempty"`
	Expires  int64 `json:"exp,omitempty"`
	// MinVersion is the optional min_version: the oldest trustlaunch that
	// may run this descriptor, MAJOR.MINOR.PATCH with an optional "v"; ""
	// when absent. See checkMinVersion.
	MinVersion string `json:"min_version,omitempty"`

	// Publisher is the name, in the admin policy, of the publisher whose
	// key signed the descriptor, and PublisherKeyID that key's kid; both
	// empty for an unsigned descriptor. Only VerifySigned sets them: they
	// are never read from the descriptor's JSON.
	Publisher      string `json:"-"`
	PublisherKeyID string `json:"-"`

	// tls holds the proxy's TLS settings as Decode parsed them, so that
	// ConnectorConfig has nothing left to parse or check; nil in a
	// Descriptor that Decode did not make.
	tls *proxyTLS
}

// proxyTLS is the parsed form of the proxy's tls_min, tls_max and ca_pem.
type proxyTLS struct {
	min, max uint16
	roots    []*x509.Certificate // ca_pem's certificates; nil without ca_pem
}

// Proxy is the descriptor's "proxy" object.
type Proxy struct {
	Address    string   `json:"address"`               // host:port
	Transport  string   `json:"transport"`             // "connect" or "websocket"
	Path       string   `json:"path,omitempty"`        // websocket only
	ServerName string   `json:"server_name,omitempty"` // SNI and certificate name; the address's host when empty
	TLSMin     string   `json:"tls_min,omitempty"`     // "1.2" or "1.3" (connector.ParseTLSVersion); "1.2" after decoding when absent
	TLSMax     string   `json:"tls_max,omitempty"`     // "1.2" or "1.3"; "1.3" after decoding when absent
	CAPEM      string   `json:"ca_pem,omitempty"`      // when present, the only roots trusted for the proxy
	Pins       []string `json:"pins,omitempty"`        // "sha256/<base64 of the SPKI SHA-256>"
}

// Destination is the descriptor's "destination" object.
type Destination struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	TLS  bool   `json:"tls"` // end-to-end TLS to the host inside the tunnel
}

// descriptorWire is what the JSON decodes into before validation. It holds
// the token as a plain string only for as long as validation needs to look
// at it; Decode moves it into a connector.Token and drops this.
type descriptorWire struct {
	Version     int         `json:"version"`
	Session     string      `json:"session"`
	Profile     string      `json:"profile"`
	Proxy       Proxy       `json:"proxy"`
	Destination Destination `json:"destination"`
	Token       string      `json:"token"`
	IssuedAt    *int64      `json:"iat"`
	Exp         *int64      `json:"exp"`
	MinVersion  *string     `json:"min_version"`

	tls *proxyTLS // what validate parsed from Proxy
}

// Error is a descriptor that could not be decoded or failed a
// check. Step is StepDecode (not JSON, an unknown or repeated
// field, a value of the wrong type, data after the object) or
// StepValidate (a field with a value that is not allowed). Field
// is the dotted JSON path of the field at fault ("proxy.tls_min",
// "proxy.pins[1]"), empty when the fault is not in one field; for an
// unknown field it is the name the server sent, raw, so sanitize it before
// display. The message is sanitized and never contains the token.
type Error struct {
	Step  string
	Field string
	msg   string
}

// Error returns "descriptor: " and the reason, which names the field.
func (e *Error) Error() string { return "descriptor: " + e.msg }

func decodeErr(field, format string, args ...any) error {
	return &Error{Step: StepDecode, Field: field, msg: fmt.Sprintf(format, args...)}
}

func fieldErr(field, format string, args ...any) error {
	return &Error{Step: StepValidate, Field: field, msg: field + ": " + fmt.Sprintf(format, args...)}
}

// Decode decodes and validates a version 1 descriptor.
//
// Decoding is strict, because a launcher that guesses what a server meant
// is one an attacker can steer: the input must be exactly one JSON object;
// a field this version does not define is an error naming it (encoding/json
// would match "Token" to "token" case-insensitively; here names must match
// exactly), as is a field given twice (parsers disagree on which copy
// wins); and every value must have its documented type and pass its check.
// Errors are *Error.
func Decode(data []byte) (*Descriptor, error) {
	if err := checkFields(data); err != nil {
		return nil, err
	}
	var w descriptorWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // checkFields has already refused them; this is the second lock
	if err := dec.Decode(&w); err != nil {
		return nil, jsonErr(err)
	}
	if err := w.validate(); err != nil {
		return nil, err
	}
	d := &Descriptor{
		Version:     w.Version,
		Session:     w.Session,
		Profile:     w.Profile,
		Proxy:       w.Proxy,
		Destination: w.Destination,
		Token:       connector.NewToken(w.Token),
		tls:         w.tls,
	}
	if w.IssuedAt != nil {
		d.IssuedAt = *w.IssuedAt
	}
	if w.Exp != nil {
		d.Expires = *w.Exp
	}
	if w.MinVersion != nil {
		d.MinVersion = *w.MinVersion
	}
	// One spelling of each host from here on, the one the admin policy
	// decides on (whitelist.ParseOrigin's), so that the proxy is given
	// exactly the host that was checked.
	d.Proxy.Address = canonicalHostPort(d.Proxy.Address)
	d.Destination.Host = canonicalHost(d.Destination.Host)
	// The versions as parsed, defaults filled in, for String and the
	// JSON to show.
	d.Proxy.TLSMin = connector.FormatTLSVersion(d.tls.min)
	d.Proxy.TLSMax = connector.FormatTLSVersion(d.tls.max)
	if len(d.Proxy.Pins) == 0 {
		d.Proxy.Pins = nil // "pins": [] and no pins are the same thing
	}
	return d, nil
}

// ConnectorConfig returns the connector settings the descriptor asks for:
// proxy, transport, TLS versions, roots from ca_pem, pins, destination,
// end-to-end TLS and the token. The caller adds timeouts, FIPS and logging.
//
// It cannot fail: Decode parsed and checked every setting, and
// connector.New accepts whatever Decode does (FuzzDecodeDescriptor). A
// Descriptor that Decode did not make has had nothing checked: its
// configuration trusts no root at all, so it opens no tunnel.
func (d *Descriptor) ConnectorConfig() connector.Config {
	cfg := connector.Config{
		ProxyAddr:   d.Proxy.Address,
		Transport:   connector.Transport(d.Proxy.Transport),
		Path:        d.Proxy.Path,
		ServerName:  d.Proxy.ServerName,
		Pins:        slices.Clone(d.Proxy.Pins),
		Destination: net.JoinHostPort(d.Destination.Host, strconv.Itoa(d.Destination.Port)),
		EndToEndTLS: d.Destination.TLS,
		Token:       d.Token,
	}
	if d.tls == nil {
		cfg.RootCAs = x509.NewCertPool() // fail closed
		return cfg
	}
	cfg.TLSMin, cfg.TLSMax = d.tls.min, d.tls.max
	if d.tls.roots != nil {
		cfg.RootCAs = x509.NewCertPool()
		for _, c := range d.tls.roots {
			cfg.RootCAs.AddCert(c)
		}
	}
	return cfg
}

// String describes the descriptor on one line for messages and logs, with
// network text sanitized and without the token.
func (d Descriptor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "session %s, profile %s, proxy %s (%s", safetext.Quote(d.Session), safetext.Quote(d.Profile),
		safetext.Quote(d.Proxy.Address), safetext.Sanitize(d.Proxy.Transport))
	if d.Proxy.Path != "" {
		fmt.Fprintf(&b, " %s", safetext.Quote(d.Proxy.Path))
	}
	fmt.Fprintf(&b, ", TLS %s-%s", safetext.Sanitize(d.Proxy.TLSMin), safetext.Sanitize(d.Proxy.TLSMax))
	if d.Proxy.CAPEM != "" {
		b.WriteString(", private CA")
	}
	if n := len(d.Proxy.Pins); n > 0 {
		b.WriteString(", " + plural.Count(n, "pin", "pins"))
	}
	fmt.Fprintf(&b, "), destination %s", safetext.Quote(net.JoinHostPort(d.Destination.Host, strconv.Itoa(d.Destination.Port))))
	if d.Destination.TLS {
		b.WriteString(" (end-to-end TLS)")
	}
	if d.Publisher != "" {
		fmt.Fprintf(&b, ", signed by %s", safetext.Quote(d.Publisher))
	}
	b.WriteString(", token [redacted]")
	return b.String()
}

// GoString is String for %#v.
func (d Descriptor) GoString() string { return "descriptor.Descriptor{" + d.String() + "}" }

// Format writes String (GoString for %#v) whatever the verb, so no verb or
// flag can reach the fields by reflection.
func (d Descriptor) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, d.GoString())
		return
	}
	_, _ = io.WriteString(f, d.String())
}

// profileNameRE is the shape of a profile name, in descriptors and in
// profiles.toml: it can never be a path.
var profileNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// checkProfileName validates the descriptor's profile name.
func checkProfileName(field, name string) error {
	if name == "" {
		return fieldErr(field, "missing")
	}
	if problem := ProfileNameProblem(name); problem != "" {
		return fieldErr(field, "%s", problem)
	}
	return nil
}

// ProfileNameProblem says what is wrong with a profile name, or returns "".
// Descriptors and profiles.toml share it.
func ProfileNameProblem(name string) string {
	switch {
	case strings.ContainsAny(name, `/\`):
		return safetext.QuoteExcerpt(name, 80) + " contains a path separator; a profile is a name defined on this machine, not a path"
	case strings.Contains(name, ".."):
		return safetext.QuoteExcerpt(name, 80) + ` contains ".."; a profile is a name defined on this machine, not a path`
	case !profileNameRE.MatchString(name):
		return safetext.QuoteExcerpt(name, 80) + " is not a profile name (1 to 64 of a-z 0-9 . _ -, starting with a letter or digit)"
	}
	return ""
}

// validate checks every field, in the order docs/descriptor.md "The object"
// lists them (the optional v1 fields before the token), and returns the
// first problem. It keeps what it parsed of the proxy's TLS settings in
// w.tls.
func (w *descriptorWire) validate() error {
	if w.Version == 0 {
		return fieldErr("version", "missing; this trustlaunch reads version %d", Version)
	}
	if w.Version != Version {
		return fieldErr("version", "%d is not supported; this trustlaunch reads version %d (a newer trustlaunch may read it)", w.Version, Version)
	}
	if w.Session == "" {
		return fieldErr("session", "missing")
	}
	if n := utf8.RuneCountInString(w.Session); n > MaxSessionRunes {
		return fieldErr("session", "%d characters long, more than %d", n, MaxSessionRunes)
	}
	if err := checkProfileName("profile", w.Profile); err != nil {
		return err
	}
	var err error
	if w.tls, err = w.Proxy.validate(); err != nil {
		return err
	}
	if err := w.Destination.validate(); err != nil {
		return err
	}
	if err := checkTimes(w.IssuedAt, w.Exp); err != nil {
		return err
	}
	if w.MinVersion != nil {
		if err := checkMinVersionField(*w.MinVersion); err != nil {
			return err
		}
	}
	return checkToken(w.Token)
}

// MaxLifetime is the most exp may be after iat
// (docs/descriptor.md "Signed descriptors"): a signed descriptor is a bearer of trust,
// so it must not outlive the single-use ticket it was fetched with by much.
const MaxLifetime = 300

// checkTimes checks the shape of iat and exp: positive NumericDates, exp
// after iat by at most MaxLifetime seconds. Whether they hold now
// is checkValidity's question.
func checkTimes(iat, exp *int64) error {
	if iat != nil && *iat <= 0 {
		return fieldErr("iat", "%d is not a NumericDate (seconds since 1970)", *iat)
	}
	if exp != nil && *exp <= 0 {
		return fieldErr("exp", "%d is not a NumericDate (seconds since 1970)", *exp)
	}
	if iat != nil && exp != nil {
		switch d := *exp - *iat; {
		case d <= 0:
			return fieldErr("exp", "%d is not after iat %d", *exp, *iat)
		case d > MaxLifetime:
			return fieldErr("exp", "is %d s after iat, more than %d s", d, MaxLifetime)
		}
	}
	return nil
}

// validate checks the proxy object and returns its TLS settings parsed.
func (p *Proxy) validate() (*proxyTLS, error) {
	if err := checkHostPort("proxy.address", p.Address); err != nil {
		return nil, err
	}
	switch p.Transport {
	case string(connector.TransportConnect):
		if p.Path != "" {
			return nil, fieldErr("proxy.path", "is for the websocket transport only; leave it out with connect")
		}
	case string(connector.TransportWebSocket):
		if err := checkPath(p.Path); err != nil {
			return nil, err
		}
	case "":
		return nil, fieldErr("proxy.transport", "missing (connect or websocket)")
	default:
		return nil, fieldErr("proxy.transport", "%s is not a transport; use connect or websocket", safetext.QuoteExcerpt(p.Transport, 40))
	}
	if p.ServerName != "" {
		if err := checkHost("proxy.server_name", p.ServerName); err != nil {
			return nil, err
		}
	}
	t, err := p.parseTLS()
	if err != nil {
		return nil, err
	}
	for i, pin := range p.Pins {
		if err := checkPin(i, pin); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// parseTLS parses tls_min and tls_max (connector.TLSVersions' rule, which
// gives the defaults where they are absent) and ca_pem.
func (p *Proxy) parseTLS() (*proxyTLS, error) {
	minV, err := parseTLSVersion("proxy.tls_min", p.TLSMin)
	if err != nil {
		return nil, err
	}
	maxV, err := parseTLSVersion("proxy.tls_max", p.TLSMax)
	if err != nil {
		return nil, err
	}
	var t proxyTLS
	if t.min, t.max, err = connector.TLSVersions(minV, maxV); err != nil {
		return nil, fieldErr("proxy.tls_min", "%v", err)
	}
	if p.CAPEM != "" {
		if t.roots, err = parseCAPEM(p.CAPEM); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

func (d *Destination) validate() error {
	if err := checkHost("destination.host", d.Host); err != nil {
		return err
	}
	switch {
	case d.Port == 0:
		return fieldErr("destination.port", "missing")
	case d.Port < 1 || d.Port > 65535:
		return fieldErr("destination.port", "%d is not a port (1-65535)", d.Port)
	}
	return nil
}

// parseTLSVersion is connector.ParseTLSVersion for the descriptor's field;
// an absent value is 0, the default.
func parseTLSVersion(field, v string) (uint16, error) {
	if v == "" {
		return 0, nil
	}
	n, err := connector.ParseTLSVersion(v)
	if err != nil {
		return 0, fieldErr(field, "%v", err)
	}
	return n, nil
}

// checkHostPort checks "host:port" with a port of 1-65535 in canonical
// decimal and a host that checkHost accepts. IPv6 goes in brackets.
func checkHostPort(field, addr string) error {
	if addr == "" {
		return fieldErr(field, "missing (want host:port)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fieldErr(field, "%s is not host:port (IPv6 goes in brackets: [2001:db8::1]:8443)", safetext.QuoteExcerpt(addr, 120))
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || strconv.FormatUint(n, 10) != port {
		return fieldErr(field, "%s has an invalid port %s (1-65535)", safetext.QuoteExcerpt(addr, 120), safetext.Quote(port))
	}
	return checkHost(field, host)
}

// checkHost accepts an IP address (IPv6 without brackets or zone) or an
// ASCII host name: labels of letters, digits, "-" and "_", at most 63
// bytes each and 253 in all, with at most one trailing dot. A name whose
// last label is a number must be a dotted-quad IPv4 address, as in the
// whitelist's host pipeline: "0x7f.1" and "2130706433" mean 127.0.0.1 to
// some resolvers and nothing to others; and without a trailing dot.
//
// There are two host rules, on purpose, and this is the strict one. The
// connector's (connector.New) is the floor that every tunnel's hosts pass,
// whoever gave them: nothing that could change the request line, the
// Host header, the WebSocket URL or the SNI; names are left to the
// resolver. That is enough for `trustlaunch connect`, whose hosts the
// local user types as for ssh or curl, and for the outbound proxy
// setting. A descriptor's hosts come from the network, and the admin
// policy decides on them (whitelist.ParseOrigin's spelling), so each must
// mean one thing to the policy and to the proxy's resolver: a spelling
// that resolvers read differently, a trailing dot after an IPv4 address,
// an over-long or empty label, a character outside letters, digits, "-"
// and "_", or a port with a leading zero (checkHostPort) is refused here,
// though the connector would take it. Every host this rule accepts passes
// the connector's (FuzzDecodeDescriptor); TestHostRules pins the
// difference.
func checkHost(field, host string) error {
	if host == "" {
		return fieldErr(field, "missing")
	}
	q := safetext.QuoteExcerpt(host, 120)
	if strings.Contains(host, "://") {
		return fieldErr(field, "%s looks like a URL; give the host name only", q)
	}
	if strings.HasPrefix(host, "[") {
		return fieldErr(field, "%s: give an IPv6 address without brackets", q)
	}
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		switch {
		case err != nil:
			return fieldErr(field, "%s is not a host name or IP address (a port goes in its own field)", q)
		case a.Zone() != "":
			return fieldErr(field, "%s has an IPv6 zone, which is not allowed", q)
		}
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	if len(name) == 0 || len(name) > 253 {
		return fieldErr(field, "%s is not a host name (1 to 253 characters)", q)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return fieldErr(field, "%s is not a host name (empty or over-long label)", q)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				if c >= 0x80 {
					return fieldErr(field, "%s is not an ASCII host name; use its punycode (xn--) form", q)
				}
				return fieldErr(field, "%s has a character not allowed in a host name", q)
			}
		}
	}
	if last := labels[len(labels)-1]; last[0] >= '0' && last[0] <= '9' {
		if _, err := strconv.ParseUint(last, 10, 64); err == nil || strings.HasPrefix(last, "0x") || strings.HasPrefix(last, "0X") {
			if a, err := netip.ParseAddr(name); err != nil || !a.Is4() {
				return fieldErr(field, "%s is not a dotted-quad IPv4 address or a host name", q)
			}
			if name != host {
				// "10.1.2.3." is a DNS name to a resolver that reads
				// it as one, and the address 10.1.2.3 to the policy.
				return fieldErr(field, "%s is an IPv4 address with a trailing dot, which a proxy may look up as a DNS name; leave the dot out", q)
			}
		}
	}
	return nil
}

// canonicalHost returns the spelling of a host that checkHost accepted
// which the admin policy compares (whitelist.ParseOrigin's host, without
// the brackets of IPv6): a name in lower case without its trailing dot, an
// IP address as netip writes it (IPv6 compressed, in lower case, RFC 5952).
func canonicalHost(host string) string {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.String()
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// canonicalHostPort is canonicalHost for a host:port that checkHostPort
// accepted.
func canonicalHostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // not reached: checkHostPort split it
	}
	return net.JoinHostPort(canonicalHost(host), port)
}

// checkPath is connector.CheckPath, the one WebSocket path rule, for the
// descriptor's proxy.path.
func checkPath(p string) error {
	if err := connector.CheckPath(p); err != nil {
		return fieldErr("proxy.path", "%s %v", safetext.QuoteExcerpt(p, 120), err)
	}
	return nil
}

// parseCAPEM is ParseCAPEM for the descriptor's proxy.ca_pem.
func parseCAPEM(s string) ([]*x509.Certificate, error) {
	certs, err := ParseCAPEM(s)
	if err != nil {
		return nil, fieldErr("proxy.ca_pem", "%s", err)
	}
	return certs, nil
}

// ParseCAPEM returns the certificates of a ca_pem value: one or more PEM
// CERTIFICATE blocks and nothing else. A private key or stray text in the
// field is refused rather than skipped: it means the server is
// misconfigured, and a bundle that parses partly trusts less than intended.
// The descriptor, the admin CA bundle and the admin policy's destinations
// share it; the error is sanitized and names no field, which the caller
// adds.
func ParseCAPEM(s string) ([]*x509.Certificate, error) {
	rest := []byte(s)
	var certs []*x509.Certificate
	for {
		// pem.Decode skips any text before a block: refuse it instead.
		if i := bytes.Index(rest, []byte("-----BEGIN")); i > 0 && len(bytes.TrimSpace(rest[:i])) > 0 {
			return nil, fmt.Errorf("has text before certificate %d that is not a PEM certificate", len(certs)+1)
		}
		block, r := pem.Decode(rest)
		if block == nil {
			break
		}
		n := len(certs) + 1
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %s, want CERTIFICATE", n, safetext.QuoteExcerpt(block.Type, 40))
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %s", n, safetext.Excerpt(err.Error(), 120))
		}
		certs = append(certs, c)
		rest = r
	}
	if len(certs) == 0 {
		return nil, errors.New("holds no PEM certificate")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("has text after certificate %d that is not a PEM certificate", len(certs))
	}
	return certs, nil
}

// checkPin is connector.ParsePin, the one pin rule, for the descriptor's
// proxy.pins[i].
func checkPin(i int, pin string) error {
	if _, err := connector.ParsePin(pin); err != nil {
		return fieldErr(fmt.Sprintf("proxy.pins[%d]", i), "%s %v", safetext.QuoteExcerpt(pin, 80), err)
	}
	return nil
}

// checkToken is connector.CheckToken, the one token rule, for the
// descriptor's token field. The error never shows the token.
func checkToken(t string) error {
	if err := connector.CheckToken(t); err != nil {
		return fieldErr("token", "%v", err)
	}
	return nil
}

// schema is the set of fields an object may hold; a nil *schema is a leaf.
type schema struct {
	fields map[string]*schema
}

// wireSchema is derived from descriptorWire's json tags, so the field list
// exists in one place.
var wireSchema = schemaOf(reflect.TypeFor[descriptorWire]())

func schemaOf(t reflect.Type) *schema {
	if t.Kind() != reflect.Struct {
		return nil
	}
	s := &schema{fields: map[string]*schema{}}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		s.fields[name] = schemaOf(f.Type)
	}
	return s
}

// checkFields walks the JSON tokens once, before the values are decoded:
// the input must be one object, with no field that wireSchema lacks
// (compared exactly, not case-insensitively as encoding/json does), no
// field given twice, and nothing after the object. It leaves type checks
// to the decoder, which names the field too.
func checkFields(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return decodeErr("", "empty; want a JSON object")
		}
		return jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return decodeErr("", "not a JSON object")
	}
	if err := walkObject(dec, "", wireSchema); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return decodeErr("", "data after the JSON object")
	}
	return nil
}

func walkObject(dec *json.Decoder, prefix string, s *schema) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		key, _ := tok.(string)
		path := key
		if prefix != "" {
			path = prefix + "." + key
		}
		sub, known := s.fields[key]
		if !known {
			return decodeErr(path, "unknown field %s", safetext.QuoteExcerpt(path, 80))
		}
		if seen[key] {
			return decodeErr(path, "field %s given more than once", safetext.Quote(path))
		}
		seen[key] = true
		if err := walkValue(dec, path, sub); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return jsonErr(err)
	}
	return nil
}

// walkValue consumes one value. An object where the schema has one is
// walked; anything else is skipped, and a wrong type is left for the
// decoder to report.
func walkValue(dec *json.Decoder, path string, s *schema) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if d == '{' && s != nil {
		return walkObject(dec, path, s)
	}
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// jsonErr turns an encoding/json error into a *Error that names
// the field for a type mismatch and the byte offset for a syntax error.
func jsonErr(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return decodeErr(te.Field, "%s: want %s, got %s", safetext.Sanitize(te.Field), jsonKind(te.Type), safetext.Excerpt(te.Value, 40))
	case errors.As(err, &te):
		return decodeErr("", "want %s, got %s", jsonKind(te.Type), safetext.Excerpt(te.Value, 40))
	case errors.As(err, &se):
		return decodeErr("", "not valid JSON at byte %d: %s", se.Offset, safetext.Excerpt(se.Error(), 120))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return decodeErr("", "not valid JSON: unexpected end of input")
	}
	return decodeErr("", "not valid JSON: %s", safetext.Excerpt(err.Error(), 120))
}

// jsonKind names the JSON type a Go type wants.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint16:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}
