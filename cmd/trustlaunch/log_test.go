package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// runLog runs `trustlaunch log ARGS` with its own stdio.
func runLog(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	s := &stdio{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: os.Getenv}
	code = cmdLog(t.Context(), s, args)
	return code, out.String(), errOut.String()
}

// withAuditLog points the state directory at a temporary one and fills
// its audit log with recs.
func withAuditLog(t *testing.T, recs ...audit.Record) {
	t.Helper()
	state := testtmp.Dir(t)
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("LOCALAPPDATA", state)  // Windows (platform/paths_windows.go)
	t.Setenv("HOME", testtmp.Dir(t)) // for systems where the state dir is under $HOME
	l, err := audit.New(audit.Options{OSLog: oslog.LevelOff})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := l.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func logRecords() []audit.Record {
	zero, one := 0, 1
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return []audit.Record{
		{Time: t0, Origin: "https://portal.example.com", Decision: "launched", Step: "emulator-exit",
			DescriptorURL: "https://portal.example.com/d/1?ticket=TICKET-SECRET-LOG", Session: "Payroll (TN3270)",
			Proxy: "proxy.example.com:8443", Destination: "mainframe:23", Duration: 95 * time.Second, ExitStatus: &zero,
			Timings: audit.Timings{Decision: 1200 * time.Microsecond, Fetch: 35 * time.Millisecond, Proxy: 2500 * time.Millisecond,
				ProxyTCP: 400 * time.Microsecond, ProxyTLS: 1500 * time.Millisecond, ProxyRequest: 600 * time.Millisecond,
				Emulator: 3 * time.Millisecond, Session: 92 * time.Second}},
		{Time: t0.Add(time.Hour), Origin: "https://evil.example", Decision: audit.RefusedUser, Step: "prompt-no",
			Session: "\x1b[2Jfake\ttab", Error: "user said no"},
		{Time: t0.Add(2 * time.Hour), Origin: "https://portal.example.com", Decision: "failed", Step: descriptor.StepFetch,
			Error: "fetch descriptor https://portal.example.com/d/2: server answered 410 Gone", ExitStatus: &one, Duration: 300 * time.Millisecond},
	}
}

func TestLogTable(t *testing.T) {
	withAuditLog(t, logRecords()...)
	code, out, errOut := runLog(t)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want a header and 3 rows:\n%s", len(lines), out)
	}
	for _, want := range []string{"TIME", "DECISION", "STEP", "ORIGIN", "SESSION", "EXIT", "DURATION", "ERROR"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %s", lines[0], want)
		}
	}
	for _, want := range []string{"launched", "emulator-exit", "Payroll (TN3270)", "1m35s"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	if !strings.Contains(lines[2], `\x1b[2Jfake\x09tab`) || !strings.Contains(lines[2], "prompt-no") {
		t.Errorf("row %q does not show the session's controls as escapes", lines[2])
	}
	if !strings.Contains(lines[3], "300ms") || !strings.Contains(lines[3], "410 Gone") {
		t.Errorf("row %q", lines[3])
	}
	if strings.ContainsAny(out, "\x1b\t") || strings.Contains(out, "TICKET-SECRET") {
		t.Errorf("output carries a control character or the ticket:\n%q", out)
	}
}

func TestLogJSON(t *testing.T) {
	withAuditLog(t, logRecords()...)
	code, out, _ := runLog(t, "--json", "-n", "2")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["step"] != "prompt-no" || first["time"] != "2026-03-04T06:06:07Z" || first["exit_status"] != nil {
		t.Errorf("first entry %v", first)
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, `\u001b`) {
		t.Errorf("escape character in JSON output: %q", out)
	}
}

func TestLogLast(t *testing.T) {
	withAuditLog(t, logRecords()...)
	code, out, _ := runLog(t, "-n", "1")
	if code != exitOK || strings.Count(out, "\n") != 2 || !strings.Contains(out, "410 Gone") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestLogEmpty(t *testing.T) {
	withAuditLog(t)
	code, out, errOut := runLog(t)
	if code != exitOK || out != "" || !strings.Contains(errOut, "has no entries yet") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestLogUsage(t *testing.T) {
	withAuditLog(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-n", "0"}, exitUsage, "-n must be between 1"},
		{[]string{"-n", "x"}, exitUsage, "invalid argument"},
		{[]string{"extra"}, exitUsage, "takes no arguments"},
		{[]string{"-n", "1", "-n", "2"}, exitUsage, "more than once"},
		{[]string{"--json", "--timings"}, exitUsage, "do not go together"},
		{[]string{"--help"}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runLog(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
			if tt.code == exitOK && !strings.Contains(out, "trustlaunch log [-n N] [--json | --timings]") {
				t.Errorf("--help printed %q", out)
			}
		})
	}
}

// TestLogTimings: --timings shows each phase of each launch, "-" for a
// phase it did not reach, in the order of the header.
func TestLogTimings(t *testing.T) {
	withAuditLog(t, logRecords()...)
	code, out, errOut := runLog(t, "--timings")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want a header and 3 rows:\n%s", len(lines), out)
	}
	header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	want := []string{"TIME", "DECISION", "TRUST", "PROMPT", "FETCH", "POLICY", "PROXY", "TCP", "TLS", "REQUEST", "EMULATOR", "SESSION", "TOTAL"}
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Fatalf("header %q, want %q", header, want)
	}
	// The time is two fields (date and clock).
	got := strings.Join(row[2:], " ")
	if w := "launched 1.20ms - 35ms - 2.50s 0.40ms 1.50s 600ms 3.00ms 1m32s 1m35s"; got != w {
		t.Errorf("row %q, want %q", got, w)
	}
	if refused := strings.Fields(lines[2]); strings.Join(refused[2:], " ") != "refused-user - - - - - - - - - - -" {
		t.Errorf("refused row %q: want no phase timed", lines[2])
	}
}
