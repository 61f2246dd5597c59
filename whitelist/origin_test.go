package whitelist

import (
	"strings"
	"testing"
)

// originCases is the corpus of hostile and edge inputs for ParseOrigin. want
// is the normalized origin, or "" when the input must be refused; errHas is a
// fragment the refusal must contain.
var originCases = []struct {
	name, in, want, errHas string
}{
	{"plain", "https://portal.example.com/launch/1", "https://portal.example.com", ""},
	{"no path", "https://portal.example.com", "https://portal.example.com", ""},
	{"query only", "https://portal.example.com?x=1", "https://portal.example.com", ""},
	{"upper case host", "https://PORTAL.Example.COM/x", "https://portal.example.com", ""},
	{"upper case scheme", "HTTPS://portal.example.com/", "https://portal.example.com", ""},
	{"trailing dot", "https://portal.example.com./", "https://portal.example.com", ""},
	{"two trailing dots", "https://portal.example.com../", "", "empty label"},
	{"explicit 443 dropped", "https://portal.example.com:443/", "https://portal.example.com", ""},
	{"port kept", "https://portal.example.com:8443/", "https://portal.example.com:8443", ""},
	{"port 0", "https://portal.example.com:0/", "", "port"},
	{"port 0443", "https://portal.example.com:0443/", "", "leading zeros"},
	{"port 65536", "https://portal.example.com:65536/", "", "out of range"},
	{"port 65535", "https://portal.example.com:65535/", "https://portal.example.com:65535", ""},
	{"empty port", "https://portal.example.com:/", "", "empty port"},
	{"signed port", "https://portal.example.com:+443/", "", "port"},
	{"http", "http://portal.example.com/", "", "not https"},
	{"javascript", "javascript:alert(1)", "", "not https"},
	{"no scheme", "portal.example.com/x", "", "https"},
	{"https without slashes", "https:portal.example.com/x", "", `"https://"`},
	{"https one slash", "https:/portal.example.com/x", "", `"https://"`},
	{"userinfo", "https://user@portal.example.com/", "", "user info"},
	{"userinfo lookalike", "https://portal.example.com@evil.example/", "", "user info"},
	{"userinfo with password", "https://a:b@portal.example.com/", "", "user info"},
	{"empty host", "https:///x", "", "empty host"},
	{"idn", "https://Bücher.example/", "https://xn--bcher-kva.example", ""},
	{"punycode input", "https://xn--bcher-kva.example/", "https://xn--bcher-kva.example", ""},
	{"invalid punycode", "https://xn--zz.example/", "", "not a valid host name"},
	{"cyrillic homograph", "https://\u0430pple.com/", "https://xn--pple-43d.com", ""},
	{"full-width letters", "https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/", "https://example.com", ""},
	{"ideographic full stop", "https://portal\u3002example.com/", "https://portal.example.com", ""},
	{"full-width ip", "https://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/", "", "non-ASCII"},
	{"mixed full-width ip", "https://\uff11\uff12\uff17.0.0.1/", "", "canonical"},
	{"full-width integer ip", "https://\uff12\uff11\uff13\uff10\uff17\uff10\uff16\uff14\uff13\uff13/", "", "canonical"},
	{"soft hyphen", "https://exam\u00adple.com/", "", "invisible"},
	{"zero width space", "https://exa\u200bmple.com/", "", "invisible"},
	{"zero width joiner", "https://a\u200db.com/", "", "invisible"},
	{"bidi override", "https://moc.\u202eelpmaxe/", "", "invisible"},
	{"nbsp", "https://a\u00a0b.com/", "", "space"},
	{"ipv4", "https://10.1.2.3/", "https://10.1.2.3", ""},
	{"ipv4 trailing dot", "https://10.1.2.3./", "https://10.1.2.3", ""},
	{"ipv4 hex", "https://0x7f.1/", "", "canonical"},
	{"ipv4 octal", "https://0177.0.0.1/", "", "canonical"},
	{"ipv4 integer", "https://2130706433/", "", "canonical"},
	{"ipv4 short", "https://127.1/", "", "canonical"},
	{"ipv4 out of range", "https://256.1.1.1/", "", "canonical"},
	{"hex last label", "https://example.0x10/", "", "canonical"},
	{"digit-led label ok", "https://1password.example/", "https://1password.example", ""},
	{"ipv6", "https://[2001:DB8::1]/", "https://[2001:db8::1]", ""},
	{"ipv6 non-canonical", "https://[2001:0db8:0:0:0:0:0:1]:8443/", "https://[2001:db8::1]:8443", ""},
	{"ipv6 loopback", "https://[::1]/", "https://[::1]", ""},
	{"ipv6 zone", "https://[fe80::1%25eth0]/", "", "zone"},
	{"ipv6 unbracketed", "https://2001:db8::1/", "", "brackets"},
	{"ipv6 bracketed ipv4", "https://[127.0.0.1]/", "", "not an IPv6"},
	// IPv4 hosts spelled as IPv6: refused, not folded.
	{"ipv4-mapped dotted", "https://[::ffff:127.0.0.1]/", "", "IPv4-mapped"},
	{"ipv4-mapped hex", "https://[::ffff:7f00:1]/", "", "IPv4-mapped"},
	{"ipv4-mapped long form", "https://[0:0:0:0:0:FFFF:7F00:0001]:8443/", "", "write 127.0.0.1"},
	{"ipv4-mapped upper", "https://[::FFFF:10.1.2.3]/", "", "write 10.1.2.3"},
	{"ipv4-compatible dotted", "https://[::127.0.0.1]/", "", "IPv4-compatible"},
	{"ipv4-compatible hex", "https://[::7f00:1]/", "", "IPv4-compatible"},
	{"ipv4-compatible long form", "https://[0:0:0:0:0:0:a01:203]/", "", "write 10.1.2.3"},
	{"ipv4-compatible small", "https://[::2]/", "", "IPv4-compatible"},
	// The unspecified and loopback addresses also have 96 leading zero bits
	// but are IPv6's own, not spellings of an IPv4 host.
	{"ipv6 unspecified", "https://[::]/", "https://[::]", ""},
	{"ipv6 loopback long form", "https://[0:0:0:0:0:0:0:1]/", "https://[::1]", ""},
	// Other prefixes that embed an IPv4 address are real IPv6 addresses.
	{"ipv6 nat64", "https://[64:ff9b::7f00:1]/", "https://[64:ff9b::7f00:1]", ""},
	{"ipv6 ffff not mapped", "https://[::ffff:0:7f00:1]/", "https://[::ffff:0:7f00:1]", ""},
	{"percent encoded host", "https://ex%61mple.com/", "", "percent"},
	{"percent encoded dot", "https://example%2ecom/", "", "percent"},
	{"backslash host", "https://evil.example\\portal.example.com/", "", "backslash"},
	{"backslash path", "https://portal.example.com/a\\b", "", "backslash"},
	{"control char", "https://exa\x01mple.com/", "", "control"},
	{"escape sequence", "https://exa\x1b[2Jmple.com/", "", "control"},
	{"newline", "https://example.com\n.evil/", "", "control"},
	{"space", "https://exa mple.com/", "", "space"},
	{"empty label", "https://a..example.com/", "", "empty label"},
	{"leading dot", "https://.example.com/", "", "empty label"},
	{"underscore", "https://a_b.example.com/", "", "not a valid host"},
	{"hyphen start", "https://-a.example.com/", "", "hyphen"},
	{"reserved hyphens", "https://ab--cd.example.com/", "", "invalid label"},
	{"long label", "https://" + strings.Repeat("a", 64) + ".com/", "", "limit is 63"},
	{"long host", "https://" + strings.Repeat("abcdefghi.", 26) + "com/", "", "limit is 253"},
	{"wildcard", "https://*.example.com/", "", "not allowed"},
	{"suffix lookalike", "https://portal.example.com.evil.net/", "https://portal.example.com.evil.net", ""},
	{"fragment", "https://portal.example.com#frag", "https://portal.example.com", ""},
	{"oversized", "https://example.com/" + strings.Repeat("a", 9000), "", "longer than"},
}

