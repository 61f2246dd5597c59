package tui

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/trustlaunch/trustlaunch/whitelist"
)

// choice is a button, in screen order.
type choice int

const (
	choiceAlways choice = iota
	choiceYes
	choiceNo
	numChoices
)

func (c choice) String() string { return [...]string{"Always", "Yes", "No"}[c] }

func (c choice) answer() whitelist.Answer {
	switch c {
	case choiceAlways:
		return whitelist.AnswerAlways
	case choiceYes:
		return whitelist.AnswerYes
	}
	return whitelist.AnswerNo
}

// keyMap lists the keys of each action, as tea.KeyPressMsg.String() spells
// them. Every action is named in the help line (helpLine); TestHelpShowsEveryKey
// keeps the two in step.
type keyMap struct {
	Always, Yes, No, Interrupt, Prev, Next, Choose []string
}

func defaultKeys() keyMap {
	return keyMap{
		Always:    []string{"a", "A"},
		Yes:       []string{"y", "Y"},
		No:        []string{"n", "N", "q", "Q", "esc"},
		Interrupt: []string{"ctrl+c"},
		Prev:      []string{"left", "shift+tab"},
		Next:      []string{"right", "tab"},
		Choose:    []string{"enter"},
	}
}

const (
	helpLine    = "a Always   y Yes   n/q/Esc No   Tab/Left/Right move   Enter choose"
	helpUnarmed = "n/q/Esc No   (a, y, Tab and Enter are enabled in a moment)"
	// helpAlways replaces helpLine while Always has the focus and Enter
	// would answer it, helpAlwaysSoon for the moment before (see
	// model.alwaysReady). Always is the one answer that outlives this
	// launch, so it takes Enter too. Each fits one line of 80 columns: a
	// line more would push the demo's first line off an 80x24 screen.
	helpAlways     = "Enter: Always, added to your whitelist   any other key: back to No"
	helpAlwaysSoon = "Always: Enter confirms it in a moment   any other key: back to No"
)

// tickMsg drives the countdown; armMsg enables the keys that can say yes;
// alwaysMsg lets Enter answer Always, once the focus has rested on it (its
// number is the model's alwaysSeq when the focus got there); stopMsg ends
// the prompt with No from outside: a signal, a cancelled context.
type (
	tickMsg   time.Time
	armMsg    struct{}
	alwaysMsg int
	stopMsg   struct{ err error }
)

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// model is the trust prompt. Its zero focus is not No, so build it with
// newModel.
type model struct {
	d      details
	keys   keyMap
	st     styles
	width  int
	height int

	focus choice
	// While the focus is on Always (the key a, or a move), Enter answers
	// Always and any key that is not an answer or a move puts the focus
	// back on No: a permanent answer takes two keys, so "clear" + Enter
	// typed into the wrong window answers nothing permanent. The two keys
	// must also be apart: Enter answers Always only once alwaysReady, set
	// armDelay after the focus came to Always (alwaysMsg), and an Enter
	// before that puts the focus back on No. The a at the end of "ls -la"
	// and the Enter typed right after it are the keystrokes of a command,
	// not a choice made after reading the screen.
	alwaysReady bool
	alwaysSeq   int // counts the focus's arrivals on Always, so a late alwaysMsg is ignored
	// armed is false for armDelay after the prompt appears. Until then only
	// the keys that answer No work: a terminal window that pops up while the
	// user is typing elsewhere takes the keyboard focus, and a stray "y" or
	// Tab+Enter must not answer for them (Firefox's dialog enable delay).
	armed    bool
	armDelay time.Duration

	deadline time.Time // the prompt answers No at this time
	now      time.Time // time of the last tick, for the countdown
	timeout  time.Duration

	done    bool
	answer  whitelist.Answer
	err     error        // why the answer is No without a choice: ErrTimeout, ErrInterrupted
	started *atomic.Bool // set by Init: the program got as far as showing the prompt
}

func newModel(d details, st styles, now time.Time, timeout, armDelay time.Duration) model {
	return model{
		d:        d,
		keys:     defaultKeys(),
		st:       st,
		width:    maxWidth,
		height:   maxHeight,
		focus:    choiceNo,
		armed:    armDelay <= 0,
		armDelay: armDelay,
		deadline: now.Add(timeout),
		now:      now,
		timeout:  timeout,
		started:  new(atomic.Bool),
	}
}

// The prompt fits an 80x24 terminal, and a smaller one when told its size.
const (
	maxWidth  = 80
	maxHeight = 24
	minWidth  = 20
)

func (m model) Init() tea.Cmd {
	m.started.Store(true)
	cmds := []tea.Cmd{tick()}
	if !m.armed {
		cmds = append(cmds, tea.Tick(m.armDelay, func(time.Time) tea.Msg { return armMsg{} }))
	}
	return tea.Batch(cmds...)
}

