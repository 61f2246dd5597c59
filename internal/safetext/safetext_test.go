package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "portal.example.com", "portal.example.com"},
		{"unicode letters kept", "bücher.example", "bücher.example"},
		{"csi clear screen", "a\x1b[2Jb", `a\x1b[2Jb`},
		{"cursor up", "x\x1b[1A\x1b[2Ky", `x\x1b[1A\x1b[2Ky`},
		{"osc 8 hyperlink", "\x1b]8;;https://evil/\x1b\\click\x1b]8;;\x1b\\", `\x1b]8;;https://evil/\x1b\\click\x1b]8;;\x1b\\`},
		{"osc 52 clipboard", "\x1b]52;c;Y3VybCBldmlsfHNo\x07", `\x1b]52;c;Y3VybCBldmlsfHNo\x07`},
		{"title change", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"8-bit csi", "a\u009b2Jb", `a\u009b2Jb`},
		{"bidi rlo", "good\u202emoc.live", `good\u202emoc.live`},
		{"bidi isolate", "a\u2066b\u2069", `a\u2066b\u2069`},
		{"carriage return overwrite", "evil.com\rgood.com", `evil.com\x0dgood.com`},
		{"newline", "a\nb", `a\x0ab`},
		{"backspaces", "good\b\b\b\bevil", `good\x08\x08\x08\x08evil`},
		{"nul", "a\x00b", `a\x00b`},
		{"del", "a\x7fb", `a\x7fb`},
		{"backslash is escaped", `a\x1b`, `a\\x1b`},
		{"soft hyphen", "exam\u00adple", `exam\u00adple`},
		{"zero width space", "exa\u200bmple", `exa\u200bmple`},
		{"zero width joiner", "a\u200db", `a\u200db`},
		{"bom", "\ufeffx", `\ufeffx`},
		{"tag character", "a\U000e0041", `a\U000e0041`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"nbsp", "a\u00a0b", `a\u00a0b`},
		{"invalid utf8", "a\xffb", `a\xffb`},
		{"tab", "a\tb", `a\x09b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			assertInert(t, got)
		})
	}
}

func TestSanitizeLongHost(t *testing.T) {
	in := strings.Repeat("a\x1b", 2048) // a 4 KiB host full of escapes
	got := Sanitize(in)
	assertInert(t, got)
	if strings.Count(got, `\x1b`) != 2048 {
		t.Errorf("lost escapes: %d", strings.Count(got, `\x1b`))
	}
}

func TestQuote(t *testing.T) {
	if got, want := Quote("a\"b\x1b"), `"a\"b\x1b"`; got != want {
		t.Errorf("Quote = %s, want %s", got, want)
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghijkl", 5, "abcd…"},
		{"ab\x1bcdef", 5, "ab…"}, // \x1b would need 4 more: never split an escape
		{"ab\x1bcdef", 7, `ab\x1b…`},
		{"x", 0, ""},
	}
	for _, tt := range tests {
		if got := Excerpt(tt.in, tt.max); got != tt.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if utf8.RuneCountInString(Excerpt(tt.in, tt.max)) > tt.max {
			t.Errorf("Excerpt(%q, %d) too long", tt.in, tt.max)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"a\x1b[2J", "\u202e", "\xff\xfe", `\\`, "ok.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		assertInert(t, got)
		if Sanitize(got) != got && !strings.Contains(got, `\`) {
			t.Errorf("not idempotent on escape-free output %q", got)
		}
	})
}

// assertInert fails if out contains anything a terminal could act on.
func assertInert(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("output is not valid UTF-8: %q", out)
	}
	for _, r := range out {
		if r < 0x20 || r == 0x7f || mustEscape(r) {
			t.Fatalf("output %q still contains %U", out, r)
		}
	}
}

func TestQuoteExcerptAndDescribe(t *testing.T) {
	if got, want := QuoteExcerpt("ab\"c\x1bdef", 6), `"ab"c…"`; got != strings.Replace(want, `"c`, `\"c`, 1) {
		t.Errorf("QuoteExcerpt = %s", got)
	}
	for r, want := range map[rune]string{' ': "a space", '\\': "a backslash", 0x1b: "control character U+001B"} {
		if got := Describe(r); got != want {
			t.Errorf("Describe(%U) = %q, want %q", r, got, want)
		}
	}
}

func TestInert(t *testing.T) {
	tests := map[string]string{
		`already \x1b[2J sanitized`: `already \x1b[2J sanitized`,
		"raw \x1b]0;t\x07 title":    `raw \x1b]0;t\x07 title`,
		"mixed \\ and \x1b":         `mixed \ and \x1b`,
		"plain":                     "plain",
		"bidi \u202e":               `bidi \u202e`,
	}
	for in, want := range tests {
		got := Inert(in)
		if got != want {
			t.Errorf("Inert(%q) = %q, want %q", in, got, want)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || mustEscape(r) {
				t.Errorf("Inert(%q) still holds %U", in, r)
			}
		}
	}
}
