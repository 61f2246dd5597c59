package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Schema is the version of the record's JSON form, written as "schema" on
// every line (docs/admin.md "Launch records"). A field may be added
// within a version; a field that changes meaning or goes away takes a new
// one. Lines without it were written before the form had a version, by
// development builds: their decision is "refused" for every refusal.
const Schema = 1

// The actions a record is for: launcher.ActionLaunch and
// launcher.ActionDetect, spelled here so that this package needs no
// launcher.
const (
	ActionLaunch = "launch"
	ActionDetect = "detect"
)

// Field limits for an audit line, in runes after sanitizing. They keep a
// record well under the size of one write, so records never interleave.
const (
	auditFieldRunes = 300
	auditErrorRunes = 1000
)

// Record is one launch, or one launch attempt, in the audit log. It
// has no field for the token, and DescriptorURL loses its query and
// fragment (the ticket) when written, so neither can be recorded.
type Record struct {
	// Schema is the version of the line a record was read from (0 for a
	// line written before versions); Append always writes Schema.
	Schema        int
	Time          time.Time // when the launch ended; Append uses the current time when zero
	Action        string    // ActionLaunch or ActionDetect
	Demo          bool      // a run of `trustlaunch demo`, against its own embedded portal, proxy and host
	Origin        string    // the origin decided on, https://host[:port]
	Decision      Outcome   // how it ended: the classification the exit code and the OS log share
	Step          string    // the step that decided or failed: a whitelist.Step, descriptor.StepFetch, ...
	Whitelist     string    // the whitelist step that admitted or refused the origin (admin-listed, user-listed, prompt-yes, ...)
	DescriptorURL string    // written without user info, query and fragment
	Session       string    // the descriptor's session name
	Proxy         string    // the proxy address
	// Outbound is how the tunnel reached the proxy: "DIRECT" or "PROXY
	// host:port", with what chose it and what was tried first
	// (connector.Choice); "" before a tunnel was tried.
	Outbound    string
	Destination string        // host:port behind the proxy
	Publisher   string        // the admin policy's name of the publisher that signed the descriptor; "" unsigned
	BytesUp     int64         // emulator to host
	BytesDown   int64         // host to emulator
	Reconnects  int           // tunnels the emulator opened after the first, with the same token (a drop, a second window)
	Duration    time.Duration // from start of the launch to the end
	Timings     Timings       // how long each phase took
	ExitStatus  *int          // the emulator's exit status; nil when none ran
	Error       string        // why it failed, or the refusal's message
	// Told is how the user learned of a failure or a refusal: "terminal"
	// (the launch had one), "notification", "window" (a window of its
	// own), or "nobody: why"; "" for a launch that went ahead or was
	// interrupted (tui.Told* name them).
	Told string
	// OSLog is where Append sent the record besides the audit log
	// (oslog.Journald, oslog.Syslog, oslog.EventLog), or why not: "off",
	// "below level L", "none" (no system log), "error: ..."; "" for a
	// detection, which stays in the audit log.
	OSLog string
}

// Scrubbed returns the record with every spelling of the run's secrets
// (the token, the outbound proxy's credentials, the tickets seen) scrubbed
// from its text fields: what launcher.Launch and launcher.Detect append. The
// descriptor URL is left for line, which drops its query.
func (r Record) Scrubbed(secrets *redact.Set) Record {
	for _, f := range []*string{&r.Action, &r.Origin, &r.Step, &r.Whitelist, &r.Session, &r.Proxy, &r.Outbound, &r.Destination, &r.Publisher, &r.Error, &r.Told} {
		*f = secrets.Scrub(*f)
	}
	r.Decision = Outcome(secrets.Scrub(string(r.Decision)))
	return r
}

// auditLine is the JSON form of a record, one per line.
type auditLine struct {
	Schema        int          `json:"schema,omitempty"`
	Time          string       `json:"time"`
	Action        string       `json:"action,omitempty"`
	Demo          bool         `json:"demo,omitempty"`
	Origin        string       `json:"origin"`
	Decision      string       `json:"decision"`
	Step          string       `json:"step"`
	Whitelist     string       `json:"whitelist"`
	DescriptorURL string       `json:"descriptor_url"`
	Session       string       `json:"session"`
	Proxy         string       `json:"proxy"`
	Outbound      string       `json:"outbound,omitempty"`
	Destination   string       `json:"destination"`
	Publisher     string       `json:"publisher,omitempty"`
	BytesUp       int64        `json:"bytes_up"`
	BytesDown     int64        `json:"bytes_down"`
	Reconnects    int          `json:"reconnects,omitempty"`
	DurationMS    int64        `json:"duration_ms"`
	Timings       *timingsLine `json:"timings_us,omitempty"`
	ExitStatus    *int         `json:"exit_status"`
	Error         string       `json:"error"`
	Told          string       `json:"told,omitempty"`
	OSLog         string       `json:"os_log,omitempty"`
}

