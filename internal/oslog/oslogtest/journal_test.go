package oslogtest

import "testing"

// TestParseJournalDocExample reads the example datagram of systemd's
// Native Journal Protocol (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/,
// "Example Datagram"), whose BINARY_BLOB uses the second serialization.
func TestParseJournalDocExample(t *testing.T) {
	data := "PRIORITY=3\nSYSLOG_FACILITY=3\nCODE_FILE=src/foobar.c\nCODE_LINE=77\nBINARY_BLOB\n\x04\x00\x00\x00\x00\x00\x00\x00xx\nx\nCODE_FUNC=some_func\nSYSLOG_IDENTIFIER=footool\nMESSAGE=Something happened.\n"
	e, err := ParseJournal([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := Entry{{"PRIORITY", "3"}, {"SYSLOG_FACILITY", "3"}, {"CODE_FILE", "src/foobar.c"}, {"CODE_LINE", "77"},
		{"BINARY_BLOB", "xx\nx"}, {"CODE_FUNC", "some_func"}, {"SYSLOG_IDENTIFIER", "footool"}, {"MESSAGE", "Something happened."}}
	if len(e) != len(want) {
		t.Fatalf("entry %q, want %q", e, want)
	}
	for i := range want {
		if e[i] != want[i] {
			t.Errorf("field %d = %q, want %q", i, e[i], want[i])
		}
	}
}

// TestParseJournalRefuses what the protocol rules out.
func TestParseJournalRefuses(t *testing.T) {
	for name, data := range map[string]string{
		"no final newline":    "MESSAGE=x",
		"empty key":           "=x\n",
		"trusted field":       "_PID=1\n",
		"control in key":      "A\x01B=x\n",
		"short size":          "BLOB\n\x04\x00\x00\n",
		"size past the end":   "BLOB\n\x09\x00\x00\x00\x00\x00\x00\x00xx\n",
		"no newline after it": "BLOB\n\x02\x00\x00\x00\x00\x00\x00\x00xxx\n",
	} {
		if e, err := ParseJournal([]byte(data)); err == nil {
			t.Errorf("%s: ParseJournal(%q) = %q, want an error", name, data, e)
		}
	}
}
