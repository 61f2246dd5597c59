package audit

import (
	"context"
	"errors"
	"os/user"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// toOSLog sends a launch's record to the OS's log when its outcome's
// severity is within the level, and returns what the audit record says of
// it (Record.OSLog). A log that cannot take it never stops the audit
// record: the record says why.
func (l *Log) toOSLog(ctx context.Context, line auditLine) string {
	e := line.osEntry(currentUser())
	switch {
	case l.osLevel == oslog.LevelOff:
		return "off"
	case !l.osLevel.Admits(e.Severity):
		return "below level " + l.osLevel.String()
	}
	where, err := oslog.Write(ctx, l.osTarget, e)
	switch {
	case errors.Is(err, oslog.ErrNoLog):
		return "none"
	case err != nil:
		return "error: " + safetext.Excerpt(err.Error(), 200)
	}
	return where
}

// osEntry returns the record as an entry of the OS's log. It is made from
// the record's cleaned form, the one the audit log holds: secrets
// scrubbed, text sanitized and cut, the descriptor URL without its query.
// Its fields are the record's JSON fields that have a value, with the
// timings spelled timings_us_PHASE, and the user who launched.
func (l auditLine) osEntry(user string) oslog.Entry {
	o := Outcome(l.Decision)
	info := outcomes[o]
	t, _ := time.Parse(time.RFC3339Nano, l.Time)
	e := oslog.Entry{Time: t, Severity: o.Severity(), Kind: l.Decision, EventID: info.eventID, MessageID: info.messageID, Message: l.osMessage(info.summary)}
	add := func(name, value string) {
		if value != "" {
			e.Fields = append(e.Fields, oslog.Field{Name: name, Value: value})
		}
	}
	num := func(name string, n int64) {
		if n != 0 {
			add(name, strconv.FormatInt(n, 10))
		}
	}
	add("schema", strconv.Itoa(l.Schema))
	add("time", l.Time)
	add("decision", l.Decision)
	add("step", l.Step)
	add("action", l.Action)
	if l.Demo {
		add("demo", "true")
	}
	add("user", user)
	add("origin", l.Origin)
	add("whitelist", l.Whitelist)
	add("descriptor_url", l.DescriptorURL)
	add("session", l.Session)
	add("proxy", l.Proxy)
	add("outbound", l.Outbound)
	add("destination", l.Destination)
	add("publisher", l.Publisher)
	num("bytes_up", l.BytesUp)
	num("bytes_down", l.BytesDown)
	num("reconnects", int64(l.Reconnects))
	num("duration_ms", l.DurationMS)
	for _, p := range l.Timings.timings().Phases() {
		num("timings_us_"+p.Name, p.Took.Microseconds())
	}
	if l.ExitStatus != nil {
		add("exit_status", strconv.Itoa(*l.ExitStatus))
	}
	add("error", l.Error)
	add("told", l.Told)
	return e
}

// osMessage is the entry's one line for people: what happened, where,
// and why it failed, such as
//
//	launch failed at tcp: https://portal.example.com, session "Payroll", to mainframe:23: connect: connection refused
func (l auditLine) osMessage(summary string) string {
	var b strings.Builder
	if l.Demo {
		b.WriteString("demo: ")
	}
	if summary == "" {
		summary = "launch " + l.Decision
	}
	b.WriteString(summary)
	// A launch whose emulator ran has the step "launched" (the outcome's
	// word), where nothing stopped: a Ctrl-C in its session is "launch
	// interrupted", not "interrupted at launched".
	if l.Step != "" && l.Step != string(Launched) {
		b.WriteString(" at " + l.Step)
	}
	var where []string
	if l.Origin != "" {
		where = append(where, l.Origin)
	}
	if l.Session != "" {
		where = append(where, `session "`+l.Session+`"`)
	}
	if l.Destination != "" {
		where = append(where, "to "+l.Destination)
	}
	if len(where) > 0 {
		b.WriteString(": " + strings.Join(where, ", "))
	}
	if l.ExitStatus != nil {
		b.WriteString("; exit status " + strconv.Itoa(*l.ExitStatus))
	}
	if l.Error != "" {
		b.WriteString(": " + l.Error)
	}
	return b.String()
}

// currentUser names the user who launched, for a log that many users'
// entries reach; "" when the system cannot say. The name is the system's,
// not text from the network: only control characters are dropped, so
// that DOMAIN\user keeps its one backslash (safetext would double it).
func currentUser() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, u.Username)
	if r := []rune(name); len(r) > auditFieldRunes {
		name = string(r[:auditFieldRunes])
	}
	return name
}
