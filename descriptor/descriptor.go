package descriptor

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
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
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// Version is the only descriptor version this build reads.
const Version = 1

// Limits on descriptor fields (DESIGN.md "Launch URL and descriptor").
const (
	MaxSessionRunes = 200                   // session is a display name
	MaxTokenBytes   = sessiontoken.MaxBytes // what fits an HTTP header on common proxies; the proxy's check has the same bound
)

// TLS versions as the descriptor spells them, and the defaults.
const (
	TLSVersion12 = "1.2"
	TLSVersion13 = "1.3"
)

// Descriptor is a decoded and validated launch descriptor, version 1. Only
// Decode makes one that has passed every check; its fields are the
// JSON of DESIGN.md, with TLSMin and TLSMax filled in with their defaults.
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
}

// Proxy is the descriptor's "proxy" object.
type Proxy struct {
	Address    string   `json:"address"`               // host:port
	Transport  string   `json:"transport"`             // "connect" or "websocket"
	Path       string   `json:"path,omitempty"`        // websocket only
	ServerName string   `json:"server_name,omitempty"` // SNI and certificate name; the address's host when empty
	TLSMin     string   `json:"tls_min,omitempty"`     // "1.2" or "1.3"; "1.2" after decoding when absent
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
	if d.Proxy.TLSMin == "" {
		d.Proxy.TLSMin = TLSVersion12
	}
	if d.Proxy.TLSMax == "" {
		d.Proxy.TLSMax = TLSVersion13
	}
	if len(d.Proxy.Pins) == 0 {
		d.Proxy.Pins = nil // "pins": [] and no pins are the same thing
	}
	return d, nil
}

// ConnectorConfig returns the connector settings the descriptor asks for:
// proxy, transport, TLS versions, roots from ca_pem, pins, destination,
// end-to-end TLS and the token. The caller adds timeouts, FIPS and logging.
func (d *Descriptor) ConnectorConfig() (connector.Config, error) {
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
	var err error
	if cfg.TLSMin, err = parseTLSVersion("proxy.tls_min", d.Proxy.TLSMin, TLSVersion12); err != nil {
		return connector.Config{}, err
	}
	if cfg.TLSMax, err = parseTLSVersion("proxy.tls_max", d.Proxy.TLSMax, TLSVersion13); err != nil {
		return connector.Config{}, err
	}
	if d.Proxy.CAPEM != "" {
		certs, err := parseCAPEM(d.Proxy.CAPEM)
		if err != nil {
			return connector.Config{}, err
		}
		cfg.RootCAs = x509.NewCertPool()
		for _, c := range certs {
			cfg.RootCAs.AddCert(c)
		}
	}
	return cfg, nil
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
		fmt.Fprintf(&b, ", %d pins", n)
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

// validate checks every field, in the order of DESIGN.md, and returns the
// first problem.
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
	if err := w.Proxy.validate(); err != nil {
		return err
	}
	if err := w.Destination.validate(); err != nil {
		return err
	}
	if err := checkTimes(w.IssuedAt, w.Exp); err != nil {
		return err
	}
	if w.MinVersion != nil {
		if _, ok := parseSemver(*w.MinVersion); !ok || strings.ContainsAny(*w.MinVersion, "-+") {
			return fieldErr("min_version", "%s is not a release version MAJOR.MINOR.PATCH (such as \"1.4.0\")", safetext.QuoteExcerpt(*w.MinVersion, 40))
		}
	}
	return checkToken(w.Token)
}

// MaxLifetime is the most exp may be after iat (DESIGN.md,
// "Launch URL and descriptor"): a signed descriptor is a bearer of trust,
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

