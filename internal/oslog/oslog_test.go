package oslog

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/oslog/oslogtest"
)

func sampleEntry() Entry {
	return Entry{
		Time:      time.Date(2026, 12, 7, 10, 11, 12, 345678900, time.UTC),
		Severity:  Warning,
		Kind:      "refused-user",
		EventID:   102,
		MessageID: "ff90cb77087b47d6bcc662dd27546564",
		Message:   "launch refused by the user (prompt-no): https://portal.example.com",
		Fields: []Field{
			{"schema", "1"},
			{"decision", "refused-user"},
			{"error", `a "quoted" ] \ word`},
			{"session", "two\nlines"},
		},
	}
}

func TestLevels(t *testing.T) {
	for _, tt := range []struct {
		level  string
		admits []Severity
	}{
		{"info", []Severity{Error, Warning, Info}},
		{"warning", []Severity{Error, Warning}},
		{"error", []Severity{Error}},
		{"off", nil},
	} {
		l, err := ParseLevel(tt.level)
		if err != nil || l.String() != tt.level {
			t.Fatalf("ParseLevel(%q) = %v, %v", tt.level, l, err)
		}
		for _, s := range []Severity{Error, Warning, Info} {
			want := false
			for _, a := range tt.admits {
				want = want || a == s
			}
			if l.Admits(s) != want {
				t.Errorf("level %s admits %s: %v, want %v", l, s, !want, want)
			}
		}
	}
	if _, err := ParseLevel("debug"); err == nil || !strings.Contains(err.Error(), "info, warning, error, off") {
		t.Errorf("ParseLevel(debug) = %v, want an error naming the levels", err)
	}
	var zero Level
	if zero != LevelInfo {
		t.Error("the zero Level is not LevelInfo: the OS log would be off by default")
	}
}

// TestRFC5424: the message has the header of section 6.2, one SD-ELEMENT
// with every field, its values escaped as section 6.3.3 says, and the
// message; header fields are printable ASCII within their lengths.
func TestRFC5424(t *testing.T) {
	got := string(rfc5424(sampleEntry(), "trustlaunch", "host.example.com", 4242))
	want := `<12>1 2026-12-07T10:11:12.345678Z host.example.com trustlaunch 4242 refused-user ` +
		`[trustlaunch@32473 schema="1" decision="refused-user" error="a \"quoted\" \] \\ word" session="two` + "\n" + `lines"] ` +
		`launch refused by the user (prompt-no): https://portal.example.com`
	if got != want {
		t.Errorf("rfc5424 =\n%s\nwant\n%s", got, want)
	}
	e := sampleEntry()
	e.Kind, e.Message = "", ""
	if got := string(rfc5424(e, "trust launch\x1b", "", 1)); !strings.HasPrefix(got, "<12>1 2026-12-07T10:11:12.345678Z - trustlaunch 1 - [trustlaunch@32473 ") || !strings.HasSuffix(got, "]") {
		t.Errorf("nil values: %q", got)
	}
	if got := headerField(strings.Repeat("x", 300), 255); len(got) != 255 {
		t.Errorf("a header field of 300 characters is cut to %d, want 255", len(got))
	}
}

// TestJournalPayload: the payload is what a receiver written from the
// protocol's description reads back, field for field, the value with a
// newline in the binary-safe form.
func TestJournalPayload(t *testing.T) {
	p := journalPayload(sampleEntry(), "trustlaunch")
	e, err := oslogtest.ParseJournal(p)
	if err != nil {
		t.Fatalf("ParseJournal: %v\n%q", err, p)
	}
	want := oslogtest.Entry{
		{Key: "MESSAGE", Value: "launch refused by the user (prompt-no): https://portal.example.com"},
		{Key: "PRIORITY", Value: "4"},
		{Key: "SYSLOG_FACILITY", Value: "1"},
		{Key: "SYSLOG_IDENTIFIER", Value: "trustlaunch"},
		{Key: "MESSAGE_ID", Value: "ff90cb77087b47d6bcc662dd27546564"},
		{Key: "TRUSTLAUNCH_SCHEMA", Value: "1"},
		{Key: "TRUSTLAUNCH_DECISION", Value: "refused-user"},
		{Key: "TRUSTLAUNCH_ERROR", Value: `a "quoted" ] \ word`},
		{Key: "TRUSTLAUNCH_SESSION", Value: "two\nlines"},
	}
	if len(e) != len(want) {
		t.Fatalf("fields %q, want %q", e, want)
	}
	for i := range want {
		if e[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, e[i], want[i])
		}
	}
	if !bytes.Contains(p, []byte("TRUSTLAUNCH_SESSION\n\x09\x00\x00\x00\x00\x00\x00\x00two\nlines\n")) {
		t.Errorf("the value with a newline is not in the binary-safe form: %q", p)
	}
}

// TestEventStrings: a Windows event's first string is the message and the
// fields, one per line, for Event Viewer; each field follows as a string
// of its own.
func TestEventStrings(t *testing.T) {
	got := eventStrings(sampleEntry())
	want := []string{
		"launch refused by the user (prompt-no): https://portal.example.com\r\n\r\nschema=1\r\ndecision=refused-user\r\nerror=a \"quoted\" ] \\ word\r\nsession=two\nlines",
		"schema=1", "decision=refused-user", `error=a "quoted" ] \ word`, "session=two\nlines",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("eventStrings =\n%q\nwant\n%q", got, want)
	}
	e := sampleEntry()
	for i := range 300 {
		e.Fields = append(e.Fields, Field{"f", strings.Repeat("x", i%3)})
	}
	if n := len(eventStrings(e)); n != maxEventStrings {
		t.Errorf("%d strings for 304 fields, want ReportEvent's most, %d", n, maxEventStrings)
	}
}
