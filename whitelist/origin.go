package whitelist

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// DefaultPort is the port of an https origin that names none.
const DefaultPort = 443

// maxURLLen bounds a URL handed to ParseOrigin: a descriptor URL is shorter
// than the link that carries it, which is at most 8 KiB.
const maxURLLen = 8 << 10

// Origin is a normalized https origin, https://host[:port]: the server a launch
// acts for. The zero Origin matches nothing. Build one with ParseOrigin.
type Origin struct {
	host    string // ASCII (punycode) lowercase, no trailing dot; IPv6 in brackets
	port    uint16 // DefaultPort when the URL names none
	unicode string // the host's Unicode form when it differs from host
}

// Host returns the normalized ASCII host: lowercase, punycode, no trailing
// dot, IPv6 in brackets.
func (o Origin) Host() string { return o.host }

// Port returns the origin's port, DefaultPort when the URL named none.
func (o Origin) Port() uint16 { return o.port }

// Unicode returns the host's Unicode form when it differs from Host (an IDN),
// and "" otherwise. It is for display next to Host, never for matching.
func (o Origin) Unicode() string { return o.unicode }

// IsZero reports whether o is the zero Origin.
func (o Origin) IsZero() bool { return o.host == "" }

// String returns "https://host" or "https://host:port" (port omitted when 443).
func (o Origin) String() string {
	if o.port == DefaultPort {
		return "https://" + o.host
	}
	return "https://" + o.host + ":" + strconv.Itoa(int(o.port))
}

// HostPort returns "host:port", always with the port, for dialing.
func (o Origin) HostPort() string { return o.host + ":" + strconv.Itoa(int(o.port)) }

// IsIP reports whether the host is an IP address rather than a name.
func (o Origin) IsIP() bool {
	_, err := netip.ParseAddr(strings.Trim(o.host, "[]"))
	return err == nil
}

// RegistrableDomain returns the host's registrable domain (eTLD+1 from the
// public suffix list), "" for IP addresses and hosts that are themselves a
// public suffix. The prompt shows it so "portal.example.com.evil.net" reads as
// "evil.net".
func (o Origin) RegistrableDomain() string {
	if o.host == "" || o.IsIP() {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(o.host)
	if err != nil {
		return ""
	}
	return d
}

// OriginError says why a URL or host was refused as an origin.
type OriginError struct {
	Input  string // the offending input, raw; sanitize before display
	Reason string
}

func (e *OriginError) Error() string {
	return fmt.Sprintf("invalid origin %s: %s", safetext.QuoteExcerpt(originPart(e.Input), 120), e.Reason)
}

// OriginReason returns why ParseOrigin refused a URL without the input,
// which is the whole URL and so the ticket.
func OriginReason(err error) string {
	var oe *OriginError
	if errors.As(err, &oe) {
		return oe.Reason
	}
	if errors.Is(err, ErrNotHTTPS) {
		return "not https"
	}
	return "invalid URL"
}

// originPart is the part of a URL up to its path, query or fragment: enough
// to say which server was refused, and never the query, which holds the
// single-use ticket.
func originPart(raw string) string {
	rest, start := raw, 0
	if i := strings.Index(raw, "://"); i >= 0 {
		rest, start = raw[i+3:], i+3
	}
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		return raw[:start+j]
	}
	return raw
}

// ErrNotHTTPS is wrapped by the error ParseOrigin returns for a URL whose scheme
// is not https (docs/design.md "The decision flow", step 1).
var ErrNotHTTPS = errors.New("not an https URL")

func originErr(in, format string, args ...any) error {
	return &OriginError{Input: in, Reason: fmt.Sprintf(format, args...)}
}

