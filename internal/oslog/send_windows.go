package oslog

import (
	"context"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// write reports e in the Application event log under the event source
// opts.Ident. The MSI registers that source with EventCreate.exe as its
// message file, whose messages 1 to 1000 are each "%1", the first string;
// an unregistered source (a zip install) still logs, and Event Viewer
// then says it cannot find the description but shows the strings.
//
// The first string is the message, a blank line and every field as
// "name=value" on a line of its own: what Event Viewer's General tab
// shows. Each field follows as a string of its own, "name=value", so that
// a collector reads Event/EventData/Data elements without parsing the
// first (docs/admin.md "Launch records").
func write(_ context.Context, opts Options, e Entry) (string, error) {
	src, err := windows.UTF16PtrFromString(opts.Ident)
	if err != nil {
		return "", fmt.Errorf("event log: source %q: %w", opts.Ident, err)
	}
	h, err := windows.RegisterEventSource(nil, src)
	if err != nil {
		return "", fmt.Errorf("event log: RegisterEventSource %s: %w", opts.Ident, err)
	}
	defer windows.DeregisterEventSource(h)
	texts := eventStrings(e)
	ptrs := make([]*uint16, len(texts))
	for i, s := range texts {
		// Sanitized text holds no NUL; one that did would be cut there.
		if ptrs[i], err = windows.UTF16PtrFromString(strings.ReplaceAll(s, "\x00", "")); err != nil {
			return "", fmt.Errorf("event log: %w", err)
		}
	}
	var sid uintptr
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil {
		sid = uintptr(unsafe.Pointer(u.User.Sid)) // Event Viewer's "User"
	}
	if err := windows.ReportEvent(h, eventType(e.Severity), 0, e.EventID, sid, uint16(len(ptrs)), 0, &ptrs[0], nil); err != nil {
		return "", fmt.Errorf("event log: ReportEvent %s event %d: %w", opts.Ident, e.EventID, err)
	}
	return EventLog, nil
}

// eventType is the Windows event type of a severity.
func eventType(s Severity) uint16 {
	switch {
	case s <= Error:
		return windows.EVENTLOG_ERROR_TYPE
	case s == Warning:
		return windows.EVENTLOG_WARNING_TYPE
	}
	return windows.EVENTLOG_INFORMATION_TYPE
}
