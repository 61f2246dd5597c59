package connector

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// redacted is what a Token shows in place of its value, everywhere.
const redacted = "[redacted]"

// Token is the session token presented to the proxy. It prints as
// "[redacted]" under every fmt verb (%v %+v %#v %s %q %x ...) and through
// String, GoString, MarshalJSON, MarshalText and slog, so a Config or a
// descriptor can be logged or dumped without leaking it (DESIGN.md
// "Connector": the token never appears in argv, logs or error messages).
//
// The value is held by a closure: fmt, reflection-based printers and
// encoders show a func as an address at most, so even a struct that holds a
// Token in an unexported field, printed with a mismatched verb (where fmt
// skips the Formatter), shows no secret.
type Token struct {
	get func() *tokenSecret
}

// tokenSecret is the value and, built on first use, the index that finds
// its spellings in text (scrub, below).
type tokenSecret struct {
	value string
	once  sync.Once
	runs  *runIndex
}

// NewToken returns a Token holding s.
func NewToken(s string) Token {
	if s == "" {
		return Token{}
	}
	sec := &tokenSecret{value: s}
	return Token{get: func() *tokenSecret { return sec }}
}

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.get == nil }

// reveal returns the secret. Only the transports call it, to write the
// token to a connection that has passed every TLS check.
func (t Token) reveal() string {
	if t.get == nil {
		return ""
	}
	return t.get().value
}

// String returns "[redacted]".
func (t Token) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (t Token) GoString() string { return redacted }

// Format writes "[redacted]" whatever the verb, flags, width or precision.
func (t Token) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON returns the JSON string "[redacted]".
func (t Token) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]".
func (t Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// UnmarshalText sets the token from text, so that a descriptor struct can
// decode a JSON string straight into a Token field.
func (t *Token) UnmarshalText(text []byte) error {
	if t == nil {
		return errors.New("connector: UnmarshalText on nil *Token")
	}
	*t = NewToken(string(text))
	return nil
}

// LogValue makes log/slog print "[redacted]".
func (t Token) LogValue() slog.Value { return slog.StringValue(redacted) }

// validToken checks that the token can travel in an HTTP header and a URL
// query without changing the request: visible ASCII only (RFC 9110
// field-value, RFC 6750 b64token is a subset). The error never shows it.
func validToken(t Token) error {
	s := t.reveal()
	if s == "" {
		return errors.New("token is empty")
	}
	if len(s) > 16<<10 {
		return fmt.Errorf("token is %d bytes long, more than 16 KiB", len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("token has a character other than visible ASCII at byte %d", i)
		}
	}
	return nil
}

// Spellings of the token: the one definition, which every text of the
// connector that could hold network text goes through (scrub, and through
// it redactToken, withoutToken, proxyText and the WebSocket close reasons).
//
// A proxy that rejects a credential often quotes it back, and not always
// as it was sent: the WebSocket transport sends the token query-escaped, a
// proxy may decode that as a form (a "+" becomes a space), re-escape it with
// lower-case hex, upper-case it, quote it as a Go or JSON string, re-encode
// base64 with the URL alphabet, or cut it short. So the token is not looked
// for as bytes but as a spelling:
//
//   - a text and the token are both looked at in up to maxDecode+1 views:
//     as they are, and with each of maxDecode rounds of decoding applied,
//     where one round decodes every %XX (either case of hex) and every
//     \xXX and \u00XX of Go and JSON strings;
//   - in every view, bytes are compared after fold: ASCII case is ignored,
//     "+", "-" and " " are one character (base64, base64url, a form's
//     space), and so are "/" and "_" (base64, base64url); backslashes are
//     left out, so the quoting of Go and JSON (\\ \" \/) changes nothing
//     and needs no pairing, which a backslash in the text before an echo
//     would throw off;
//   - a run of the token is any minRun consecutive characters of one of its
//     views (the whole view when it is shorter); a text holds the token
//     wherever one of its views holds such a run, and the bytes of the text
//     behind every such run, and so behind every longer one, are replaced
//     by "[redacted]".
//
// A run of 16 characters of a JWT or an opaque token carries about 96 bits,
// enough to matter; shorter runs are left, since a cut that short also
// matches ordinary words. Matching all windows of length minRun finds every
// longer run too (each of its windows is a window of the token), in time
// linear in the text: the token's windows are indexed once, in a map, when
// the token is first used to scrub.
const (
	minRun    = 16
	maxDecode = 2
)

// runIndex holds every window of the token's views, for each window length
// in use (minRun, or a shorter view's whole length).
type runIndex struct {
	windows map[int]map[[minRun]byte]struct{}
}

func (t *tokenSecret) index() *runIndex {
	t.once.Do(func() {
		ix := &runIndex{windows: map[int]map[[minRun]byte]struct{}{}}
		for _, v := range views(t.value) {
			w := min(minRun, len(v.b))
			if w == 0 {
				continue
			}
			set := ix.windows[w]
			if set == nil {
				set = map[[minRun]byte]struct{}{}
				ix.windows[w] = set
			}
			for i := 0; i+w <= len(v.b); i++ {
				var k [minRun]byte
				copy(k[:], v.b[i:i+w])
				set[k] = struct{}{}
			}
		}
		t.runs = ix
	})
	return t.runs
}

// view is a text decoded zero or more rounds and folded; the bytes of b[i]
// came from text[from[i]:to[i]].
type view struct {
	b        []byte
	from, to []int32
}

// views returns s as it is and after each round of decoding that changes
// it, folded.
func views(s string) []view {
	v := view{b: []byte(s), from: make([]int32, len(s)), to: make([]int32, len(s))}
	for i := range s {
		v.from[i], v.to[i] = int32(i), int32(i+1)
	}
	out := make([]view, 0, maxDecode+1)
	for round := 0; ; round++ {
		folded := view{b: make([]byte, 0, len(v.b)), from: make([]int32, 0, len(v.b)), to: make([]int32, 0, len(v.b))}
		for i, c := range v.b {
			if c == '\\' {
				continue
			}
			folded.b = append(folded.b, fold(c))
			folded.from = append(folded.from, v.from[i])
			folded.to = append(folded.to, v.to[i])
		}
		out = append(out, folded)
		if round == maxDecode {
			return out
		}
		next, changed := decode(v)
		if !changed {
			return out
		}
		v = next
	}
}

// fold maps the bytes that spellings of the token exchange to one byte
// (backslashes, left out, never reach it).
func fold(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + ('a' - 'A')
	case c == ' ' || c == '-':
		return '+'
	case c == '_':
		return '/'
	}
	return c
}