// ParseOrigin returns the origin of an absolute https URL, following the host
// pipeline of docs/design.md "Origins and matching" exactly. It parses the
// authority itself rather than trusting net/url, which applies none of the
// browser's host rules.
func ParseOrigin(rawURL string) (Origin, error) {
	if len(rawURL) > maxURLLen {
		return Origin{}, originErr(rawURL, "longer than %d bytes", maxURLLen)
	}
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok || scheme == "" {
		return Origin{}, fmt.Errorf("%w: %w", ErrNotHTTPS, originErr(rawURL, "no scheme; want https://host/..."))
	}
	if !strings.EqualFold(scheme, "https") {
		return Origin{}, fmt.Errorf("%w: %w", ErrNotHTTPS, originErr(rawURL, "scheme %s is not https", safetext.Quote(scheme)))
	}
	// "https:host" and "https:/host" are relative-looking forms a browser
	// repairs in different ways; require the authority marker.
	if !strings.HasPrefix(rest, "//") {
		return Origin{}, originErr(rawURL, `want "https://" before the host`)
	}
	rest = rest[2:]
	// Browsers treat "\" as "/" in https URLs while Go does not, so
	// "https://good.example\@evil.example/" means two different hosts to the two
	// parsers. Refuse backslashes, controls and spaces anywhere before the query.
	end := strings.IndexAny(rest, "?#")
	if end < 0 {
		end = len(rest)
	}
	for _, r := range rest[:end] {
		if r == '\\' || r == ' ' || r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return Origin{}, originErr(rawURL, "URL contains %s before the query", safetext.Describe(r))
		}
	}
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	o, err := parseAuthority(rest[:authEnd], true)
	if err != nil {
		return Origin{}, &OriginError{Input: rawURL, Reason: err.Error()}
	}
	return o, nil
}

// parseAuthority parses "host[:port]" into an Origin. For a URL a missing port
// is DefaultPort; for a whitelist entry (isURL false) it is 0, "any port".
func parseAuthority(auth string, isURL bool) (Origin, error) {
	if strings.Contains(auth, "@") {
		// userinfo is refused, never cleaned: "https://good.example@evil.example"
		// is the classic way to show one host and connect to another.
		return Origin{}, errors.New("user info (\"@\") is not allowed in the host")
	}
	host, portStr, hasPort, err := splitHostPort(auth)
	if err != nil {
		return Origin{}, err
	}
	var port uint16
	switch {
	case hasPort:
		port, err = parsePort(portStr)
		if err != nil {
			return Origin{}, err
		}
	case isURL:
		port = DefaultPort
	}
	h, uni, err := normalizeHost(host)
	if err != nil {
		return Origin{}, err
	}
	return Origin{host: h, port: port, unicode: uni}, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port".
func splitHostPort(auth string) (host, port string, hasPort bool, err error) {
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return "", "", false, errors.New("IPv6 address without closing \"]\"")
		}
		host, rest := auth[:end+1], auth[end+1:]
		if rest == "" {
			return host, "", false, nil
		}
		if rest[0] != ':' {
			return "", "", false, fmt.Errorf("unexpected %s after IPv6 address", safetext.Quote(rest))
		}
		return host, rest[1:], true, nil
	}
	if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		if strings.IndexByte(auth[:i], ':') >= 0 {
			return "", "", false, errors.New("IPv6 address must be in brackets")
		}
		return auth[:i], auth[i+1:], true, nil
	}
	return auth, "", false, nil
}

// parsePort accepts 1..65535 in canonical decimal: no sign, no leading zero,
// not empty. "0443" and "" are refused as ambiguous rather than guessed.
func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, errors.New("empty port after \":\"")
	}
	if len(s) > 5 || s[0] == '0' {
		return 0, fmt.Errorf("port %s is not a number from 1 to 65535 without leading zeros", safetext.Quote(s))
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("port %s is not a number", safetext.Quote(s))
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 65535 {
		return 0, fmt.Errorf("port %d is out of range (1-65535)", n)
	}
	return uint16(n), nil
}

