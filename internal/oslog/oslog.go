package oslog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Severity is an entry's severity, numbered as syslog numbers them (RFC
// 5424 section 6.2.1), as journald's PRIORITY is; the Windows event type
// follows it (Error, Warning, Information).
type Severity int

// The severities trustlaunch writes.
const (
	Error   Severity = 3
	Warning Severity = 4
	Info    Severity = 6
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Info:
		return "info"
	}
	return fmt.Sprintf("severity %d", int(s))
}

// Level is the least severe entry an administrator wants in the OS's log.
// The zero Level is LevelInfo: every entry, on by default.
type Level int

// The levels, from everything to nothing.
const (
	LevelInfo    Level = iota // every entry
	LevelWarning              // warnings and errors
	LevelError                // errors only
	LevelOff                  // nothing
)

// levelNames are the levels as the policy file and Group Policy spell them.
var levelNames = []string{"info", "warning", "error", "off"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("level %d", int(l))
	}
	return levelNames[l]
}

// Levels lists the names ParseLevel accepts, for messages.
func Levels() string { return strings.Join(levelNames, ", ") }

// ParseLevel reads a level by its name: info, warning, error or off.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if s == n {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown level %q; the levels are %s", s, Levels())
}

// Admits reports whether an entry of severity s is written at level l.
func (l Level) Admits(s Severity) bool {
	switch l {
	case LevelInfo:
		return s <= Info
	case LevelWarning:
		return s <= Warning
	case LevelError:
		return s <= Error
	}
	return false
}

// Field is one named value of an entry. Names are lower-case ASCII
// letters, digits and "_", starting with a letter, at most 32 bytes (what
// an RFC 5424 parameter name allows); journald's name is the upper-case
// form behind a prefix.
type Field struct {
	Name, Value string
}

// Entry is one entry of the OS's log. Its text must be safe to log:
// scrubbed of secrets and sanitized by the caller.
type Entry struct {
	Time     time.Time // when it happened; now when zero
	Severity Severity
	// Kind names the kind of entry in a word (the RFC 5424 MSGID, at most
	// 32 printable ASCII characters: "launched", "refused-user", ...).
	Kind string
	// EventID is the Windows event ID of the kind (1 to 1000: the message
	// file, EventCreate.exe, has those).
	EventID uint32
	// MessageID is journald's MESSAGE_ID of the kind: 32 lower-case hex
	// digits, a random 128-bit ID fixed for the kind.
	MessageID string
	Message   string // one line for people
	Fields    []Field
}

// Options say where and as whom an entry is written.
type Options struct {
	// Ident names the program: journald's SYSLOG_IDENTIFIER, the RFC 5424
	// APP-NAME, the Windows event source. "trustlaunch" when empty.
	Ident string
	// JournalSocket and SyslogSocket replace /run/systemd/journal/socket
	// and /dev/log (tests only; Linux).
	JournalSocket, SyslogSocket string
	// Timeout bounds the write, which blocks when the log's reader is
	// behind: DefaultTimeout when zero.
	Timeout time.Duration
}

// The Windows event source of the launch records, as the MSI registers it
// (packaging/windows/trustlaunch.wxs; TestMSIEventSource): the key under
// HKLM, its message file, and the event types it reports (error, warning,
// information). EventCreate.exe, which every Windows has, holds the
// messages 1 to 1000, each "%1".
const (
	EventSource      = "trustlaunch"
	EventSourceKey   = `SYSTEM\CurrentControlSet\Services\EventLog\Application\` + EventSource
	EventMessageFile = `[System64Folder]EventCreate.exe`
	TypesSupported   = 7
)

// DefaultTimeout bounds a write: a launch ends once its record is written,
// and a stuck log must not hold it.
const DefaultTimeout = 2 * time.Second

// ErrNoLog is Write's error on a machine without an OS log to write to:
// no journald and no /dev/log, or an OS this package does not write on.
var ErrNoLog = errors.New("no system log on this machine")

// Where an entry went, as Write returns it.
const (
	Journald = "journald"
	Syslog   = "syslog"
	EventLog = "eventlog"
)

// Write writes e to this machine's log and returns where it went: Journald,
// Syslog or EventLog. It returns ErrNoLog, wrapped, when there is none.
func Write(ctx context.Context, opts Options, e Entry) (string, error) {
	if opts.Ident == "" {
		opts.Ident = EventSource
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	return write(ctx, opts, e)
}