func TestParseOrigin(t *testing.T) {
	if len(originCases) < 40 {
		t.Fatalf("corpus has %d cases; the issue asks for at least 40", len(originCases))
	}
	for _, tt := range originCases {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOrigin(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseOrigin(%q) = %s, want error containing %q", tt.in, o, tt.errHas)
				}
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("ParseOrigin(%q) error %q does not contain %q", tt.in, err, tt.errHas)
				}
				if strings.ContainsAny(err.Error(), "\x00\x01\x1b\n\r\u202e") {
					t.Errorf("error text carries raw control characters: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOrigin(%q): %v", tt.in, err)
			}
			if got := o.String(); got != tt.want {
				t.Errorf("ParseOrigin(%q) = %s, want %s", tt.in, got, tt.want)
			}
			// Normalizing twice equals once.
			again, err := ParseOrigin(o.String())
			if err != nil || again != o {
				t.Errorf("re-parse of %s = %v, %v", o, again, err)
			}
		})
	}
}

func TestOriginDisplay(t *testing.T) {
	o, err := ParseOrigin("https://b\u00fccher.example.co.uk:8443/x")
	if err != nil {
		t.Fatal(err)
	}
	if o.Host() != "xn--bcher-kva.example.co.uk" || o.Unicode() != "b\u00fccher.example.co.uk" {
		t.Errorf("host %q unicode %q", o.Host(), o.Unicode())
	}
	if got := o.RegistrableDomain(); got != "example.co.uk" {
		t.Errorf("RegistrableDomain = %q", got)
	}
	if o.Port() != 8443 || o.HostPort() != "xn--bcher-kva.example.co.uk:8443" {
		t.Errorf("port %d hostport %q", o.Port(), o.HostPort())
	}
	ip, _ := ParseOrigin("https://10.0.0.1/")
	if ip.RegistrableDomain() != "" || !ip.IsIP() {
		t.Errorf("IP origin: domain %q isIP %v", ip.RegistrableDomain(), ip.IsIP())
	}
	plain, _ := ParseOrigin("https://example.com/")
	if plain.Unicode() != "" {
		t.Errorf("ASCII host has Unicode form %q", plain.Unicode())
	}
}

