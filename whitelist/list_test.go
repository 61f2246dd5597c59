package whitelist

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16File(s string, bigEndian bool) []byte {
	u := utf16.Encode([]rune(s))
	var b bytes.Buffer
	if bigEndian {
		b.Write([]byte{0xFE, 0xFF})
	} else {
		b.Write([]byte{0xFF, 0xFE})
	}
	for _, c := range u {
		if bigEndian {
			b.WriteByte(byte(c >> 8))
			b.WriteByte(byte(c))
		} else {
			b.WriteByte(byte(c))
			b.WriteByte(byte(c >> 8))
		}
	}
	return b.Bytes()
}

func TestParse(t *testing.T) {
	const seedList = "AllowAdminListOnly qa.pulsesecure.net dev1.pulsesecure.net 66.129.224.48\n"
	tests := []struct {
		name      string
		data      []byte
		adminOnly bool
		entries   string // entries as "line:entry" joined by spaces
		problems  []string
	}{
		{"seed admin-only line", []byte(seedList), true,
			"1:qa.pulsesecure.net 1:dev1.pulsesecure.net 1:66.129.224.48", nil},
		{"one per line", []byte("a.example\nb.example:8443\n\n# c\n"), false,
			"1:a.example 2:b.example:8443", nil},
		{"crlf", []byte("AllowAdminListOnly\r\na.example\r\nb.example\r\n"), true,
			"2:a.example 3:b.example", nil},
		{"utf8 bom", []byte("\xef\xbb\xbfallowadminlistonly\na.example\n"), true, "2:a.example", nil},
		{"utf16le bom", utf16File("AllowAdminListOnly\r\nb\u00fccher.example\r\n", false), true, "2:xn--bcher-kva.example", nil},
		{"utf16be bom", utf16File("a.example\n", true), false, "1:a.example", nil},
		{"keyword case-insensitive", []byte("ALLOWADMINLISTONLY\na.example\n"), true, "2:a.example", nil},
		{"keyword after blank lines", []byte("\n  \t\nAllowAdminListOnly\na.example\n"), true, "4:a.example", nil},
		{"keyword on second line ignored", []byte("a.example\nAllowAdminListOnly\n"), false, "1:a.example",
			[]string{"2: AllowAdminListOnly counts only at the top of the file"}},
		{"keyword after a comment header", []byte("# Managed by Ansible\n#\n\nAllowAdminListOnly\na.example\n"), true, "5:a.example", nil},
		{"keyword after a comment header and an entry ignored", []byte("# header\na.example\nAllowAdminListOnly\n"), false, "2:a.example",
			[]string{"3: AllowAdminListOnly counts only"}},
		{"keyword with entries after a comment header", []byte("# header\nAllowAdminListOnly a.example\n"), true, "2:a.example", nil},
		{"keyword in a comment of the header", []byte("# Managed by Ansible\n# AllowAdminListOnly\na.example\n"), true, "3:a.example",
			[]string{"2: AllowAdminListOnly inside a comment"}},
		{"keyword in a comment after the first entry ignored", []byte("a.example\n# AllowAdminListOnly\n"), false, "1:a.example",
			[]string{"2: AllowAdminListOnly counts only at the top of the file"}},
		{"keyword in first-line comment", []byte("# AllowAdminListOnly\na.example\n"), true, "2:a.example",
			[]string{"1: AllowAdminListOnly inside a comment"}},
		// Near-misses of the keyword on the first line: reported,
		// prompt mode, and the line is not read as entries.
		{"near-miss AllowAdminOnly", []byte("AllowAdminOnly\na.example\n"), false, "2:a.example",
			[]string{`1: "AllowAdminOnly" looks like a misspelt AllowAdminListOnly`}},
		{"near-miss with a space", []byte("Allow AdminListOnly\na.example\n"), false, "2:a.example",
			[]string{`1: "Allow AdminListOnly" looks like a misspelt AllowAdminListOnly`}},
		{"near-miss with a no-break space", []byte("allow\u00a0adminlistonly\na.example\n"), false, "2:a.example",
			[]string{`1: "allow\u00a0adminlistonly" looks like a misspelt`}},
		{"near-miss with entries on its line", []byte("ALLOW ADMIN LIST ONLY portal.example.com\nb.example\n"), false, "2:b.example",
			[]string{`1: "ALLOW ADMIN LIST ONLY portal.example.com" looks like a misspelt`}},
		{"near-miss after a comment header", []byte("# Managed by Puppet\n\nAdminListOnly\na.example\n"), false, "4:a.example",
			[]string{`3: "AdminListOnly" looks like a misspelt`}},
		{"near-miss in a header comment", []byte("# allow admin only\na.example\n"), false, "2:a.example",
			[]string{`1: "# allow admin only" looks like a misspelt`}},
		{"near-miss on a later line is a host", []byte("a.example\nadminlist.example\n"), false, "1:a.example 2:adminlist.example", nil},
		{"not a near-miss", []byte("adminlist.example allow.example\n"), false, "1:adminlist.example 1:allow.example", nil},
		{"comment after entry", []byte("a.example # the portal\n"), false, "1:a.example", nil},
		{"invalid entries skipped", []byte("a.example\n0x7f.1\n*.example.com\nhttps://b.example/\nc..d\n"), false, "1:a.example",
			[]string{"2: invalid host", "3: \"*.example.com\": wildcards", "4: \"https://b.example/\" is a URL, not a host; write b.example", "5: invalid host"}},
		{"duplicates", []byte("a.example\nA.EXAMPLE.\na.example:8443\na.example:8443\n"), false, "1:a.example 3:a.example:8443",
			[]string{"2: duplicate entry a.example (first on line 1)", "4: duplicate entry a.example:8443 (first on line 3)"}},
		{"hostile entry sanitized", []byte("a\x1b[2J.example\n"), false, "",
			[]string{`1: invalid host "a\x1b[2J.example"`}},
		// Warnings: the entries stay as written.
		{"space for a dot", []byte("portal example.com\n"), false, "1:portal 1:example.com",
			[]string{`1: warning: "portal example.com" is 2 entries, "portal" and "example.com"; if a dot was meant, write portal.example.com`}},
		{"space for a dot with a port", []byte("AllowAdminListOnly reports example.com:8443\n"), true, "1:reports 1:example.com:8443",
			[]string{`1: warning: "reports example.com:8443" is 2 entries, "reports" and "example.com:8443"; if a dot was meant, write reports.example.com:8443`}},
		{"single-label host", []byte("intranet\nintranet:8443\n"), false, "1:intranet 2:intranet:8443",
			[]string{`1: warning: "intranet" is a single-label host`, `2: warning: "intranet:8443" is a single-label host`}},
		{"several full names on a line", []byte("a.example b.example 10.0.0.1 [2001:db8::1]\n"), false, "1:a.example 1:b.example 1:10.0.0.1 1:[2001:db8::1]", nil},
		{"comma", []byte("a.example,b.example\nc.example, d.example\n"), false, "2:d.example",
			[]string{`1: "a.example,b.example" has a comma: one entry per line, or separate entries with spaces`, `2: "c.example," has a comma`}},
		{"empty", nil, false, "", nil},
		{"no final newline", []byte("a.example"), false, "1:a.example", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, probs, err := Parse("wl.txt", tt.data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if l.AdminOnly != tt.adminOnly {
				t.Errorf("AdminOnly = %v, want %v", l.AdminOnly, tt.adminOnly)
			}
			var got []string
			for _, e := range l.Entries {
				got = append(got, fmt.Sprintf("%d:%s", e.Line, e))
			}
			if g := strings.Join(got, " "); g != tt.entries {
				t.Errorf("entries = %q, want %q", g, tt.entries)
			}
			if len(probs) != len(tt.problems) {
				t.Fatalf("problems = %q, want %d like %q", probs, len(tt.problems), tt.problems)
			}
			for i, p := range probs {
				if !strings.HasPrefix(p.String(), tt.problems[i]) {
					t.Errorf("problem %d = %q, want prefix %q", i, p, tt.problems[i])
				}
				if strings.ContainsRune(p.String(), 0x1b) {
					t.Errorf("problem carries a raw escape: %q", p)
				}
			}
		})
	}
}

