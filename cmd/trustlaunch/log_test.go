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
	l, err := audit.New(audit.Options{})
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
			Proxy: "proxy.example.com:8443", Destination: "mainframe:23", Duration: 95 * time.Second, ExitStatus: &zero},
		{Time: t0.Add(time.Hour), Origin: "https://evil.example", Decision: "refused", Step: "prompt-no",
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
		{[]string{"--help"}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runLog(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
			if tt.code == exitOK && !strings.Contains(out, "trustlaunch log [-n N] [--json]") {
				t.Errorf("--help printed %q", out)
			}
		})
	}
}