// decode runs one round of decoding on v: %XX, and the \xXX and \u00XX
// escapes of Go and JSON strings for an ASCII byte, wherever they stand
// (a backslash before them may be a quoted one or a stray one: the result
// drops it anyway).
func decode(v view) (view, bool) {
	n := len(v.b)
	out := view{b: make([]byte, 0, n), from: make([]int32, 0, n), to: make([]int32, 0, n)}
	changed := false
	emit := func(c byte, i, j int) { // c stands for v.b[i:j]
		out.b = append(out.b, c)
		out.from = append(out.from, v.from[i])
		out.to = append(out.to, v.to[j-1])
	}
	for i := 0; i < n; {
		c := v.b[i]
		switch {
		case c == '%' && i+2 < n && isHex(v.b[i+1]) && isHex(v.b[i+2]):
			emit(unhex(v.b[i+1])<<4|unhex(v.b[i+2]), i, i+3)
			i += 3
			changed = true
			continue
		case c == '\\' && i+3 < n && v.b[i+1] == 'x' && isHex(v.b[i+2]) && isHex(v.b[i+3]):
			emit(unhex(v.b[i+2])<<4|unhex(v.b[i+3]), i, i+4)
			i += 4
			changed = true
			continue
		case c == '\\' && i+5 < n && v.b[i+1] == 'u' && v.b[i+2] == '0' && v.b[i+3] == '0' && isHex(v.b[i+4]) && isHex(v.b[i+5]) && unhex(v.b[i+4]) < 8:
			emit(unhex(v.b[i+4])<<4|unhex(v.b[i+5]), i, i+6)
			i += 6
			changed = true
			continue
		}
		emit(c, i, i+1)
		i++
	}
	return out, changed
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// scrub returns s with every spelling of every run of the token (see
// "Spellings of the token" above) replaced by "[redacted]". It is for text
// from the network, such as a proxy's status line, and runs before any
// excerpt or escaping, which would cut a run short of minRun or change its
// bytes. A replacement can join text into a new run ("ab" + run + "cd"
// where the token holds "ab[redacted]cd"), so scrub repeats until nothing
// changes, a few rounds at most.
func (t Token) scrub(s string) string {
	if t.get == nil || s == "" {
		return s
	}
	ix := t.get().index()
	for range 4 {
		next := ix.redact(s)
		if next == s {
			break
		}
		s = next
	}
	return s
}

// redact makes one pass of scrub.
func (ix *runIndex) redact(s string) string {
	// cover[i] > 0 where byte i of s is part of a run: a difference array
	// over the runs' byte ranges.
	var cover []int32
	for _, v := range views(s) {
		for w, set := range ix.windows {
			for i := 0; i+w <= len(v.b); i++ {
				var k [minRun]byte
				copy(k[:], v.b[i:i+w])
				if _, ok := set[k]; !ok {
					continue
				}
				if cover == nil {
					cover = make([]int32, len(s)+1)
				}
				cover[v.from[i]]++
				cover[v.to[i+w-1]]--
			}
		}
	}
	if cover == nil {
		return s
	}
	var b strings.Builder
	depth := int32(0)
	inRun := false
	for i := 0; i < len(s); i++ {
		depth += cover[i]
		switch {
		case depth > 0 && !inRun:
			b.WriteString(redacted)
			inRun = true
		case depth == 0:
			inRun = false
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
