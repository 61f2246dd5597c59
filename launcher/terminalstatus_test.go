package launcher

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
)

// recorderArg makes this test binary the recorder, as `trustlaunch
// __in-terminal` (see TestMain).
const recorderArg = "__record"

// runTestRecorder is TestMain's recorder role: RunRecorder on the rest of
// the command line, as cmd/trustlaunch runs it.
func runTestRecorder() int {
	status, err := RunRecorder(os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
	}
	return status
}

func TestRecorderArgs(t *testing.T) {
	for _, a := range []recorderArgs{
		{fd: 3, inode: 812, argv: []string{"/usr/bin/c3270", "127.0.0.1:4000"}},
		{fd: 3, inode: 812, socket: "/tmp/trustlaunch-recorder-1/report.sock", argv: []string{"/usr/bin/c3270", "--", "-x"}},
		{fd: -1, argv: []string{`C:\Program Files\wc3270\wc3270.exe`, "127.0.0.1:4000"}},
	} {
		got, err := parseRecorderArgs(a.list())
		if err != nil || got.fd != a.fd || got.inode != a.inode || got.socket != a.socket || !slices.Equal(got.argv, a.argv) {
			t.Errorf("parseRecorderArgs(%q) = %+v, %v; want %+v", a.list(), got, err, a)
		}
	}
	for _, args := range [][]string{
		nil,
		{"--"},
		{"/usr/bin/c3270"},
		{"--fd", "3", "--inode", "812", "/usr/bin/c3270"},
		{"--fd", "2", "--inode", "812", "--", "/usr/bin/c3270"},
		{"--fd", "3", "--inode", "0", "--", "/usr/bin/c3270"},
		{"--fd", "x", "--inode", "812", "--", "/usr/bin/c3270"},
		{"--socket", "report.sock", "--", "/usr/bin/c3270"},
		{"--socket", "/tmp/a", "--fd", "3", "--inode", "812", "--", "/usr/bin/c3270"},
		{"--fd", "3", "--", "/usr/bin/c3270"},
		{"--status", "/tmp/status", "--", "/usr/bin/c3270"},
		{"/tmp/trustlaunch-status-1/status", "--", "/usr/bin/c3270"}, // the old form
	} {
		if got, err := parseRecorderArgs(args); !errors.Is(err, ErrRecorderUsage) {
			t.Errorf("parseRecorderArgs(%q) = %+v, %v; want a usage error", args, got, err)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		msg    string
		status int
		ok     bool
	}{
		{"status 0", 0, true}, {"status 7", 7, true}, {"status 255", 255, true},
		{"status 256", 0, false}, {"status -1", 0, false}, {"status +7", 0, false}, {"status 07", 0, false},
		{"status ", 0, false}, {"status 7\n", 0, false}, {"status  7", 0, false}, {"7", 0, false}, {"report", 0, false},
	} {
		if st, ok := parseStatus(tc.msg); st != tc.status || ok != tc.ok {
			t.Errorf("parseStatus(%q) = %d, %v; want %d, %v", tc.msg, st, ok, tc.status, tc.ok)
		}
	}
}
