package redact

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// Redacted is what Scrub writes in place of a secret.
const Redacted = "[redacted]"

// Lengths of the spelling rules (see the package documentation).
const (
	// MinRun is the shortest cut of a secret's form that Scrub catches.
	MinRun = 16
	// minEncoded is the shortest encoded form that is looked for.
	minEncoded = 8
	// maxDecode is how many rounds of decoding a text and a secret are
	// looked at after.
	maxDecode = 2
	// minQueryValue is the shortest query value AddQuery takes for a
	// secret: shorter ones ("1", "en") are not tickets, and would scrub
	// words.
	minQueryValue = 6
)

// Set is the registry of the secrets a process holds, and the scrubber
// that removes them from text. The zero Set holds none and is ready to
// use; a Set is safe for concurrent use. A nil *Set scrubs nothing (it
// holds nothing), and adding to it panics: a secret must never be dropped
// silently.
//
// A Set never shows what it holds: every fmt verb prints a count.
type Set struct {
	mu      sync.RWMutex
	known   map[string]struct{} // every secret added, so that adding again costs nothing
	pending []string            // added, not yet in windows
	windows map[int]map[[MinRun]byte]struct{}
}

// Add registers secret. Empty strings are ignored.
func (s *Set) Add(secret string) {
	if secret == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.known[secret]; ok {
		return
	}
	if s.known == nil {
		s.known = map[string]struct{}{}
	}
	s.known[secret] = struct{}{}
	s.pending = append(s.pending, secret)
}

// AddQuery registers the query and the fragment of a URL, as written and
// decoded, and each of their values of at least 6 bytes: a descriptor or
// detect URL carries a single-use ticket or a one-time id there.
func (s *Set) AddQuery(rawURL string) {
	_, rest, ok := strings.Cut(rawURL, "?")
	if !ok {
		_, rest, ok = strings.Cut(rawURL, "#")
	}
	if !ok || rest == "" {
		return
	}
	s.Add(rest)
	if un, err := url.QueryUnescape(rest); err == nil {
		s.Add(un)
	}
	for part := range strings.SplitSeq(strings.ReplaceAll(rest, "#", "&"), "&") {
		_, v, _ := strings.Cut(part, "=")
		if un, err := url.QueryUnescape(v); err == nil {
			v = un
		}
		if len(v) >= minQueryValue {
			s.Add(v)
		}
	}
}

// Len returns how many secrets the Set holds.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.known)
}

// String names the Set by its size, never its contents.
func (s *Set) String() string { return fmt.Sprintf("redact.Set(%d secrets)", s.Len()) }

// Format writes String whatever the verb, so that no verb reaches the
// secrets or their index by reflection.
func (s *Set) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// Scrub returns text with every spelling of every secret of the Set (see
// the package documentation) replaced by "[redacted]". Call it on text
// from the network, or on a message that may hold some, before any excerpt
// or escaping, which could cut a run short of MinRun or change its bytes.
// A replacement can join text into a new run ("ab" + run + "cd" where a
// secret holds "ab[redacted]cd"), so Scrub repeats until nothing changes,
// a few rounds at most.
func (s *Set) Scrub(text string) string {
	if s == nil || text == "" {
		return text
	}
	for {
		s.mu.RLock()
		if len(s.pending) == 0 {
			break
		}
		s.mu.RUnlock()
		s.mu.Lock()
		s.indexPending()
		s.mu.Unlock()
	}
	defer s.mu.RUnlock()
	if len(s.windows) == 0 {
		return text
	}
	for range 4 {
		next := s.redact(text)
		if next == text {
			break
		}
		text = next
	}
	return text
}

// indexPending adds the windows of every form of the pending secrets.
// s.mu is held for writing.
func (s *Set) indexPending() {
	if s.windows == nil {
		s.windows = map[int]map[[MinRun]byte]struct{}{}
	}
	for _, secret := range s.pending {
		for _, f := range forms(secret) {
			w := min(MinRun, len(f))
			set := s.windows[w]
			if set == nil {
				set = map[[MinRun]byte]struct{}{}
				s.windows[w] = set
			}
			for i := 0; i+w <= len(f); i++ {
				var k [MinRun]byte
				copy(k[:], f[i:i+w])
				set[k] = struct{}{}
			}
		}
	}
	s.pending = nil
}

// forms returns the folded forms of a secret: its views, its query
// escaping, and its base64 encodings at the three alignments (see
// base64At) and padded on its own.
func forms(secret string) [][]byte {
	var out [][]byte
	for _, v := range views(secret) {
		if len(v.b) > 0 {
			out = append(out, v.b)
		}
	}
	// As a query escapes it, for the text's own view: a "%" just before
	// an escaped secret would otherwise take its first characters into an
	// escape when the text is decoded.
	if q := url.QueryEscape(secret); q != secret {
		out = append(out, views(q)[0].b)
	}
	raw := []byte(secret)
	encoded := []string{base64.StdEncoding.EncodeToString(raw)}
	for k := range 3 {
		encoded = append(encoded, base64At(raw, k))
	}
	for _, e := range encoded {
		if len(e) < minEncoded {
			continue
		}
		f := []byte(e)
		for i, c := range f {
			f[i] = fold(c)
		}
		out = append(out, f)
	}
	return out
}

// base64At returns the characters of a standard base64 encoding that
// depend on raw alone, when raw starts k bytes (0, 1 or 2) after a 3-byte
// boundary of a longer encoded message: a character encodes 6 bits of a
// 3-byte group, so the first 0, 2 or 3 characters of the first group hold
// bits of the bytes before raw, and the last character of a group that raw
// does not fill holds bits of the bytes after it.
func base64At(raw []byte, k int) string {
	buf := make([]byte, k+len(raw))
	copy(buf[k:], raw)
	enc := base64.RawStdEncoding.EncodeToString(buf)
	skip := [3]int{0, 2, 3}[k]
	end := len(enc)
	if len(buf)%3 != 0 {
		end--
	}
	if end <= skip {
		return ""
	}
	return enc[skip:end]
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

// fold maps the bytes that spellings of a secret exchange to one byte
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

// redact makes one pass of Scrub. s.mu is held for reading.
func (s *Set) redact(text string) string {
	// cover[i] > 0 where byte i of text is part of a run: a difference
	// array over the runs' byte ranges.
	var cover []int32
	for _, v := range views(text) {
		for w, set := range s.windows {
			for i := 0; i+w <= len(v.b); i++ {
				var k [MinRun]byte
				copy(k[:], v.b[i:i+w])
				if _, ok := set[k]; !ok {
					continue
				}
				if cover == nil {
					cover = make([]int32, len(text)+1)
				}
				cover[v.from[i]]++
				cover[v.to[i+w-1]]--
			}
		}
	}
	if cover == nil {
		return text
	}
	var b strings.Builder
	depth := int32(0)
	inRun := false
	for i := 0; i < len(text); i++ {
		depth += cover[i]
		switch {
		case depth > 0 && !inRun:
			b.WriteString(Redacted)
			inRun = true
		case depth == 0:
			inRun = false
			b.WriteByte(text[i])
		}
	}
	return b.String()
}
