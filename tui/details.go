package tui

import (
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/trustlaunch/trustlaunch/whitelist"
)

// details is what the prompt shows, as raw strings. Every field except port
// and isIP may hold anything a network peer chose (or, for userList, anything
// in the environment), so the renderers pass them through the layout, which
// sanitizes them; nothing here is trusted to be printable.
type details struct {
	host      string // ASCII host, punycode
	unicode   string // Unicode form when it differs from host, else ""
	domain    string // registrable domain, "" when there is none
	isIP      bool
	port      uint16
	entry     string // the whitelist entry Always writes
	launchURL string // the descriptor URL, raw from the network
	userList  string // the user whitelist path Always writes to
}

func detailsFor(req whitelist.PromptRequest) details {
	o := req.Origin
	return details{
		host:      o.Host(),
		unicode:   o.Unicode(),
		domain:    o.RegistrableDomain(),
		isIP:      o.IsIP(),
		port:      o.Port(),
		entry:     whitelist.EntryFor(o).String(),
		launchURL: req.LaunchURL,
		userList:  req.UserListPath,
	}
}

// launchPath returns the path of a raw URL without decoding it, with "?…" when
// a query follows: the query may carry a single-use ticket and says nothing the
// user can check. Percent-escapes stay escaped, so "%1b" is never turned into
// an ESC byte.
func launchPath(raw string) string {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 || rest[end] != '/' {
		return "/"
	}
	rest = rest[end:]
	q := strings.IndexAny(rest, "?#")
	if q < 0 {
		return rest
	}
	if rest[q] == '?' {
		return rest[:q] + "?…"
	}
	return rest[:q]
}

// styles holds every style of the screen. The plain prompter and NO_COLOR use
// reduced sets; meaning is always carried by text (a "> [No]" marker, a
// "Warning:" word), never by colour alone.
type styles struct {
	question, label, host, warn, focused, choice, help, result lipgloss.Style
}

func colorStyles() styles {
	s := lipgloss.NewStyle()
	return styles{
		question: s.Bold(true),
		label:    s.Faint(true),
		host:     s.Bold(true),
		warn:     s.Bold(true).Foreground(lipgloss.Color("3")),
		focused:  s.Bold(true).Reverse(true),
		choice:   s,
		help:     s.Faint(true),
		result:   s.Bold(true),
	}
}

// monoStyles is for NO_COLOR: text attributes only, no colour and no reverse
// video (https://no-color.org).
func monoStyles() styles {
	s := lipgloss.NewStyle()
	return styles{
		question: s.Bold(true),
		label:    s,
		host:     s.Bold(true),
		warn:     s.Bold(true),
		focused:  s.Bold(true),
		choice:   s,
		help:     s,
		result:   s.Bold(true),
	}
}

// plainStyles emit no escape sequence at all: the plain prompter's and the
// tests' reference rendering.
func plainStyles() styles { return styles{} }

const (
	labelWidth = 10 // "Unicode   "
	indent     = "  "
)

// body lays out the question and the server description in width columns:
// everything the two prompters have in common. A blank string is a spacer
// that compact layouts may drop.
func body(d details, width int, st styles) []string {
	var out []string
	out = append(out, wrap(width, "", "", ours(whitelist.Question+"?", st.question))...)
	out = append(out, "")

	field := func(label string, value ...span) {
		// Wrap under a blank label of the same width, then put the styled
		// label in its place: the layout measures unstyled prefixes.
		blank := indent + strings.Repeat(" ", labelWidth)
		lines := wrap(width, blank, blank, value...)
		lines[0] = indent + st.label.Render(label+strings.Repeat(" ", labelWidth-len(label))) + lines[0][len(blank):]
		out = append(out, lines...)
	}

	field("Server", network(d.host, st.host))
	if d.unicode != "" {
		field("Unicode", network(d.unicode, st.host))
		out = append(out, wrap(width, indent, indent+"  ",
			ours("! Warning: this name uses non-ASCII characters; check it letter by letter.", st.warn))...)
	}
	switch {
	case d.domain != "":
		field("Domain", network(d.domain, st.host))
	case d.isIP:
		field("Domain", ours("none (an IP address)", st.choice))
	default:
		field("Domain", ours("none", st.choice))
	}
	if d.port != whitelist.DefaultPort {
		field("Port", ours(strconv.Itoa(int(d.port)), st.host))
	}
	// The path is cut, not wrapped: it helps recognise the portal, but the
	// decision is about the server, which is never cut.
	field("Path", ours(excerptToWidth(launchPath(d.launchURL), width-len(indent)-labelWidth), st.choice))
	out = append(out, "")
	out = append(out, wrap(width, indent, indent,
		ours("Always adds ", st.choice), network(d.entry, st.host),
		ours(" to your whitelist (", st.choice), network(d.userList, st.choice), ours(")", st.choice))...)
	return out
}