// normalizeHost runs the host pipeline
// (docs/design.md "Origins and matching") and returns the ASCII host plus its
// Unicode form when that differs.
func normalizeHost(host string) (ascii, uni string, err error) {
	if host == "" {
		return "", "", errors.New("empty host")
	}
	if simple, upper := scanLDH(host); simple {
		// The common case: a letters-digits-hyphens name needs no IDNA mapping,
		// only lowercasing and the label rules IDNA would apply. FuzzParseOrigin
		// checks that this path agrees with idna.Lookup.
		if endsInNumber(host) {
			ip, err := canonicalIPv4(host)
			return ip, "", err
		}
		h := strings.TrimSuffix(host, ".")
		if err := checkLabels(h); err != nil {
			return "", "", err
		}
		if upper {
			h = strings.ToLower(h)
		}
		return h, "", nil
	}
	if strings.HasPrefix(host, "[") && strings.Contains(host, "%") {
		return "", "", errors.New("IPv6 zone identifiers are not allowed")
	}
	if err := checkForbidden(host); err != nil {
		return "", "", err
	}
	if strings.HasPrefix(host, "[") {
		return normalizeIPv6(host)
	}
	if endsInNumber(host) {
		ip, err := canonicalIPv4(host)
		return ip, "", err
	}
	// idna.Lookup returns a partial result together with its error; the error
	// is fatal, the partial result is never used.
	mapped, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", "", fmt.Errorf("not a valid host name: %s", safetext.Sanitize(strings.TrimPrefix(err.Error(), "idna: ")))
	}
	// The result must be a fixed point: idna.Lookup maps some characters to
	// code points that it then refuses when they come back from punycode
	// (found by FuzzParse), and a host that normalizes differently the second
	// time could match one entry now and another later.
	if again, err := idna.Lookup.ToASCII(mapped); err != nil || again != mapped {
		return "", "", fmt.Errorf("%s does not normalize to a stable host name", safetext.Quote(host))
	}
	// Mapping folds full-width characters and "。" to ASCII, so the forbidden
	// code points and the numeric rule are checked again on its result. An
	// address spelled with non-ASCII digits is refused like the other
	// notations: whoever wrote it did not mean a plain IPv4 address.
	if err := checkForbidden(mapped); err != nil {
		return "", "", err
	}
	if endsInNumber(mapped) {
		return "", "", fmt.Errorf("%s is an IPv4 address written with non-ASCII characters, not a canonical dotted-decimal IPv4 address", safetext.Quote(host))
	}
	h := strings.TrimSuffix(mapped, ".")
	if err := checkLabels(h); err != nil {
		return "", "", err
	}
	if u, err := idna.Lookup.ToUnicode(h); err == nil && u != h {
		uni = u
	}
	return h, uni, nil
}

// checkForbidden refuses characters that have no place in a host: the WHATWG
// forbidden domain code points, controls, spaces, percent-encoding, and
// invisible characters that IDNA mapping would silently delete (a soft hyphen
// or zero-width space makes "exam\u00adple.com" look unlike the host it is).
func checkForbidden(host string) error {
	for i, r := range host {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(host[i:]); size == 1 {
				return errors.New("host is not valid UTF-8")
			}
		}
		switch {
		case r == '%':
			return errors.New("percent-encoding is not allowed in the host")
		case r == '\\':
			return errors.New("backslash is not allowed in the host")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return fmt.Errorf("control character %U in the host", r)
		case unicode.IsSpace(r):
			return fmt.Errorf("space character %U in the host", r)
		case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r), unicode.Is(unicode.Variation_Selector, r):
			return fmt.Errorf("invisible character %U in the host", r)
		case strings.ContainsRune("#/<>?@^|*\"'`{}", r):
			return fmt.Errorf("character %q is not allowed in a host", r)
		}
	}
	return nil
}

// normalizeIPv6 accepts "[addr]" with a valid IPv6 address and no zone.
func normalizeIPv6(host string) (string, string, error) {
	inner := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.Contains(inner, "%") {
		return "", "", errors.New("IPv6 zone identifiers are not allowed")
	}
	addr, err := netip.ParseAddr(inner)
	if err != nil || !addr.Is6() {
		return "", "", fmt.Errorf("%s is not an IPv6 address", safetext.Quote(host))
	}
	if v4, kind := embeddedIPv4(addr); kind != "" {
		return "", "", fmt.Errorf("%s is an %s IPv6 address, another spelling of the IPv4 address %s, refused as ambiguous; write %s", safetext.Quote(host), kind, v4, v4)
	}
	return "[" + addr.String() + "]", "", nil
}

