package launcher

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// MaxLaunchURLLen bounds the link the browser hands over (DESIGN.md, "Launch
// URL and descriptor").
const MaxLaunchURLLen = 8 << 10

// launchPrefix is the only accepted form: trustlaunch://launch?url=...
const launchPrefix = "trustlaunch://launch"

// LaunchURLError is a malformed trustlaunch:// link.
type LaunchURLError struct {
	Reason string
}

func (e *LaunchURLError) Error() string { return "invalid launch URL: " + e.Reason }

func launchErr(format string, args ...any) error {
	return &LaunchURLError{Reason: fmt.Sprintf(format, args...)}
}

// ParseLaunchURL returns the descriptor URL carried by a link of the form
// trustlaunch://launch?url=<percent-encoded URL>. Anything else is an error:
// another host or path, a fragment, a parameter other than url, url twice,
// a ";" separator, or an escape that does not decode. A query that does not
// parse cleanly is an error, never a partial result, because a handler that
// guesses is a handler an attacker can steer. It does not check that the
// descriptor URL is https: the whitelist decision does, as its first step.
func ParseLaunchURL(raw string) (string, error) {
	if len(raw) > MaxLaunchURLLen {
		return "", launchErr("longer than %d bytes", MaxLaunchURLLen)
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return "", launchErr("contains %s; a browser never passes that unencoded", safetext.Describe(r))
		}
	}
	if len(raw) < len(launchPrefix) || !strings.EqualFold(raw[:len(launchPrefix)], launchPrefix) {
		return "", launchErr("%s does not start with %s?url=", safetext.QuoteExcerpt(raw, 80), launchPrefix)
	}
	rest := raw[len(launchPrefix):]
	// Some browsers add a slash after the authority of an unknown scheme.
	rest = strings.TrimPrefix(rest, "/")
	query, ok := strings.CutPrefix(rest, "?")
	if !ok {
		return "", launchErr("want %s?url=... , got %s", launchPrefix, safetext.QuoteExcerpt(raw, 80))
	}
	if strings.Contains(query, "#") {
		return "", launchErr("a fragment (#) is not allowed")
	}
	if strings.Contains(query, ";") {
		return "", launchErr(`";" in the query is ambiguous (some parsers split on it); percent-encode it as %%3B`)
	}
	var target string
	found := false
	for part := range strings.SplitSeq(query, "&") {
		key, value, hasEq := strings.Cut(part, "=")
		if !hasEq {
			return "", launchErr("query part %s is not key=value", safetext.QuoteExcerpt(part, 80))
		}
		if key != "url" {
			return "", launchErr("unknown parameter %s; only url is accepted", safetext.QuoteExcerpt(key, 80))
		}
		if found {
			return "", launchErr("url given more than once")
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return "", launchErr("url parameter does not decode: %s", safetext.Sanitize(err.Error()))
		}
		if v == "" {
			return "", launchErr("url parameter is empty")
		}
		target, found = v, true
	}
	if !found {
		return "", launchErr("no url parameter")
	}
	return target, nil
}
