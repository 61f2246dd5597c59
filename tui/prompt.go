package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Reasons a prompt answers No without the user choosing No. A Prompter
// returns them (wrapped) with whitelist.AnswerNo, for the audit record;
// explicit No, Esc and q return AnswerNo and a nil error.
var (
	ErrTimeout        = errors.New("no answer before the timeout")
	ErrInterrupted    = whitelist.ErrInterrupted
	ErrTerminalClosed = errors.New("terminal closed")
	ErrNoTerminal     = errors.New("no terminal to ask on")
	ErrNoAnswer       = errors.New("prompt ended without an answer")
)

// Defaults of Options.
const (
	DefaultTimeout  = 60 * time.Second
	DefaultArmDelay = time.Second
)

// Options configures NewPrompter. The zero value is a TUI prompt on the
// controlling terminal with the default timeout.
type Options struct {
	// Plain asks in plain text instead of the TUI: --no-tui. The prompter
	// also asks in plain text when $TERM says the terminal cannot run the TUI
	// ("dumb", or unset on Unix), and when the TUI fails to start.
	Plain bool
	// Timeout is how long the prompt waits before it answers No; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// ArmDelay is how long the TUI ignores every key but the ones that answer
	// No after it appears; 0 means DefaultArmDelay, negative disables it. A
	// window that pops up while the user types elsewhere takes the keyboard,
	// and a stray "y" must not answer. Tests that send keys should wait until
	// the screen shows "Enter choose".
	ArmDelay time.Duration
	// TTYPath is the terminal to ask on: "" is the controlling terminal
	// (/dev/tty; CONIN$ and CONOUT$ on Windows), whatever stdin and stdout
	// are. Tests may pass a pseudo-terminal.
	TTYPath string
	// NoColor draws without colour or reverse video: set it from NO_COLOR.
	NoColor bool
	// Getenv reads the environment ($TERM); nil means os.Getenv.
	Getenv func(string) string
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ArmDelay == 0 {
		o.ArmDelay = DefaultArmDelay
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return o
}

type prompter struct{ opts Options }

// NewPrompter returns the trust prompt (docs/design.md "The decision flow",
// step 4) on the terminal opts names. Its Prompt answers AnswerNo, with an
// error saying why, on a timeout, Ctrl-C, SIGINT, SIGTERM, SIGHUP, a closed
// terminal, a cancelled context, or when no terminal can be opened.
func NewPrompter(opts Options) whitelist.Prompter {
	return &prompter{opts: opts.withDefaults()}
}

// Prompt implements whitelist.Prompter.
func (p *prompter) Prompt(ctx context.Context, req whitelist.PromptRequest) (whitelist.Answer, error) {
	if err := ctx.Err(); err != nil {
		return whitelist.AnswerNo, err
	}
	d := detailsFor(req)
	ctx, stop := watchSignals(ctx)
	defer stop()

	t, err := openTTY(p.opts.TTYPath)
	if err != nil {
		return whitelist.AnswerNo, err
	}
	defer t.close()

	if p.opts.Plain || forcesPlain(p.opts.Getenv("TERM")) {
		return p.plain(ctx, t, d)
	}
	a, started, err := p.tui(ctx, t, d)
	if err != nil && !started && ctx.Err() == nil {
		// The TUI failed before it showed anything (no raw mode, say): ask
		// the same question in plain text rather than refuse unasked.
		return p.plain(ctx, t, d)
	}
	return a, err
}

func (p *prompter) plain(ctx context.Context, t *tty, d details) (whitelist.Answer, error) {
	// The plain prompt reads a line and has no arming delay, so drop
	// whatever was typed before it appeared. A terminal that refuses the
	// flush still gets the prompt: the answer then needs Enter all the same.
	_ = discardTypeahead(t.in)
	a, err := promptPlain(ctx, t.in, t.out, d, p.opts.Timeout)
	return a, causeOf(ctx, err)
}

// tui runs the bubbletea prompt on t. started reports whether it got as far as
// showing the prompt.
func (p *prompter) tui(ctx context.Context, t *tty, d details) (a whitelist.Answer, started bool, err error) {
	st := colorStyles()
	popts := []tea.ProgramOption{
		// Not tea.WithContext: a cancelled context kills the program without
		// waiting for its input reader, which then races with closing the
		// terminal. The model ends on stopMsg instead, the graceful way.
		tea.WithInput(ttyInput{t.in}),
		tea.WithOutput(t.out),
		// watchSignals handles SIGINT, SIGTERM and SIGHUP for both prompters.
		tea.WithoutSignalHandler(),
	}
	if p.opts.NoColor {
		st = monoStyles()
		popts = append(popts, tea.WithColorProfile(colorprofile.ASCII))
	}
	// What was typed before the question appeared was meant for another
	// window; the arming delay covers what comes after, until it is read.
	_ = discardTypeahead(t.in)
	m := newModel(d, st, time.Now(), p.opts.Timeout, p.opts.ArmDelay)
	prog := tea.NewProgram(m, popts...)
	ran := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			prog.Send(stopMsg{context.Cause(ctx)})
		case <-ran:
		}
	}()
	final, err := prog.Run()
	close(ran)
	started = m.started.Load()
	fm, ok := final.(model)
	switch {
	case err == nil && ok && fm.done:
		return fm.answer, started, fm.err
	case err == nil:
		return whitelist.AnswerNo, started, ErrNoAnswer
	case errors.Is(err, tea.ErrInterrupted):
		return whitelist.AnswerNo, started, ErrInterrupted
	}
	return whitelist.AnswerNo, started, causeOf(ctx, fmt.Errorf("trust prompt: %w", err))
}

// causeOf prefers the reason the context was cancelled (a signal, the
// caller's deadline) over the error it caused.
func causeOf(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// watchSignals returns a context cancelled, with ErrInterrupted or
// ErrTerminalClosed as its cause, when the process gets one of the signals
// that end a prompt; stop undoes it. Without it SIGHUP would kill the process
// mid-prompt, skipping the caller's teardown and audit record.
func watchSignals(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, promptSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			cancel(signalCause(s))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}
