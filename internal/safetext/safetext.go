// Package safetext is the one sanitizer for text that came from the network
// (hosts, URLs, proxy status lines, descriptor fields) before a terminal, a log
// or an error message sees it.
//
// A terminal interprets C0/C1 controls and escape sequences: CSI can clear the
// screen or move the cursor over a trust prompt, OSC 8 forges hyperlinks, OSC 52
// writes the clipboard, a CR overwrites a line, and Unicode bidi controls
// (CVE-2021-42574, "Trojan Source") reorder what is displayed. Sanitize shows
// every such character as a visible escape instead of sending it.
package safetext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize returns s with every character a terminal could act on replaced by
// a visible escape: C0 and C1 controls and DEL as \xNN, bidi and other
// invisible format characters (soft hyphen, zero-width, BOM, tags) and line
// or paragraph separators as \uNNNN, invalid UTF-8 bytes as \xNN. A backslash
// becomes \\ so an escape in the output is never ambiguous with text. The
// result is one line.
func Sanitize(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case mustEscape(r):
			if r > 0xffff {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// Quote returns Sanitize(s) in double quotes, with an inner quote escaped,
// for error messages that name a value: invalid host "a\x1b[2Jb".
func Quote(s string) string {
	return `"` + strings.ReplaceAll(Sanitize(s), `"`, `\"`) + `"`
}

// Inert returns s with every character a terminal could act on escaped, as
// Sanitize does, but leaves backslashes alone: for a whole message that may
// already hold sanitized parts (so "\x1b" stays "\x1b"), where a backslash is
// harmless and only a control character could do anything.
func Inert(s string) string {
	// Sanitize doubles each backslash and adds escapes that start with a
	// single one; undoing the doubling leaves the escapes.
	return strings.ReplaceAll(Sanitize(s), `\\`, `\`)
}

// Describe names a single character that has no place in a URL or host,
// for an error message: "a space", "a backslash", "control character U+001B".
func Describe(r rune) string {
	switch r {
	case '\\':
		return "a backslash"
	case ' ':
		return "a space"
	}
	return fmt.Sprintf("control character %U", r)
}

// QuoteExcerpt is Quote for a value that may be long: Excerpt(s, max) in
// double quotes, an inner quote escaped.
func QuoteExcerpt(s string, max int) string {
	return `"` + strings.ReplaceAll(Excerpt(s, max), `"`, `\"`) + `"`
}

// Excerpt returns Sanitize(s) cut to at most max runes of output, ending in
// "…" when cut. It never cuts inside an escape.
func Excerpt(s string, max int) string {
	if max <= 0 {
		return ""
	}
	out := Sanitize(s)
	if utf8.RuneCountInString(out) <= max {
		return out
	}
	// Cut the input, not the output, so an escape such as \x1b is never split.
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece := Sanitize(string(r))
		k := utf8.RuneCountInString(piece)
		if n+k > max-1 {
			break
		}
		b.WriteString(piece)
		n += k
	}
	b.WriteString("…")
	return b.String()
}

// isPlain reports whether s is printable ASCII without a backslash, the
// common case, which needs no copy.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// mustEscape reports whether a non-ASCII rune could control or disguise what
// a terminal shows.
func mustEscape(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls, including 8-bit CSI (0x9b) and OSC (0x9d)
		return true
	case unicode.Is(unicode.Cf, r): // bidi controls, zero-width, soft hyphen, BOM, tags
		return true
	case unicode.In(r, unicode.Zl, unicode.Zp): // U+2028, U+2029 break lines
		return true
	case unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r), unicode.Is(unicode.Variation_Selector, r):
		return true // invisible: they disguise a name without showing
	case !unicode.IsPrint(r) && !unicode.IsSpace(r):
		return true // unassigned, private use, surrogates, non-characters
	case unicode.IsSpace(r) && r != ' ':
		return true // NBSP, ideographic space and friends look like a space but are not one
	}
	return false
}
