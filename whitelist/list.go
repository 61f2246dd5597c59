package whitelist

import (
	"bytes"

	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Limits on a whitelist file. A real list has hundreds of lines; the caps
// bound memory and time for a hostile or broken file.
const (
	MaxFileSize = 4 << 20 // bytes, before decoding
	MaxLineLen  = 64 << 10
)

// Keyword turns on Allow Admin List Only mode when the first line of the
// admin list contains it, case-insensitively, as in the trusted-server
// list of Pulse Secure / Ivanti Connect Secure. Blank lines before it do not
// count, and neither do comment-only lines: a configuration tool's header
// ("# Managed by Ansible") above the keyword must not switch a list
// meant to be admin-only to prompt mode. In those comments the keyword
// counts too, as it does in a comment on the first line: the stricter
// reading wins.
const Keyword = "AllowAdminListOnly"

// Entry is one trusted server in a whitelist file.
type Entry struct {
	Host string // normalized as Origin.Host
	Port uint16 // 0: any port
	Line int    // 1-based line in the file
}

// String returns the entry as it is written in a file: "host" or "host:port".
func (e Entry) String() string {
	if e.Port == 0 {
		return e.Host
	}
	return e.Host + ":" + strconv.Itoa(int(e.Port))
}

// Matches reports whether the entry admits the origin: the same normalized
// host, and the same port unless the entry names none. Never a substring or
// suffix match: "example.com" does not admit "www.example.com".
func (e Entry) Matches(o Origin) bool {
	return o.host != "" && e.Host == o.host && (e.Port == 0 || e.Port == o.port)
}

// ParseEntry parses one whitelist entry, "host" or "host:port", with the same
// host pipeline as ParseOrigin.
func ParseEntry(s string) (Entry, error) {
	// A "/" or "*" is never part of a host; look closer only when one is there.
	switch {
	case strings.IndexByte(s, '/') >= 0 && strings.Contains(s, "://"):
		hint := ""
		if o, err := ParseOrigin(s); err == nil {
			hint = "; write " + Entry{Host: o.host, Port: portUnlessDefault(o.port)}.String()
		}
		return Entry{}, fmt.Errorf("%s is a URL, not a host%s", safetext.Quote(s), hint)
	case strings.IndexByte(s, '*') >= 0:
		return Entry{}, fmt.Errorf("%s: wildcards are not supported; an entry matches exactly one host, so list each host", safetext.Quote(s))
	case strings.IndexByte(s, ',') >= 0:
		// A list pasted from a spreadsheet or a mail: the host pipeline
		// would call it a disallowed rune, which says nothing to a person.
		return Entry{}, fmt.Errorf("%s has a comma: one entry per line, or separate entries with spaces", safetext.Quote(s))
	}
	o, err := parseAuthority(s, false)
	if err != nil {
		return Entry{}, fmt.Errorf("invalid host %s: %w", safetext.Quote(s), err)
	}
	return Entry{Host: o.host, Port: o.port}, nil
}

// EntryFor returns the entry that Always writes for an origin: the host with
// its port, 443 included, so that the user's yes to https://host/ does not
// also admit other services on other ports of that host. A bare host (any
// port) is for administrators who mean it.
func EntryFor(o Origin) Entry {
	return Entry{Host: o.host, Port: o.port}
}

func portUnlessDefault(p uint16) uint16 {
	if p == DefaultPort {
		return 0
	}
	return p
}

// Problem is something wrong on one line of a whitelist file. Parse skips the
// entry; `trustlaunch whitelist check` reports it as FILE:LINE: message.
// A Warning is a line that is valid but probably not what its writer
// meant (a space where a dot was meant): the entries stay as written,
// since a linter that changed what a file means would make the file mean
// two things.
type Problem struct {
	Line    int
	Msg     string // sanitized
	Warning bool
}

func (p Problem) String() string {
	if p.Warning {
		return strconv.Itoa(p.Line) + ": warning: " + p.Msg
	}
	return strconv.Itoa(p.Line) + ": " + p.Msg
}

// List is a parsed whitelist file.
type List struct {
	Path      string  // where it was read from, for messages
	AdminOnly bool    // the first line (see Keyword) contains Keyword
	Entries   []Entry // valid entries in file order, duplicates removed
	byHost    map[string]hostRule
	// ModeFrom names where AdminOnly came from when that is not Path (a
	// Group Policy value, or the file when the entries are Group Policy's).
	ModeFrom string
	// Registry: the entries are Group Policy's, Path is the registry key
	// and each Entry.Line is its value's number (NewList).
	Registry bool
}

// hostRule indexes the entries for one host so that Match is one map lookup
// with no allocation.
type hostRule struct {
	anyPort int         // index into Entries of a port-less entry, or -1
	ports   []portEntry // entries with a port
}

type portEntry struct {
	port uint16
	idx  int
}

// Match returns the first entry that admits o.
func (l *List) Match(o Origin) (Entry, bool) {
	if l == nil || o.host == "" {
		return Entry{}, false
	}
	r, ok := l.byHost[o.host]
	if !ok {
		return Entry{}, false
	}
	if r.anyPort >= 0 {
		return l.Entries[r.anyPort], true
	}
	for _, p := range r.ports {
		if p.port == o.port {
			return l.Entries[p.idx], true
		}
	}
	return Entry{}, false
}

// add indexes e unless the same entry is already there; it returns the line
// of the earlier copy when it is a duplicate.
func (l *List) add(e Entry) (dupLine int) {
	r, ok := l.byHost[e.Host]
	if !ok {
		r = hostRule{anyPort: -1}
	}
	if e.Port == 0 {
		if r.anyPort >= 0 {
			return l.Entries[r.anyPort].Line
		}
		r.anyPort = len(l.Entries)
	} else {
		for _, p := range r.ports {
			if p.port == e.Port {
				return l.Entries[p.idx].Line
			}
		}
		r.ports = append(r.ports, portEntry{e.Port, len(l.Entries)})
	}
	l.byHost[e.Host] = r
	l.Entries = append(l.Entries, e)
	return 0
}

// FormatError is a whitelist file that cannot be read as text at all: too
// large, or in an encoding we do not accept. Unlike a Problem it is fatal.
type FormatError struct {
	Path string
	Line int // 0 when it concerns the whole file
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// Parse parses a whitelist file: one or more whitespace-separated entries a
// line, "#" starting a comment, UTF-8 with or without BOM or UTF-16 with BOM,
// CRLF or LF. Invalid entries are skipped and reported as problems; an
// encoding or size error is fatal. Keyword counts on the first line with
// anything outside a comment, and in the comments above it.
func Parse(path string, data []byte) (*List, []Problem, error) {
	text, err := decode(path, data)
	if err != nil {
		return nil, nil, err
	}
	lines := strings.Count(text, "\n") + 1
	l := &List{Path: path, byHost: make(map[string]hostRule, lines), Entries: make([]Entry, 0, lines)}
	var probs []Problem
	seenBody := false // a line with something outside its comment was seen
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		line = strings.TrimSuffix(line, "\r")
		body, comment, _ := strings.Cut(line, "#")
		// Keyword counts on every line up to and including the first one
		// with something outside a comment: the seed's "first line", with
		// the blank and comment-only lines a tool may put above it.
		first := !seenBody
		seenBody = seenBody || strings.TrimSpace(body) != ""
		if len(line) > MaxLineLen {
			// Even a line too long to read for entries decides the mode if
			// it is a first line: losing the keyword would fail open.
			if first && containsFold(line, Keyword) {
				l.AdminOnly = true
			}
			probs = append(probs, Problem{Line: lineNo, Msg: fmt.Sprintf("line is longer than %d bytes; skipped", MaxLineLen)})
			continue
		}
		if first {
			// The seed's rule: the first line "contains" the keyword, even in a
			// comment; the stricter mode wins when in doubt.
			if containsFold(line, Keyword) {
				l.AdminOnly = true
				if containsFold(comment, Keyword) && !containsFold(body, Keyword) {
					probs = append(probs, Problem{Line: lineNo, Msg: Keyword + " inside a comment still turns on admin-only mode; write it outside the comment to make that plain"})
				}
			} else if nearKeyword(line) {
				// A misspelt keyword ("AllowAdminOnly") would otherwise
				// run the list in prompt mode without a word, and its
				// words would become host entries. Report it and read
				// nothing from the line.
				probs = append(probs, Problem{Line: lineNo, Msg: fmt.Sprintf("%s looks like a misspelt %s, which it is not: the list stays in prompt mode and this line is not read as entries; write %s exactly (any case), or remove the line",
					safetext.QuoteExcerpt(strings.TrimSpace(line), 80), Keyword, Keyword)})
				continue
			}
		}
		probs = l.addLine(lineNo, body, first, probs)
		if !first && containsFold(comment, Keyword) {
			probs = append(probs, Problem{Line: lineNo, Msg: Keyword + " counts only at the top of the file, on the first line with entries or in a comment above it; here it is ignored"})
		}
	}
	return l, probs, nil
}

// addLine adds the entries of one line's body (its text outside the
// comment) and returns probs with the line's problems and warnings.
// first says the line may hold Keyword.
func (l *List) addLine(lineNo int, body string, first bool, probs []Problem) []Problem {
	var lineEntries []Entry // the valid entries of this line, for lintLine
	for rest := body; ; {
		var tok string
		if tok, rest = nextField(rest); tok == "" {
			break
		}
		if strings.EqualFold(tok, Keyword) {
			if !first {
				probs = append(probs, Problem{Line: lineNo, Msg: Keyword + " counts only at the top of the file, on the first line with entries or in a comment above it; here it is ignored"})
			}
			continue
		}
		e, err := ParseEntry(tok)
		if err != nil {
			probs = append(probs, Problem{Line: lineNo, Msg: err.Error()})
			continue
		}
		e.Line = lineNo
		lineEntries = append(lineEntries, e)
		if dup := l.add(e); dup != 0 {
			probs = append(probs, Problem{Line: lineNo, Msg: fmt.Sprintf("duplicate entry %s (first on line %d)", e, dup)})
		}
	}
	if w := lintLine(lineEntries); w != "" {
		probs = append(probs, Problem{Line: lineNo, Msg: w, Warning: true})
	}
	return probs
}

// lintLine returns a warning about the valid entries of one line, "" when
// they look as meant. Two mistakes are common enough to name:
//
//   - a space typed for a dot: "portal example.com" is two entries, the
//     single-label host "portal" and the bare domain "example.com", which
//     trusts a server nobody asked for;
//   - a single-label host alone ("portal"), which matches only a link
//     that names the short name, resolved through the DNS search list of
//     whichever network the machine is on.
//
// IP addresses have no labels to miss and are never warned about.
func lintLine(es []Entry) string {
	single := -1
	for i, e := range es {
		if isSingleLabel(e.Host) {
			single = i
			break
		}
	}
	switch {
	case single < 0:
		return ""
	case len(es) > 1:
		words := make([]string, len(es))
		for i, e := range es {
			words[i] = e.String()
		}
		joined := strings.Join(words, " ")
		return fmt.Sprintf("%s is %d entries, %s; if a dot was meant, write %s (several entries on a line are separated by spaces, and a bare domain admits that exact host only)",
			safetext.Quote(joined), len(es), quotedList(words), strings.Join(words, "."))
	}
	return fmt.Sprintf("%s is a single-label host (no dot): it matches only links that use the short name; write the full name, such as %s.example.com", safetext.Quote(es[single].String()), es[single].Host)
}

// isSingleLabel reports whether a normalized host is a name without a dot.
func isSingleLabel(host string) bool {
	return host != "" && !strings.ContainsAny(host, ".:[")
}

// quotedList returns "a" and "b", or "a", "b" and "c".
func quotedList(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = safetext.Quote(w)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// decode returns the file as UTF-8 text without BOM.
func decode(path string, data []byte) (string, error) {
	if len(data) > MaxFileSize {
		return "", &FormatError{Path: path, Msg: fmt.Sprintf("file is larger than %d MiB", MaxFileSize>>20)}
	}
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return decodeUTF16(path, data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(path, data[2:], true)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return "", &FormatError{Path: path, Line: 1 + bytes.Count(data[:i], []byte{'\n'}),
			Msg: "NUL byte: UTF-16 without a byte-order mark? save the file as UTF-8, or UTF-16 with BOM"}
	}
	if !utf8.Valid(data) {
		bad := 0
		for i := 0; i < len(data); {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				bad = i
				break
			}
			i += size
		}
		return "", &FormatError{Path: path, Line: 1 + bytes.Count(data[:bad], []byte{'\n'}),
			Msg: "not valid UTF-8 (a legacy code page?); save the file as UTF-8 or UTF-16 with BOM"}
	}
	return string(data), nil
}

func decodeUTF16(path string, data []byte, bigEndian bool) (string, error) {
	if len(data)%2 != 0 {
		return "", &FormatError{Path: path, Msg: "UTF-16 file has an odd number of bytes"}
	}
	u := make([]uint16, len(data)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			u[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	var b strings.Builder
	b.Grow(len(u))
	line := 1
	for i := 0; i < len(u); i++ {
		r := rune(u[i])
		switch {
		case utf16.IsSurrogate(r):
			if i+1 < len(u) {
				if d := utf16.DecodeRune(r, rune(u[i+1])); d != utf8.RuneError {
					b.WriteRune(d)
					i++
					continue
				}
			}
			return "", &FormatError{Path: path, Line: line, Msg: "invalid UTF-16 (unpaired surrogate)"}
		case r == 0:
			return "", &FormatError{Path: path, Line: line, Msg: "NUL character in UTF-16 text"}
		case r == '\n':
			line++
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

// nearKeyword reports whether a first line that does not contain Keyword
// was probably meant to: without white space and case, it contains
// "allowadmin" or "adminlistonly". A host on the first line whose name
// holds one of those is reported too, which is the safe direction.
func nearKeyword(line string) bool {
	var b strings.Builder
	for _, r := range line {
		if unicode.IsSpace(r) {
			continue
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	squeezed := b.String()
	return strings.Contains(squeezed, "allowadmin") || strings.Contains(squeezed, "adminlistonly")
}

// containsFold reports whether s contains substr, ASCII case-insensitively.
func containsFold(s, substr string) bool {
	n := len(substr)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], substr) {
			return true
		}
	}
	return false
}

// nextField returns the first token of s separated by ASCII white space,
// and the rest of s after it; tok is "" when s holds no more tokens. Unlike
// strings.Fields it does not split on Unicode spaces: a no-break space inside
// an entry is reported as an invalid host rather than silently splitting it.
func nextField(s string) (tok, rest string) {
	i := 0
	for i < len(s) && asciiSpace[s[i]] {
		i++
	}
	j := i
	for j < len(s) && !asciiSpace[s[j]] {
		j++
	}
	return s[i:j], s[j:]
}

var asciiSpace = [256]bool{' ': true, '\t': true, '\v': true, '\f': true, '\r': true}
