package oslog

import "testing"

// TestWriteEventLog: Write reports the entry under the event source,
// registered or not (a zip install has no registration), and says where
// it went. What the event holds is checked from Wine's event log debug
// channels by scripts/wine/test-open.sh, since Wine keeps no events to
// read back (CONTRIBUTING.md "Windows tests under Wine").
func TestWriteEventLog(t *testing.T) {
	where, err := Write(t.Context(), Options{}, sampleEntry())
	if err != nil || where != EventLog {
		t.Fatalf("Write = %q, %v; want %q", where, err, EventLog)
	}
}
