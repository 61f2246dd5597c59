package audit

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/oslog"
)

// fullRecord has a value in every field.
func fullRecord() Record {
	exit := 7
	return Record{
		Time: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Action: ActionLaunch, Demo: true,
		Origin: "https://portal.example.com", Decision: Launched, Step: "launched", Whitelist: "user-listed",
		DescriptorURL: "https://portal.example.com/d/1?ticket=tkt-x", Session: "Payroll (TN3270)",
		Proxy: "proxy.example.com:8443", Outbound: "PROXY egress.example.com:3128 (HTTPS_PROXY)", Destination: "mainframe.example.com:23", Publisher: "Payroll portal",
		BytesUp: 5, BytesDown: 700, Reconnects: 1, Duration: 95 * time.Second,
		Timings: Timings{Decision: time.Millisecond, Prompt: 2 * time.Millisecond, Fetch: 3 * time.Millisecond, Policy: 4 * time.Millisecond,
			Proxy: 5 * time.Millisecond, ProxyTCP: 6 * time.Millisecond, ProxyTLS: 7 * time.Millisecond, ProxyRequest: 8 * time.Millisecond,
			Emulator: 9 * time.Millisecond, Session: 10 * time.Millisecond},
		ExitStatus: &exit, Error: "none really", Told: "terminal",
	}
}

// flatten returns the fields of a JSON audit line as the OS's log names
// them: timings_us.PHASE as timings_us_PHASE, every value as its text,
// empty ones left out.
func flatten(t *testing.T, line []byte) map[string]string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range m {
		switch v := v.(type) {
		case map[string]any:
			for p, us := range v {
				out[k+"_"+p] = fmt.Sprint(us)
			}
		case string:
			if v != "" {
				out[k] = v
			}
		case float64:
			if v != 0 || k == "exit_status" || k == "schema" {
				out[k] = fmt.Sprint(v)
			}
		case bool:
			out[k] = fmt.Sprint(v)
		case nil:
		}
	}
	delete(out, "os_log") // where the entry went is not in the entry
	return out
}

// TestOSEntryFields: the entry carries every field of the audit line that
// has a value, with the same value, and the user; its severity, event ID
// and message ID are the outcome's.
func TestOSEntryFields(t *testing.T) {
	full := reflect.ValueOf(fullRecord())
	for _, f := range reflect.VisibleFields(full.Type()) {
		// Append sets the schema, and where the entry went is not in it.
		if f.Name != "Schema" && f.Name != "OSLog" && full.FieldByIndex(f.Index).IsZero() {
			t.Errorf("fullRecord has no value for %s, so its entry is not checked", f.Name)
		}
	}
	for _, p := range fullRecord().Timings.Phases() {
		if p.Took <= 0 {
			t.Errorf("fullRecord has no time for the phase %s", p.Name)
		}
	}
	cl := fullRecord().cleaned(time.Now())
	line, err := cl.encode()
	if err != nil {
		t.Fatal(err)
	}
	want := flatten(t, line)
	want["user"] = "alice"
	e := cl.osEntry("alice")
	got := map[string]string{}
	for _, f := range e.Fields {
		if _, dup := got[f.Name]; dup {
			t.Errorf("field %s twice", f.Name)
		}
		got[f.Name] = f.Value
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q (the audit line's)", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("field %s is not in the audit line", k)
		}
	}
	if len(want) < 29 {
		t.Errorf("only %d fields compared; is fullRecord full?", len(want))
	}
	if e.Severity != oslog.Info || e.EventID != 100 || e.MessageID != "d6ae5c3d1c1b4290bead7fc299994a55" || e.Kind != "launched" || !e.Time.Equal(fullRecord().Time) {
		t.Errorf("entry %+v", e)
	}
	if w := `demo: launched: https://portal.example.com, session "Payroll (TN3270)", to mainframe.example.com:23; exit status 7: none really`; e.Message != w {
		t.Errorf("message %q, want %q", e.Message, w)
	}
	for _, f := range e.Fields {
		if len(f.Name) > 32 || strings.Trim(f.Name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("field name %q: not what RFC 5424 and journald both allow", f.Name)
		}
	}
}

// TestOSEntryOutcomes: each launch outcome has its severity, event ID and
// message, the step named where it failed, was refused or was
// interrupted.
func TestOSEntryOutcomes(t *testing.T) {
	for _, tt := range []struct {
		o    Outcome
		step string
		sev  oslog.Severity
		id   uint32
		msg  string
	}{
		{Launched, "launched", oslog.Info, 100, "launched: https://p.example"},
		{RefusedWhitelist, "admin-only-refused", oslog.Warning, 101, "launch refused by the whitelist at admin-only-refused: https://p.example"},
		{RefusedUser, "prompt-no", oslog.Warning, 102, "launch refused by the user at prompt-no: https://p.example"},
		{RefusedPolicy, "policy", oslog.Warning, 103, "launch refused by the admin policy at policy: https://p.example"},
		{Failed, "tcp", oslog.Error, 104, "launch failed at tcp: https://p.example"},
		{Interrupted, "prompt-no", oslog.Info, 105, "launch interrupted at prompt-no: https://p.example"},
		// Ctrl-C in the session: the emulator ran, no step stopped it.
		{Interrupted, "launched", oslog.Info, 105, "launch interrupted: https://p.example"},
	} {
		e := Record{Action: ActionLaunch, Decision: tt.o, Step: tt.step, Origin: "https://p.example"}.cleaned(time.Now()).osEntry("")
		if e.Severity != tt.sev || e.EventID != tt.id || e.Message != tt.msg || e.Kind != string(tt.o) || len(e.MessageID) != 32 {
			t.Errorf("%s: %+v; want %s, %d, %q", tt.o, e, tt.sev, tt.id, tt.msg)
		}
	}
	ids := map[string]bool{}
	for _, o := range LaunchOutcomes {
		ids[outcomes[o].messageID] = true
	}
	if len(ids) != len(LaunchOutcomes) {
		t.Error("two outcomes share a MESSAGE_ID")
	}
}