func (m model) finish(a whitelist.Answer, err error) (tea.Model, tea.Cmd) {
	m.done, m.answer, m.err = true, a, err
	return m, tea.Quit
}

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.done {
		return m, nil
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width = min(max(msg.Width, minWidth), maxWidth)
		m.height = max(msg.Height, 1)
	case armMsg:
		m.armed = true
	case alwaysMsg:
		if int(msg) == m.alwaysSeq && m.focus == choiceAlways {
			m.alwaysReady = true
		}
	case stopMsg:
		return m.finish(whitelist.AnswerNo, msg.err)
	case tickMsg:
		m.now = time.Time(msg)
		if !m.now.Before(m.deadline) {
			return m.finish(whitelist.AnswerNo, fmt.Errorf("%w after %s", ErrTimeout, m.timeout))
		}
		return m, tick()
	case tea.KeyPressMsg:
		k := msg.String()
		switch {
		case slices.Contains(m.keys.Interrupt, k):
			return m.finish(whitelist.AnswerNo, ErrInterrupted)
		case slices.Contains(m.keys.No, k):
			return m.finish(whitelist.AnswerNo, nil)
		case !m.armed:
			// Ignored: see model.armed.
		case slices.Contains(m.keys.Always, k):
			return m.focusOn(choiceAlways)
		case slices.Contains(m.keys.Yes, k):
			return m.finish(whitelist.AnswerYes, nil)
		// The focus stops at the ends rather than wrapping: one Tab from
		// the default No must not land on Always, the most permissive
		// answer.
		case slices.Contains(m.keys.Prev, k):
			return m.focusOn(max(m.focus-1, choiceAlways))
		case slices.Contains(m.keys.Next, k):
			return m.focusOn(min(m.focus+1, choiceNo))
		case slices.Contains(m.keys.Choose, k):
			if m.focus == choiceAlways && !m.alwaysReady {
				return m.focusOn(choiceNo) // too soon: see model.alwaysReady
			}
			return m.finish(m.focus.answer(), nil)
		case m.focus == choiceAlways:
			return m.focusOn(choiceNo)
		}
	}
	return m, nil
}

// focusOn moves the focus to c. Arriving on Always starts the wait before
// Enter may answer it (model.alwaysReady); with no arming delay there is
// none.
func (m model) focusOn(c choice) (model, tea.Cmd) {
	if c == m.focus {
		return m, nil
	}
	m.focus, m.alwaysReady = c, false
	if c != choiceAlways {
		return m, nil
	}
	m.alwaysSeq++
	if m.armDelay <= 0 {
		m.alwaysReady = true
		return m, nil
	}
	seq := m.alwaysSeq
	return m, tea.Tick(m.armDelay, func(time.Time) tea.Msg { return alwaysMsg(seq) })
}

func (m model) View() tea.View {
	return tea.NewView(m.render())
}

// render draws the screen: the shared body, then the choices, the keys and
// the countdown, or the answer once there is one.
func (m model) render() string {
	lines := body(m.d, m.width, m.st)
	lines = append(lines, "")
	if m.done {
		res := "Answer: " + answerName(m.answer)
		if m.err != nil {
			res += " (" + m.err.Error() + ")"
		}
		lines = append(lines, wrap(m.width, indent, indent, ours(res, m.st.result))...)
		// Bubble Tea erases from the cursor down when it exits, and leaves
		// the cursor at the start of the last line: keep that one empty so
		// the answer stays on the screen.
		return strings.Join(compact(lines, m.height-1), "\n") + "\n"
	}
	var b strings.Builder
	b.WriteString(indent)
	for c := range numChoices {
		if c > 0 {
			b.WriteString("   ")
		}
		if c == m.focus {
			// The marker says which button Enter picks; the style only repeats it.
			b.WriteString(m.st.focused.Render("> [" + c.String() + "]"))
		} else {
			b.WriteString(m.st.choice.Render("  [" + c.String() + "]"))
		}
	}
	lines = append(lines, b.String(), "")
	help := helpUnarmed
	switch {
	case m.armed && m.focus == choiceAlways && m.alwaysReady:
		help = helpAlways
	case m.armed && m.focus == choiceAlways:
		help = helpAlwaysSoon
	case m.armed:
		help = helpLine
	}
	lines = append(lines, wrap(m.width, indent, indent, ours(help, m.st.help))...)
	lines = append(lines, wrap(m.width, indent, indent, ours(fmt.Sprintf("No answer means No in %d s.", m.remaining()), m.st.help))...)
	return strings.Join(compact(lines, m.height), "\n")
}

// remaining is the countdown in whole seconds, rounded up.
func (m model) remaining() int {
	d := m.deadline.Sub(m.now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// compact drops the spacer lines when the screen is taller than height, so a
// very long host still fits in 24 rows where it can.
func compact(lines []string, height int) []string {
	if len(lines) <= height {
		return lines
	}
	return slices.DeleteFunc(lines, func(l string) bool { return l == "" })
}

func answerName(a whitelist.Answer) string {
	switch a {
	case whitelist.AnswerAlways:
		return choiceAlways.String()
	case whitelist.AnswerYes:
		return choiceYes.String()
	}
	return choiceNo.String()
}
