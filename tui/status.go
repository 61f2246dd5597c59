package tui

import (
	"fmt"
	"io"
	"strings"
	"sync"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/trustlaunch/trustlaunch/internal/phase"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// StatusOptions configure NewStatus.
type StatusOptions struct {
	Out     io.Writer // where to draw: the terminal (stderr)
	Plain   bool      // one line per phase that ended, instead of the live screen
	NoColor bool
}

// Status shows a launch's progress while it connects: each finished phase
// with an [ok] marker, the phase under way as [....], and a failed one as
// [failed] (text markers, so colour carries no meaning alone). The caller
// prints the error itself. The live screen draws inline, without taking the
// keyboard; Close ends it and gives the terminal back, which must happen
// before an emulator starts.
type Status struct {
	out   io.Writer
	prog  *tea.Program
	done  chan struct{}
	once  sync.Once
	plain bool
}

// statusModel is the live screen.
type statusModel struct {
	lines   []string    // finished phases, rendered
	running phase.Phase // the phase under way, "" when none
	failed  bool        // running failed
	width   int
}

type lineMsg string
type runningMsg phase.Phase
type closeMsg struct{ failed phase.Phase } // "": closed after success

// NewStatus starts the status screen on opts.Out.
func NewStatus(opts StatusOptions) *Status {
	s := &Status{out: opts.Out, plain: opts.Plain, done: make(chan struct{})}
	if s.plain {
		close(s.done)
		return s
	}
	popts := []tea.ProgramOption{
		tea.WithInput(nil), // the status screen reads no keys: Ctrl-C stays a signal
		tea.WithOutput(opts.Out),
		tea.WithoutSignalHandler(),
	}
	if opts.NoColor {
		popts = append(popts, tea.WithColorProfile(colorprofile.ASCII))
	}
	s.prog = tea.NewProgram(statusModel{}, popts...)
	go func() {
		defer close(s.done)
		_, _ = s.prog.Run()
	}()
	return s
}

// Begin shows p as the phase under way (the live screen only: the plain
// output has a line for each phase that ended).
func (s *Status) Begin(p phase.Phase) {
	if !s.plain {
		s.prog.Send(runningMsg(p))
	}
}

// Done shows a phase that succeeded. detail is already sanitized
// (launcher.Event.Detail is built with safetext), so it is not escaped
// again here: a second Sanitize would double every backslash and show
// "\\x1b" where "\x1b" was meant. It still goes through safetext.Inert, which
// leaves those escapes alone but would catch a control character that a
// caller forgot, so nothing reaches the terminal raw.
func (s *Status) Done(p phase.Phase, detail string) {
	line := doneLine(p, detail)
	if s.plain {
		fmt.Fprintln(s.out, line)
		return
	}
	s.prog.Send(lineMsg(line))
}

// doneLine is the line Done draws, on the plain output and the live screen.
func doneLine(p phase.Phase, detail string) string {
	return "trustlaunch: [ok] " + safetext.Inert(string(p)+": "+detail)
}

// Fail shows p as failed and ends the screen.
func (s *Status) Fail(p phase.Phase) {
	if s.plain {
		fmt.Fprintf(s.out, "trustlaunch: [failed] %s\n", p)
		return
	}
	s.stop(p)
}

// Close ends the live screen, leaving its last frame, and returns when the
// terminal is back in its normal state.
func (s *Status) Close() { s.stop("") }

// stop ends the live screen, showing failed as the phase that failed.
func (s *Status) stop(failed phase.Phase) {
	s.once.Do(func() {
		if s.prog != nil {
			s.prog.Send(closeMsg{failed})
		}
	})
	<-s.done
}

func (m statusModel) Init() tea.Cmd { return nil }

func (m statusModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width = msg.Width
	case lineMsg:
		m.lines = append(m.lines, string(msg))
		m.running = ""
	case runningMsg:
		m.running = phase.Phase(msg)
	case closeMsg:
		// Closed: the failed phase, or nothing under way any more.
		m.running, m.failed = msg.failed, msg.failed != ""
		return m, tea.Quit
	}
	return m, nil
}

func (m statusModel) View() tea.View {
	var b strings.Builder
	width := m.width
	if width <= 0 {
		width = 80
	}
	for _, l := range m.lines {
		// Wrap rather than let the renderer cut a long line at the edge.
		b.WriteString(ansi.Hardwrap(l, width, true) + "\n")
	}
	if m.running != "" {
		mark := "...."
		if m.failed {
			mark = "failed"
		}
		fmt.Fprintf(&b, "trustlaunch: [%s] %s\n", mark, m.running)
	}
	return tea.NewView(b.String())
}