func (p *Proxy) validate() error {
	if err := checkHostPort("proxy.address", p.Address); err != nil {
		return err
	}
	switch p.Transport {
	case string(connector.TransportConnect):
		if p.Path != "" {
			return fieldErr("proxy.path", "is for the websocket transport only; leave it out with connect")
		}
	case string(connector.TransportWebSocket):
		if err := checkPath(p.Path); err != nil {
			return err
		}
	case "":
		return fieldErr("proxy.transport", "missing (connect or websocket)")
	default:
		return fieldErr("proxy.transport", "%s is not a transport; use connect or websocket", safetext.QuoteExcerpt(p.Transport, 40))
	}
	if p.ServerName != "" {
		if err := checkHost("proxy.server_name", p.ServerName); err != nil {
			return err
		}
	}
	minV, err := parseTLSVersion("proxy.tls_min", p.TLSMin, TLSVersion12)
	if err != nil {
		return err
	}
	maxV, err := parseTLSVersion("proxy.tls_max", p.TLSMax, TLSVersion13)
	if err != nil {
		return err
	}
	if minV > maxV {
		return fieldErr("proxy.tls_min", "%s is above tls_max %s", p.TLSMin, p.TLSMax)
	}
	if p.CAPEM != "" {
		if _, err := parseCAPEM(p.CAPEM); err != nil {
			return err
		}
	}
	for i, pin := range p.Pins {
		if err := checkPin(i, pin); err != nil {
			return err
		}
	}
	return nil
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

// parseTLSVersion maps "1.2" and "1.3" to their tls constants; an empty
// value takes def. Older versions get their own message, since a server
// asking for them is a configuration to fix, not a typo.
func parseTLSVersion(field, v, def string) (uint16, error) {
	if v == "" {
		v = def
	}
	n, err := connector.ParseTLSVersion(v)
	switch {
	case err != nil && (v == "1.0" || v == "1.1"):
		return 0, fieldErr(field, "%v: the server must allow %s or %s", err, TLSVersion12, TLSVersion13)
	case err != nil:
		return 0, fieldErr(field, "%s is not allowed; use %s or %s", safetext.Quote(v), TLSVersion12, TLSVersion13)
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
// some resolvers and nothing to others; and without a trailing dot. The
// host goes into HTTP request lines and certificate checks, so nothing
// else is allowed.
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

// checkPath checks a websocket path the way the connector will: it goes
// into a request line, so it must start with "/" and hold no spaces,
// controls, "?", "#", "%" or "\".
func checkPath(p string) error {
	if p == "" {
		return nil // the connector uses "/"
	}
	if !strings.HasPrefix(p, "/") {
		return fieldErr("proxy.path", "%s must start with /", safetext.QuoteExcerpt(p, 120))
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`?#%\`, c) >= 0 {
			return fieldErr("proxy.path", "%s has a character that is not allowed (controls, spaces, non-ASCII, ?, #, %%, \\)", safetext.QuoteExcerpt(p, 120))
		}
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

// checkPin checks one SPKI pin: "sha256/" and the standard base64 of 32
// bytes.
func checkPin(i int, pin string) error {
	if problem := PinProblem(pin); problem != "" {
		return fieldErr(fmt.Sprintf("proxy.pins[%d]", i), "%s", problem)
	}
	return nil
}

// PinProblem says what is wrong with a SPKI pin, or returns "". The
// descriptor and the admin policy share it.
func PinProblem(pin string) string {
	b64, ok := strings.CutPrefix(pin, connector.PinPrefix)
	if !ok {
		return safetext.QuoteExcerpt(pin, 80) + ": want sha256/BASE64"
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return safetext.QuoteExcerpt(pin, 80) + " is not sha256/ and the base64 of a 32-byte SHA-256 digest"
	}
	return ""
}

// checkToken checks the token without ever showing it: present, at most
// MaxTokenBytes, and visible ASCII only, since it travels in an HTTP header
// or a URL query (RFC 9110 field-value; RFC 6750's b64token is a subset).
func checkToken(t string) error {
	if t == "" {
		return fieldErr("token", "missing")
	}
	if len(t) > MaxTokenBytes {
		return fieldErr("token", "%d bytes long, more than %d", len(t), MaxTokenBytes)
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f {
			return fieldErr("token", "has a character other than visible ASCII at byte %d", i)
		}
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

// quoteExcerpt is safetext.Excerpt in double quotes, for naming a value
// from the network that may be long: "a\x1b[2J…".

// VersionError is a descriptor whose min_version is newer than this
// trustlaunch, or a build with no version that cannot say (issue 14).
type VersionError struct {
	Need string // min_version, as the descriptor gave it (checked: digits and dots)
	Have string // this trustlaunch's version, sanitized
}

func (e *VersionError) Error() string {
	if _, ok := parseSemver(e.Have); !ok {
		return fmt.Sprintf("descriptor: min_version: this descriptor needs trustlaunch %s or later, and this trustlaunch is a build without a release version (%s), so it cannot tell", e.Need, e.Have)
	}
	return fmt.Sprintf("descriptor: min_version: this descriptor needs trustlaunch %s or later; this is %s", e.Need, e.Have)
}

// Hint tells the user what to do.
func (e *VersionError) Hint() string {
	return "upgrade trustlaunch to " + strings.TrimPrefix(e.Need, "v") + " or later (your administrator or the portal's download page has it), then start the session again"
}

// checkMinVersion refuses a descriptor whose min_version is newer than
// client, this trustlaunch's version, compared by semantic versioning
// (semver.org 2.0.0, section 11: numbers compared as numbers, a
// pre-release older than its release, build metadata ignored), so a
// goreleaser snapshot "1.4.2-SNAPSHOT-…" and a Go pseudo-version
// "v1.4.2-0.2025…" come before 1.4.2. A build without a release version
// ("devel", from a source tree without -ldflags) is refused whenever
// min_version is set: nothing says how old its source is, and the portal
// asked for a version it knows (fail closed). No min_version: no check.
func checkMinVersion(d *Descriptor, client string) error {
	if d.MinVersion == "" {
		return nil
	}
	need, ok := parseSemver(d.MinVersion)
	if !ok {
		return fieldErr("min_version", "%s is not a release version", safetext.QuoteExcerpt(d.MinVersion, 40)) // not reached: validate checked it
	}
	have, ok := parseSemver(client)
	if !ok || compareSemver(have, need) < 0 {
		return &VersionError{Need: d.MinVersion, Have: safetext.Excerpt(cmpOr(client, "unknown"), 60)}
	}
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// semver is a parsed semantic version: the three numbers and the
// pre-release identifiers.
type semver struct {
	num [3]uint64
	pre []string
}

// parseSemver parses [v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] strictly:
// no leading zeros, no empty identifiers, at most 64 bytes.
func parseSemver(s string) (semver, bool) {
	var v semver
	s = strings.TrimPrefix(s, "v")
	if s == "" || len(s) > 64 {
		return v, false
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !validIdents(s[i+1:], false) {
			return v, false
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		if !validIdents(s[i+1:], true) {
			return v, false
		}
		v.pre = strings.Split(s[i+1:], ".")
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, ok := semverNumber(p)
		if !ok {
			return v, false
		}
		v.num[i] = n
	}
	return v, true
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-]; numeric
// pre-release identifiers may not have leading zeros.
func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for id := range strings.SplitSeq(s, ".") {
		if id == "" {
			return false
		}
		numeric := true
		for _, c := range id {
			switch {
			case '0' <= c && c <= '9':
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
		if pre && numeric && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// semverNumber parses a version number: digits, no leading zero, fits 9 digits.
func semverNumber(p string) (uint64, bool) {
	if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(p, 10, 64)
	return n, err == nil
}

// compareSemver returns -1, 0 or +1 as a is older than, equal to or newer
// than b (semver.org 2.0.0, section 11).
func compareSemver(a, b semver) int {
	for i := range a.num {
		if a.num[i] != b.num[i] {
			if a.num[i] < b.num[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1 // a release is newer than its pre-releases
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		x, y := a.pre[i], b.pre[i]
		if x == y {
			continue
		}
		xn, xerr := strconv.ParseUint(x, 10, 64)
		yn, yerr := strconv.ParseUint(y, 10, 64)
		switch {
		case xerr == nil && yerr == nil:
			if xn < yn {
				return -1
			}
			return 1
		case xerr == nil:
			return -1 // numeric identifiers are older than alphanumeric ones
		case yerr == nil:
			return 1
		case x < y:
			return -1
		default:
			return 1
		}
	}
	switch {
	case len(a.pre) < len(b.pre):
		return -1
	case len(a.pre) > len(b.pre):
		return 1
	}
	return 0
}
