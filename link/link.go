package link

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// MaxLen bounds the link the browser hands over
// (docs/design.md "The link and the descriptor URL").
const MaxLen = 8 << 10

// StepLaunchURL is the step of a record for a trustlaunch:// link that
// Parse refused: nothing was decided, so the record has no origin
// and no descriptor URL, only the error, which never quotes the link's query.
const StepLaunchURL = "launch-url"

// The accepted forms of a link: trustlaunch://launch?url=... and
// trustlaunch://detect?url=..., nothing else. Both prefixes have the same
// length, which the parser relies on.
const (
	launchPrefix = "trustlaunch://launch"
	detectPrefix = "trustlaunch://detect"
)

// Action is what a trustlaunch:// link asks for.
type Action string

const (
	// ActionLaunch is trustlaunch://launch: decide, fetch the descriptor,
	// run the session.
	ActionLaunch Action = "launch"
	// ActionDetect is trustlaunch://detect: a portal's installation check,
	// the same decision without a prompt and a POST to a listed origin
	// only (Detect).
	ActionDetect Action = "detect"
)

// Link is a parsed trustlaunch:// link.
type Link struct {
	Action Action
	URL    string // the url parameter, decoded once: the descriptor URL, or the detect URL
}

// Error is a malformed trustlaunch:// link.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "invalid link: " + e.Reason }

func launchErr(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// DescriptorURL returns the descriptor URL carried by a link of the form
// trustlaunch://launch?url=<percent-encoded URL>; a detect link, or anything
// else, is an error. See Parse.
func DescriptorURL(raw string) (string, error) {
	l, err := Parse(raw)
	if err != nil {
		return "", err
	}
	if l.Action != ActionLaunch {
		return "", launchErr("this is a %s link; want %s?url=", l.Action, launchPrefix)
	}
	return l.URL, nil
}

// Parse returns the action and the URL carried by a link of the form
// trustlaunch://launch?url=<percent-encoded URL> or
// trustlaunch://detect?url=<percent-encoded URL>, with the same rules for
// both (docs/design.md "The link and the descriptor URL"). Anything else is
// an error: another host or path, a fragment, a parameter other than url, url
// twice, a ";" separator, or an escape that does not decode. A query that
// does not parse cleanly is an error, never a partial result, because a
// handler that guesses is a handler an attacker can steer. It does not check
// that the descriptor URL is https: the whitelist decision does, as its first
// step.
//
// The url value is percent-decoded once, and "+" stays "+": it is not a
// form, and portals put base64 tickets there unencoded, whose "+" read as a
// space would go raw into the request line. The decoded URL must consist of
// characters that can stand in a URL (see checkURLChars); an error names
// the first one that cannot and its position, never the URL, whose query
// holds the ticket.
func Parse(raw string) (Link, error) {
	if len(raw) > MaxLen {
		return Link{}, launchErr("longer than %d bytes", MaxLen)
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return Link{}, launchErr("contains %s; a browser never passes that unencoded", safetext.Describe(r))
		}
	}
	var action Action
	switch {
	case len(raw) >= len(launchPrefix) && strings.EqualFold(raw[:len(launchPrefix)], launchPrefix):
		action = ActionLaunch
	case len(raw) >= len(detectPrefix) && strings.EqualFold(raw[:len(detectPrefix)], detectPrefix):
		action = ActionDetect
	default:
		return Link{}, launchErr("%s does not start with %s?url= or %s?url=", safetext.QuoteExcerpt(beforeQuery(raw), 80), launchPrefix, detectPrefix)
	}
	rest := raw[len(launchPrefix):]
	// Some browsers add a slash after the authority of an unknown scheme.
	rest = strings.TrimPrefix(rest, "/")
	query, ok := strings.CutPrefix(rest, "?")
	if !ok {
		return Link{}, launchErr("want %s?url=... or %s?url=..., got %s", launchPrefix, detectPrefix, safetext.QuoteExcerpt(beforeQuery(raw), 80))
	}
	if strings.Contains(query, "#") {
		return Link{}, launchErr("a fragment (#) is not allowed")
	}
	if strings.Contains(query, ";") {
		return Link{}, launchErr(`";" in the query is ambiguous (some parsers split on it); percent-encode it as %%3B`)
	}
	var target string
	found := false
	n := 0
	for part := range strings.SplitSeq(query, "&") {
		n++
		key, value, hasEq := strings.Cut(part, "=")
		if !hasEq {
			// Not quoted: an unencoded descriptor URL splits here, and
			// the part may be its ticket.
			return Link{}, launchErr("query part %d is not key=value", n)
		}
		if key != "url" {
			return Link{}, launchErr("unknown parameter %s; only url is accepted", safetext.QuoteExcerpt(key, 80))
		}
		if found {
			return Link{}, launchErr("url given more than once")
		}
		v, err := url.PathUnescape(value)
		if err != nil {
			return Link{}, launchErr("url parameter does not decode: %s", safetext.Sanitize(err.Error()))
		}
		if v == "" {
			return Link{}, launchErr("url parameter is empty")
		}
		if err := checkURLChars(v); err != nil {
			return Link{}, err
		}
		target, found = v, true
	}
	if !found {
		return Link{}, launchErr("no url parameter")
	}
	return Link{Action: action, URL: target}, nil
}

// beforeQuery cuts raw at its query or fragment, which may carry a ticket,
// for quoting in an error.
func beforeQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

// checkURLChars refuses a decoded descriptor URL that holds a character
// that cannot stand in a URL: in ASCII, anything but the unreserved and
// reserved characters of RFC 3986 (section 2) and "%" followed by two hex
// digits; beyond ASCII, invalid UTF-8 and what the URL Standard's "URL code
// points" exclude (C1 controls, surrogates, noncharacters). Other non-ASCII
// text is a URL code point and fine: an internationalized host goes
// through IDNA (which refuses bidi and format characters in a host), the
// fetch percent-encodes the rest as browsers do, and the prompt shows a
// bidi override in a path escaped, as text. The error names the character
// and its position (counted in characters, from 1), never the URL.
func checkURLChars(u string) error {
	pos := 0
	for i := 0; i < len(u); {
		r, size := utf8.DecodeRuneInString(u[i:])
		pos++
		bad := ""
		switch {
		case r == utf8.RuneError && size == 1:
			bad = "a byte that is not UTF-8"
		case r == '%':
			if i+2 >= len(u) || !isHexDigit(u[i+1]) || !isHexDigit(u[i+2]) {
				bad = `a "%" that is not followed by two hex digits`
			}
		case r < utf8.RuneSelf:
			if !descriptor.IsURLByte(byte(r)) {
				bad = describeURLChar(r)
			}
		case r <= 0x9f, r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
			bad = describeURLChar(r)
		}
		if bad != "" {
			return launchErr("the url parameter holds %s at character %d of the decoded URL; a URL cannot contain it unencoded, so the portal must percent-encode it", bad, pos)
		}
		i += size
	}
	return nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// describeURLChar names a character for an error: "a space", "control
// character U+000A", or the character quoted with its code point ("'<'
// (U+003C)"); %q escapes what a terminal would act on.
func describeURLChar(r rune) string {
	if r <= ' ' || r == '\\' || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
		return safetext.Describe(r)
	}
	return fmt.Sprintf("%q (%U)", r, r)
}
