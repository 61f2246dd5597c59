package whitelist

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// seedOrigins returns the URLs in testdata/origins.txt, unquoting Go escapes.
func seedOrigins(f *testing.F) []string {
	file, err := os.Open("testdata/origins.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var out []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, err := strconv.Unquote(`"` + line + `"`); err == nil {
			line = s
		}
		out = append(out, line)
	}
	return out
}

// FuzzParseOrigin checks the invariants of the host pipeline on any input:
// normalizing twice equals once; an accepted host is plain ASCII of the
// expected shape; the ASCII fast path agrees with idna.Lookup; and an accepted
// origin matches only entries that are equal after normalization.
func FuzzParseOrigin(f *testing.F) {
	for _, s := range seedOrigins(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, err := ParseOrigin(raw)
		if err != nil {
			if !o.IsZero() {
				t.Fatalf("error with a non-zero origin: %v", o)
			}
			return
		}
		again, err := ParseOrigin(o.String())
		if err != nil || again != o {
			t.Fatalf("ParseOrigin(%q) = %v; re-parse of %q = %v, %v", raw, o, o.String(), again, err)
		}
		h := o.Host()
		if strings.HasPrefix(h, "[") {
			if !strings.HasSuffix(h, "]") {
				t.Fatalf("bad IPv6 host %q", h)
			}
			// No IPv4 host gets in spelled as IPv6.
			if a, err := netip.ParseAddr(h[1 : len(h)-1]); err != nil || a.Is4In6() || ipv4Compatible(a) {
				t.Fatalf("IPv6 host %q from %q is an IPv4 address in disguise (%v)", h, raw, err)
			}
		} else {
			for i := 0; i < len(h); i++ {
				c := h[i]
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
					t.Fatalf("host %q from %q has byte %q", h, raw, c)
				}
			}
			if strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
				t.Fatalf("host %q has an empty label", h)
			}
			if !o.IsIP() {
				if ascii, err := idna.Lookup.ToASCII(h); err != nil || ascii != h {
					t.Fatalf("host %q is not stable under idna.Lookup: %q, %v", h, ascii, err)
				}
			}
		}
		if o.Port() == 0 {
			t.Fatalf("origin %v has port 0", o)
		}
		// The entry naming exactly this origin matches it; a subdomain, a
		// parent and another port do not.
		e, err := ParseEntry(EntryFor(o).String())
		if err != nil || !e.Matches(o) {
			t.Fatalf("entry %v for %v: %v, matches=%v", EntryFor(o), o, err, e.Matches(o))
		}
		if !o.IsIP() {
			if sub, err := ParseEntry("x." + h); err == nil && sub.Matches(o) {
				t.Fatalf("subdomain entry %v matches %v", sub, o)
			}
			if i := strings.IndexByte(h, '.'); i > 0 {
				if parent, err := ParseEntry(h[i+1:]); err == nil && parent.Matches(o) {
					t.Fatalf("parent entry %v matches %v", parent, o)
				}
			}
		}
		other := Entry{Host: h, Port: o.Port()%65535 + 1}
		if other.Matches(o) {
			t.Fatalf("entry %v with another port matches %v", other, o)
		}
	})
}

// ipv4Compatible is the test's own statement of the rule: the first 96
// bits zero, and neither :: nor ::1.
func ipv4Compatible(a netip.Addr) bool {
	b := a.As16()
	for _, c := range b[:12] {
		if c != 0 {
			return false
		}
	}
	return a != netip.IPv6Unspecified() && a != netip.IPv6Loopback()
}

// FuzzParse checks that any file either fails to decode or yields entries that
// re-parse to themselves and match their own origins, with problems that name
// a real line and carry no raw control characters.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/lists/*.txt")
	if len(paths) == 0 {
		f.Fatal("no seed lists in testdata/lists")
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, probs, err := Parse("fuzz.txt", data)
		if err != nil {
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, p := range probs {
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("problem on line %d of %d: %v", p.Line, lines, p)
			}
			for _, r := range p.Msg {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
					t.Fatalf("problem carries control %U: %q", r, p.Msg)
				}
			}
		}
		for _, e := range l.Entries {
			again, err := ParseEntry(e.String())
			if err != nil || again.Host != e.Host || again.Port != e.Port {
				t.Fatalf("entry %v re-parses to %v, %v", e, again, err)
			}
			port := e.Port
			if port == 0 {
				port = DefaultPort
			}
			o := Origin{host: e.Host, port: port}
			if m, ok := l.Match(o); !ok || m.Host != e.Host {
				t.Fatalf("list does not match its own entry %v", e)
			}
		}
	})
}
