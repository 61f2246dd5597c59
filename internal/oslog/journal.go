package oslog

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// journalPrefix begins the journald name of every field: an entry's
// fields are TRUSTLAUNCH_DECISION, TRUSTLAUNCH_ORIGIN, ...
const journalPrefix = "TRUSTLAUNCH_"

// journalPayload returns e in journald's native format: one KEY=value line
// a field, or, for a value holding a newline, the key, a newline, the
// value's length as a little-endian 64-bit number, the value and a
// newline (systemd's Native Journal Protocol,
// https://systemd.io/JOURNAL_NATIVE_PROTOCOL/, "Data Format").
func journalPayload(e Entry, ident string) []byte {
	var b []byte
	add := func(key, value string) {
		if !strings.Contains(value, "\n") {
			b = append(b, key+"="+value+"\n"...)
			return
		}
		b = append(b, key+"\n"...)
		b = binary.LittleEndian.AppendUint64(b, uint64(len(value)))
		b = append(b, value+"\n"...)
	}
	add("MESSAGE", e.Message)
	add("PRIORITY", strconv.Itoa(int(e.Severity)))
	add("SYSLOG_FACILITY", strconv.Itoa(facilityUser))
	add("SYSLOG_IDENTIFIER", ident)
	if e.MessageID != "" {
		add("MESSAGE_ID", e.MessageID)
	}
	for _, f := range e.Fields {
		add(JournalName(f.Name), f.Value)
	}
	return b
}

// JournalName returns the journald name of a field: the prefix and the
// name in upper case (journald allows upper-case letters, digits and "_").
func JournalName(field string) string {
	return journalPrefix + strings.ToUpper(field)
}