// embeddedIPv4 reports whether addr is an IPv4 address spelled as IPv6, and
// which kind: "IPv4-mapped" (::ffff:a.b.c.d, RFC 4291 2.5.5.2) or
// "IPv4-compatible" (::a.b.c.d, RFC 4291 2.5.5.1, deprecated), in any of
// their spellings (dotted or hex, short or long). Such a host is neither
// folded to the IPv4 address nor accepted as it is: the stack connects a
// mapped address to the IPv4 host, so "[::ffff:127.0.0.1]" and "127.0.0.1"
// are one server under two names, and a list that names one would not match
// the other. The unspecified address (::) and the loopback (::1) also start
// with 96 zero bits but are IPv6's own addresses, not spellings of 0.0.0.0
// and 0.0.0.1, so they are kept. Other prefixes that embed an IPv4 address
// (NAT64 64:ff9b::/96, ::ffff:0:0:0/96) name real IPv6 destinations and are
// kept too.
func embeddedIPv4(addr netip.Addr) (v4 netip.Addr, kind string) {
	if addr.Is4In6() {
		return addr.Unmap(), "IPv4-mapped"
	}
	b := addr.As16()
	for _, c := range b[:12] {
		if c != 0 {
			return netip.Addr{}, ""
		}
	}
	if addr == netip.IPv6Unspecified() || addr == netip.IPv6Loopback() {
		return netip.Addr{}, ""
	}
	return netip.AddrFrom4([4]byte(b[12:])), "IPv4-compatible"
}

// endsInNumber reports whether the last label (ignoring one trailing dot) is
// numeric in the WHATWG sense: decimal digits, or a 0x hex number. Browsers
// parse such a host as an IPv4 address in one of several notations.
func endsInNumber(host string) bool {
	h := strings.TrimSuffix(host, ".")
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return false
	}
	if len(last) >= 2 && (last[:2] == "0x" || last[:2] == "0X") {
		for i := 2; i < len(last); i++ {
			if !isHex(last[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalIPv4 accepts only canonical dotted-decimal IPv4. The shorthand and
// octal/hex/integer forms browsers accept (0x7f.1, 0177.0.0.1, 2130706433,
// 127.1) are refused as ambiguous: the admin who wrote one and the browser
// that resolves it may not agree on which host it is.
func canonicalIPv4(host string) (string, error) {
	h := strings.TrimSuffix(host, ".")
	addr, err := netip.ParseAddr(h)
	if err != nil || !addr.Is4() || addr.String() != h {
		return "", fmt.Errorf("%s is not a canonical dotted-decimal IPv4 address", safetext.Quote(host))
	}
	return h, nil
}

// checkLabels applies the DNS length rules, refuses empty labels, and (for
// names that skipped IDNA) the hyphen rule idna.Lookup applies itself
// (CheckHyphens). idna.Lookup does not check lengths, so mapped names come
// here too.
func checkLabels(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	if len(h) > 253 {
		return fmt.Errorf("host is %d bytes long; the limit is 253", len(h))
	}
	start := 0
	for i := 0; i <= len(h); i++ {
		if i < len(h) && h[i] != '.' {
			continue
		}
		label := h[start:i]
		start = i + 1
		switch {
		case label == "":
			return errors.New("host has an empty label (\"..\" or a leading dot)")
		case len(label) > 63:
			return fmt.Errorf("label of %d bytes; the limit is 63", len(label))
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("label %s starts or ends with a hyphen", safetext.Quote(label))
		}
	}
	return nil
}

// scanLDH reports whether host is ASCII letters, digits, hyphens and dots
// only, with no label in IDNA's reserved "??--" form (such as "xn--"), so that
// IDNA would do nothing but lowercase it; upper says whether it must be
// lowercased. One pass: this runs for every entry of a large admin list.
func scanLDH(host string) (simple, upper bool) {
	labelStart := 0
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			upper = true
		case c == '.':
			labelStart = i + 1
		case c == '-':
			if i-labelStart == 3 && host[i-1] == '-' {
				return false, false
			}
		default:
			return false, false
		}
	}
	return true, upper
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
