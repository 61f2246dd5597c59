package tui

import (
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// A span is a run of text with one style. Text from the network is marked
// untrusted: the layout passes it through safetext.Sanitize one character at a
// time, so an escape such as \x1b is one unbreakable unit when lines wrap.
type span struct {
	text      string
	untrusted bool
	style     lipgloss.Style
}

// ours is text written by this package: shown as is.
func ours(s string, st lipgloss.Style) span { return span{text: s, style: st} }

// network is text that came from the network (or from the environment, such
// as a path under $XDG_CONFIG_HOME): sanitized before display.
func network(s string, st lipgloss.Style) span { return span{text: s, untrusted: true, style: st} }

// atom is the smallest unit the wrapper places: one sanitized character (or
// its visible escape) or one character of our own text.
type atom struct {
	text  string
	width int
	space bool // a space of our own text: a line may break here, and drops it
	brk   bool // a line may break after this atom (after '.', '/', '-', ',')
	style int  // index into the paragraph's spans
}

func atomsOf(spans []span) []atom {
	var out []atom
	for si, sp := range spans {
		for i := 0; i < len(sp.text); {
			_, size := utf8.DecodeRuneInString(sp.text[i:])
			raw := sp.text[i : i+size]
			i += size
			text := raw
			if sp.untrusted {
				text = safetext.Sanitize(raw)
			}
			a := atom{text: text, width: cellWidth(text), style: si}
			switch {
			case raw == " " && !sp.untrusted:
				a.space = true
			case raw == "." || raw == "/" || raw == "-" || raw == "," || raw == ";" || raw == " ":
				a.brk = true
			}
			out = append(out, a)
		}
	}
	return out
}

// cellWidth is the width of s in terminal cells. Terminals disagree on some
// characters (grapheme clusters against per-rune widths), so it takes the
// larger of the two measures: a line may come out a cell short, never long.
func cellWidth(s string) int {
	return max(ansi.StringWidth(s), ansi.StringWidthWc(s))
}

// wrap lays spans out in lines of at most width cells, the first prefixed by
// first and the others by rest (our own, unstyled text). It breaks at spaces
// of our own text; a word longer than a line is broken after '.', '/', '-',
// ',' or ';' where it can, else anywhere between two atoms. Nothing is ever
// cut: every atom appears on some line.
func wrap(width int, first, rest string, spans ...span) []string {
	avail := max(width-max(cellWidth(first), cellWidth(rest)), 1)
	atoms := atomsOf(spans)
	// next[i] is, for a space, the width of the word after it: a word that
	// fits on a line of its own is not broken to fill the end of this one.
	next := make([]int, len(atoms))
	for i, word := len(atoms)-1, 0; i >= 0; i-- {
		if atoms[i].space {
			next[i], word = word, 0
		} else {
			word += atoms[i].width
		}
	}
	var lines [][]atom
	var line []atom
	w := 0          // width of line
	lastBreak := -1 // index in line after which it may break
	flush := func(l []atom) {
		lines = append(lines, trimSpaces(l))
		line, w, lastBreak = nil, 0, -1
	}
	for i, a := range atoms {
		if a.space && len(line) == 0 {
			continue // no leading space on a continuation line
		}
		if a.space && w+a.width+next[i] > avail && next[i] <= avail {
			flush(line)
			continue
		}
		for w+a.width > avail && len(line) > 0 {
			switch {
			case a.space:
				flush(line) // break at this space, which is dropped
			case lastBreak >= 0 && lastBreak < len(line)-1:
				// Break at the last opportunity and carry the tail of the
				// word over; the tail holds no break, so if it is still too
				// long the next round cuts it hard.
				carry := append([]atom(nil), line[lastBreak+1:]...)
				flush(line[:lastBreak+1])
				line = carry
				for _, c := range carry {
					w += c.width
				}
			default:
				flush(line) // a word longer than a line: break inside it
			}
		}
		if a.space && len(line) == 0 {
			continue
		}
		line = append(line, a)
		w += a.width
		if a.space || a.brk {
			lastBreak = len(line) - 1
		}
	}
	if len(line) > 0 || len(lines) == 0 {
		flush(line)
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		prefix := rest
		if i == 0 {
			prefix = first
		}
		out[i] = prefix + renderAtoms(l, spans)
	}
	return out
}

func trimSpaces(line []atom) []atom {
	for len(line) > 0 && line[len(line)-1].space {
		line = line[:len(line)-1]
	}
	return line
}

// renderAtoms joins atoms into runs of one style and renders each run.
func renderAtoms(line []atom, spans []span) string {
	var b strings.Builder
	for i := 0; i < len(line); {
		j := i
		var run strings.Builder
		for j < len(line) && line[j].style == line[i].style {
			run.WriteString(line[j].text)
			j++
		}
		b.WriteString(spans[line[i].style].style.Render(run.String()))
		i = j
	}
	return b.String()
}

// excerptToWidth is safetext.Excerpt cut to fit width cells rather than a
// number of runes, since a wide character takes two cells.
func excerptToWidth(s string, width int) string {
	for n := width; n > 1; n-- {
		if e := safetext.Excerpt(s, n); cellWidth(e) <= width {
			return e
		}
	}
	return "…"
}