// cleaned returns the record as Append writes it: the current schema and
// time, every text field sanitized and cut to a bounded length, the
// descriptor URL without its query and fragment, and each query value
// scrubbed from the other fields too, so that a ticket that reached an
// error message stays out of the log.
func (r Record) cleaned(now time.Time) auditLine {
	r.Schema = Schema
	if r.Time.IsZero() {
		r.Time = now
	}
	return r.form(func(s string, n int) string { return safetext.Excerpt(s, n) }, descriptor.RedactURL)
}

// line returns the record as one JSON line ending in "\n", as Append
// writes it (cleaned).
func (r Record) line(now time.Time) ([]byte, error) {
	return r.cleaned(now).encode()
}

// MarshalJSON encodes the record in the form of the log, for
// `trustlaunch log --json`. Unlike Append it does not sanitize again:
// records from ReadRecent are clean already, and sanitizing twice would
// double every backslash. It still drops the descriptor URL's query and
// scrubs its values.
func (r Record) MarshalJSON() ([]byte, error) {
	b, err := r.form(func(s string, _ int) string { return s }, stripQuery).encode()
	return bytes.TrimSuffix(b, []byte("\n")), err
}

// form returns the record's JSON form, passing text fields through clean
// (with a length bound) and the descriptor URL through redactURL, after
// scrubbing the URL's query values from every field.
func (r Record) form(clean func(s string, max int) string, redactURL func(string) string) auditLine {
	var secrets redact.Set
	secrets.AddQuery(r.DescriptorURL)
	c := func(s string, n int) string { return clean(secrets.Scrub(s), n) }
	return auditLine{
		Schema:        r.Schema,
		Time:          r.Time.UTC().Format(time.RFC3339Nano),
		Action:        c(r.Action, auditFieldRunes),
		Demo:          r.Demo,
		Origin:        c(r.Origin, auditFieldRunes),
		Decision:      c(string(r.Decision), auditFieldRunes),
		Step:          c(r.Step, auditFieldRunes),
		Whitelist:     c(r.Whitelist, auditFieldRunes),
		DescriptorURL: c(redactURL(r.DescriptorURL), auditFieldRunes),
		Session:       c(r.Session, auditFieldRunes),
		Proxy:         c(r.Proxy, auditFieldRunes),
		Outbound:      c(r.Outbound, auditFieldRunes),
		Destination:   c(r.Destination, auditFieldRunes),
		Publisher:     c(r.Publisher, auditFieldRunes),
		BytesUp:       r.BytesUp,
		BytesDown:     r.BytesDown,
		Reconnects:    r.Reconnects,
		DurationMS:    r.Duration.Milliseconds(),
		Timings:       r.Timings.line(),
		ExitStatus:    r.ExitStatus,
		Error:         c(r.Error, auditErrorRunes),
		Told:          c(r.Told, auditFieldRunes),
		OSLog:         c(r.OSLog, auditFieldRunes),
	}
}

// encode returns the line's JSON, ending in "\n".
func (l auditLine) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil { // Encode ends the line with "\n"
		return nil, err
	}
	return b.Bytes(), nil
}

// stripQuery cuts a URL at its query or fragment.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// record converts a line read back from the file. The file belongs to the
// user and anything may have edited it, so every text field is sanitized
// again, keeping the backslashes that Append's sanitizing wrote so that
// clean text comes back unchanged.
func (l auditLine) record() (Record, error) {
	t, err := time.Parse(time.RFC3339Nano, l.Time)
	if err != nil {
		return Record{}, err
	}
	return Record{
		Schema:        l.Schema,
		Time:          t,
		Action:        resanitize(l.Action),
		Demo:          l.Demo,
		Origin:        resanitize(l.Origin),
		Decision:      Outcome(resanitize(l.Decision)),
		Step:          resanitize(l.Step),
		Whitelist:     resanitize(l.Whitelist),
		DescriptorURL: resanitize(stripQuery(l.DescriptorURL)),
		Session:       resanitize(l.Session),
		Proxy:         resanitize(l.Proxy),
		Outbound:      resanitize(l.Outbound),
		Destination:   resanitize(l.Destination),
		Publisher:     resanitize(l.Publisher),
		BytesUp:       l.BytesUp,
		BytesDown:     l.BytesDown,
		Reconnects:    l.Reconnects,
		Duration:      time.Duration(l.DurationMS) * time.Millisecond,
		Timings:       l.Timings.timings(),
		ExitStatus:    l.ExitStatus,
		Error:         resanitize(l.Error),
		Told:          resanitize(l.Told),
		OSLog:         resanitize(l.OSLog),
	}, nil
}

// resanitize is safetext.Sanitize for text that has been through it once:
// it escapes anything a terminal could act on but leaves backslashes as
// they are, so it is the identity on sanitized text.
func resanitize(s string) string {
	parts := strings.Split(s, `\`)
	for i, p := range parts {
		parts[i] = safetext.Sanitize(p)
	}
	return strings.Join(parts, `\`)
}