func TestParseEntry(t *testing.T) {
	tests := []struct {
		in, want, errHas string
	}{
		{"portal.example.com", "portal.example.com", ""},
		{"Portal.Example.com.", "portal.example.com", ""},
		{"portal.example.com:8443", "portal.example.com:8443", ""},
		{"portal.example.com:443", "portal.example.com:443", ""},
		{"66.129.224.48", "66.129.224.48", ""},
		{"[2001:db8::1]:443", "[2001:db8::1]:443", ""},
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"https://portal.example.com/", "", "write portal.example.com"},
		{"*.example.com", "", "wildcards"},
		{"0x7f.1", "", "canonical"},
		{"a..b", "", "empty label"},
		{"user@host", "", "user info"},
		{"host:", "", "empty port"},
		{"[::ffff:10.1.2.3]", "", "IPv4-mapped"},
		{"[::ffff:a01:203]:8443", "", "write 10.1.2.3"},
		{"[::10.1.2.3]", "", "IPv4-compatible"},
		{"[::a01:203]:443", "", "write 10.1.2.3"},
		{"[::1]", "[::1]", ""},
		{"[::]", "[::]", ""},
	}
	for _, tt := range tests {
		e, err := ParseEntry(tt.in)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("ParseEntry(%q) = %v, %v; want error with %q", tt.in, e, err, tt.errHas)
			}
			continue
		}
		if err != nil || e.String() != tt.want {
			t.Errorf("ParseEntry(%q) = %q, %v; want %q", tt.in, e, err, tt.want)
		}
	}
}

func TestEntryMatches(t *testing.T) {
	mustOrigin := func(s string) Origin {
		o, err := ParseOrigin(s)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	tests := []struct {
		entry, url string
		want       bool
	}{
		{"example.com", "https://example.com/", true},
		{"example.com", "https://example.com:8443/", true},
		{"example.com", "https://www.example.com/", false},
		{"example.com", "https://example.com.evil.net/", false},
		{"example.com", "https://notexample.com/", false},
		{"www.example.com", "https://example.com/", false},
		{"example.com:8443", "https://example.com/", false},
		{"example.com:8443", "https://example.com:8443/", true},
		{"example.com:443", "https://example.com/", true},
		{"EXAMPLE.com.", "https://example.COM/", true},
		{"[::1]", "https://[0:0::1]:9/", true},
		{"bücher.example", "https://xn--bcher-kva.example/", true},
	}
	for _, tt := range tests {
		e, err := ParseEntry(tt.entry)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Matches(mustOrigin(tt.url)); got != tt.want {
			t.Errorf("entry %q matches %q = %v, want %v", tt.entry, tt.url, got, tt.want)
		}
	}
	if (Entry{}).Matches(Origin{}) {
		t.Error("zero entry matches zero origin")
	}
}

// TestOriginErrorHidesTicket: a refused URL is named by its server only; the
// path and the query (which holds the single-use ticket) stay out of the
// message, which reaches stderr, notifications and the audit log.
func TestOriginErrorHidesTicket(t *testing.T) {
	for _, raw := range []string{
		"https://bad_host.example/launch/1?ticket=SECRET-TICKET-0123456789",
		"https://user@portal.example.com/x?ticket=SECRET-TICKET-0123456789",
		"http://portal.example.com/?ticket=SECRET-TICKET-0123456789",
		"https://portal.example.com/a\x1b[2J?ticket=SECRET-TICKET-0123456789",
	} {
		_, err := ParseOrigin(raw)
		if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "launch/1") {
			t.Errorf("ParseOrigin(%q) error %v names more than the server", raw, err)
		}
	}
}

func TestEntryForKeepsPort(t *testing.T) {
	for url, want := range map[string]string{
		"https://portal.example.com/":      "portal.example.com:443",
		"https://portal.example.com:8443/": "portal.example.com:8443",
	} {
		o, err := ParseOrigin(url)
		if err != nil {
			t.Fatal(err)
		}
		e := EntryFor(o)
		if e.String() != want {
			t.Errorf("EntryFor(%s) = %s, want %s", url, e, want)
		}
		other, _ := ParseOrigin("https://portal.example.com:9000/")
		if e.Matches(other) {
			t.Errorf("Always for %s would admit port 9000", url)
		}
	}
}