func TestParseFatal(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		errHas string
	}{
		{"utf16 without bom", []byte("a\x00.\x00e\x00x\x00\n\x00"), "wl.txt:1: NUL byte: UTF-16 without a byte-order mark"},
		{"latin1", []byte("a.example\nb\xfccher.example\n"), "wl.txt:2: not valid UTF-8"},
		{"odd utf16", []byte{0xFF, 0xFE, 'a'}, "odd number of bytes"},
		{"unpaired surrogate", append([]byte{0xFF, 0xFE, 'a', 0, '\n', 0}, 0x00, 0xD8, 'b', 0), "wl.txt:2: invalid UTF-16"},
		{"too large", bytes.Repeat([]byte("a.example\n"), MaxFileSize/10+1), "larger than 4 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("wl.txt", tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Parse error = %v, want %q", err, tt.errHas)
			}
		})
	}
}

func TestParseLongLine(t *testing.T) {
	data := []byte("a.example\n" + strings.Repeat("b", MaxLineLen+1) + "\nc.example\n")
	l, probs, err := Parse("wl.txt", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 2 || len(probs) != 1 || probs[0].Line != 2 {
		t.Errorf("entries %v problems %v", l.Entries, probs)
	}
}

func TestListMatch(t *testing.T) {
	l, _, err := Parse("wl.txt", []byte("a.example:8443\na.example:9443\nb.example\n[::1]:443\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		line int // 0: no match
	}{
		{"https://a.example/", 0},
		{"https://a.example:8443/", 1},
		{"https://a.example:9443/", 2},
		{"https://b.example:1/", 3},
		{"https://www.b.example/", 0},
		{"https://[::1]/", 4},
		{"https://[::1]:8443/", 0},
	}
	for _, tt := range tests {
		o, err := ParseOrigin(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		e, ok := l.Match(o)
		if (tt.line != 0) != ok || e.Line != tt.line {
			t.Errorf("Match(%s) = line %d, %v; want line %d", tt.url, e.Line, ok, tt.line)
		}
	}
	var nilList *List
	if _, ok := nilList.Match(Origin{host: "a"}); ok {
		t.Error("nil list matched")
	}
}

// TestParseLongFirstLineKeepsKeyword: a first line too long to read for
// entries still turns on AllowAdminListOnly; losing it would fail open.
func TestParseLongFirstLineKeepsKeyword(t *testing.T) {
	data := []byte("AllowAdminListOnly " + strings.Repeat("a", MaxLineLen) + "\nportal.example.com\n")
	l, probs, err := Parse("admin.txt", data)
	if err != nil {
		t.Fatal(err)
	}
	if !l.AdminOnly || len(probs) != 1 || probs[0].Line != 1 || len(l.Entries) != 1 {
		t.Errorf("AdminOnly %v, problems %v, entries %v", l.AdminOnly, probs, l.Entries)
	}
	// Under a comment header too; and not after the first entry.
	for _, tc := range []struct {
		data      string
		adminOnly bool
	}{
		{"# header\n\nAllowAdminListOnly " + strings.Repeat("a", MaxLineLen) + "\nportal.example.com\n", true},
		{"# header\n# AllowAdminListOnly " + strings.Repeat("a", MaxLineLen) + "\nportal.example.com\n", true},
		{"portal.example.com\nAllowAdminListOnly " + strings.Repeat("a", MaxLineLen) + "\n", false},
	} {
		if l, _, err := Parse("admin.txt", []byte(tc.data)); err != nil || l.AdminOnly != tc.adminOnly {
			t.Errorf("long line %q...: AdminOnly %v, %v; want %v", tc.data[:30], l.AdminOnly, err, tc.adminOnly)
		}
	}
}
