package tui

import (
	"bytes"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/trustlaunch/trustlaunch/internal/phase"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

func TestStatusPlain(t *testing.T) {
	var b bytes.Buffer
	s := NewStatus(StatusOptions{Out: &b, Plain: true})
	s.Done("whitelist", "https://portal.example.com (user-listed)")
	s.Done("descriptor", "evil\x1b[2J name")
	s.Fail("proxy")
	s.Close()
	want := "trustlaunch: [ok] whitelist: https://portal.example.com (user-listed)\n" +
		"trustlaunch: [ok] descriptor: evil\\x1b[2J name\n" +
		"trustlaunch: [failed] proxy\n"
	if b.String() != want {
		t.Errorf("got %q", b.String())
	}
}

func TestStatusModel(t *testing.T) {
	var m tea.Model = statusModel{}
	m, _ = m.Update(tea.WindowSizeMsg{Width: 40, Height: 24})
	m, _ = m.Update(lineMsg("trustlaunch: [ok] whitelist: https://a-rather-long-host-name.example.com (user-listed)"))
	m, _ = m.Update(runningMsg(phase.Descriptor))
	view := m.View().Content
	if !strings.Contains(view, "[....] descriptor") {
		t.Errorf("no phase under way:\n%s", view)
	}
	for _, line := range strings.Split(view, "\n") {
		if len([]rune(line)) > 40 {
			t.Errorf("line wider than 40: %q", line)
		}
	}
	if !strings.Contains(strings.ReplaceAll(view, "\n", ""), "a-rather-long-host-name.example.com") {
		t.Errorf("host was cut:\n%s", view)
	}
	m, cmd := m.Update(closeMsg{failed: phase.Descriptor})
	if cmd == nil || !strings.Contains(m.View().Content, "[failed] descriptor") {
		t.Errorf("close: %v\n%s", cmd, m.View().Content)
	}
}

// TestStatusShowsTheFailedPhase: the live screen marks the phase that
// failed, whichever lines came before it. It once guessed the phase from
// the number of lines drawn, and an admin policy's extra line, or a
// failure that came before its phase had a line, moved the guess.
func TestStatusShowsTheFailedPhase(t *testing.T) {
	for _, tc := range []struct {
		done   []phase.Phase
		failed phase.Phase
	}{
		{nil, phase.Policy},
		{[]phase.Phase{phase.Whitelist, phase.Descriptor, phase.Policy}, phase.Proxy},
		{[]phase.Phase{phase.Whitelist, phase.Descriptor}, phase.Emulator},
		{[]phase.Phase{phase.Whitelist}, phase.Descriptor},
	} {
		var m tea.Model = statusModel{}
		for _, p := range tc.done {
			m, _ = m.Update(runningMsg(p))
			m, _ = m.Update(lineMsg(doneLine(p, "ok")))
		}
		m, _ = m.Update(closeMsg{failed: tc.failed})
		view := m.View().Content
		if want := "[failed] " + string(tc.failed) + "\n"; !strings.HasSuffix(view, want) {
			t.Errorf("after %v, failing %s shows:\n%s", tc.done, tc.failed, view)
		}
		if strings.Count(view, "[failed]") != 1 || strings.Contains(view, "[....]") {
			t.Errorf("after %v, failing %s: one [failed] line and nothing pending expected:\n%s", tc.done, tc.failed, view)
		}
	}
	// Closed after success: nothing is left under way.
	var m tea.Model = statusModel{}
	m, _ = m.Update(runningMsg(phase.Emulator))
	m, _ = m.Update(lineMsg(doneLine(phase.Emulator, "c3270")))
	m, _ = m.Update(closeMsg{})
	if v := m.View().Content; strings.Contains(v, "[....]") || strings.Contains(v, "[failed]") {
		t.Errorf("closed after success:\n%s", v)
	}
}

// TestStatusSanitizesOnce: Event.Detail arrives sanitized by the launcher, so
// the status line must not escape it again (that showed "\\x1b" where
// "\x1b" was meant), while a control character that still slipped
// through never reaches the terminal. Both the plain lines and the live
// screen are checked.
func TestStatusSanitizesOnce(t *testing.T) {
	detail := safetext.Sanitize("Payroll\x1b[2J: host\u202e via proxy") + " raw\x07bell"
	want := `trustlaunch: [ok] descriptor: Payroll\x1b[2J: host\u202e via proxy raw\x07bell`

	var b bytes.Buffer
	s := NewStatus(StatusOptions{Out: &b, Plain: true})
	s.Done("descriptor", detail)
	s.Close()
	if got := strings.TrimSuffix(b.String(), "\n"); got != want {
		t.Errorf("plain status line:\n got %s\nwant %s", got, want)
	}

	// The live screen draws the same line: drive its model as Done does.
	var m tea.Model = statusModel{}
	m, _ = m.Update(tea.WindowSizeMsg{Width: 200, Height: 24})
	m, _ = m.Update(lineMsg(doneLine("descriptor", detail)))
	out := m.View().Content
	if !strings.Contains(out, want) {
		t.Errorf("live status screen lacks %s:\n%q", want, out)
	}
	if strings.Contains(out, `\\x1b`) || strings.ContainsAny(out, "\a\u202e") || strings.Contains(out, "\x1b[2J") {
		t.Errorf("live status screen escapes twice or passes a control character:\n%q", out)
	}
}
