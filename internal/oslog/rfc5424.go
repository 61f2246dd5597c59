package oslog

import (
	"strconv"
	"strings"
)

// SDID is the SD-ID of the structured data element that carries an
// entry's fields in an RFC 5424 message (section 6.3.2): a name of ours,
// "@", and an IANA private enterprise number. 32473 is the number RFC 5612
// reserves for documentation, which stands in until the project's own is
// assigned; the SD-ID changes with the audit schema's version then
// (docs/admin.md "Launch records").
const SDID = "trustlaunch@32473"

// facilityUser is syslog's facility for user-level messages (RFC 5424
// section 6.2.1), the one a program run by a user writes under.
const facilityUser = 1

// rfc5424 returns e as an RFC 5424 message (section 6): the header, one
// structured data element holding every field, and the message.
func rfc5424(e Entry, ident, hostname string, pid int) []byte {
	var b strings.Builder
	b.WriteString("<" + strconv.Itoa(facilityUser*8+int(e.Severity)) + ">1 ")
	b.WriteString(e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00") + " ")
	b.WriteString(headerField(hostname, 255) + " ")
	b.WriteString(headerField(ident, 48) + " ")
	b.WriteString(strconv.Itoa(pid) + " ")
	b.WriteString(headerField(e.Kind, 32) + " ")
	b.WriteString("[" + SDID)
	for _, f := range e.Fields {
		b.WriteString(" " + f.Name + `="` + paramValue(f.Value) + `"`)
	}
	b.WriteString("]")
	if e.Message != "" {
		b.WriteString(" " + e.Message)
	}
	return []byte(b.String())
}

// headerField returns s as a header field of at most n characters of
// PRINTUSASCII (33 to 126), "-" (the NILVALUE) when nothing is left.
func headerField(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	if s == "" {
		return "-"
	}
	return s
}

// paramValue escapes the three characters a PARAM-VALUE may not hold
// bare: '"', '\' and ']' (section 6.3.3).
func paramValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}
