package tui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// A launch that nobody started from a terminal (a browser ran the URL
// handler) must not fail unseen. TellWithoutTerminal tells the user with a
// desktop notification, and where there is no notification service, in a
// terminal window of its own (the window the trust prompt opens, showing
// a message instead of a question).

// Names and bounds of a message window.
const (
	messageFile = "message.json"
	maxMessage  = 8 << 10
	// DefaultMessageTimeout is how long a message window stays open
	// unless the user closes it first.
	DefaultMessageTimeout = 10 * time.Minute
	messageShown          = "shown"
)

// How a user was told, as TellWithoutTerminal reports it and the audit
// record keeps it.
const (
	ToldTerminal     = "terminal"     // the launch had a terminal: stderr
	ToldNotification = "notification" // a desktop notification (notify-send)
	ToldWindow       = "window"       // a terminal window of its own
	ToldNobody       = "nobody"       // neither could be shown
)

// windowMessage is message.json.
type windowMessage struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// TellWithoutTerminal shows title and text to a user who has no terminal:
// as a desktop notification (opts.Notify), and when that fails, in a
// terminal window that runs opts.Command, whose ServeMessage shows the
// text until the user presses Enter. It returns how the user was told
// (ToldNotification, ToldWindow), or ToldNobody with why neither worked.
// text is plain text from anywhere, the network included: it is sanitized
// where it is shown.
func TellWithoutTerminal(ctx context.Context, opts WindowOptions, title, text string) (string, error) {
	opts = opts.withDefaults()
	nerr := opts.Notify(ctx, title, text)
	if nerr == nil {
		return ToldNotification, nil
	}
	werr := showWindow(ctx, opts, windowMessage{Title: title, Text: text})
	if werr == nil {
		return ToldWindow, nil
	}
	return ToldNobody, fmt.Errorf("no desktop notification (%v), and %w", nerr, werr)
}

// showWindow opens a terminal window that shows m, and returns once the
// window has said it shows it.
func showWindow(ctx context.Context, opts WindowOptions, m windowMessage) error {
	if opts.Command == nil {
		return errors.New("message window: no command to run in the window")
	}
	env := environ(opts.Env)
	dir, err := makeHandoff(env)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := writePrivate(filepath.Join(dir, messageFile), data); err != nil {
		return err
	}
	ln, err := net.Listen("unix", filepath.Join(dir, answerSock))
	if err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			conns <- c
		}
	}()
	argv := opts.Command(dir)
	if len(argv) == 0 {
		return errors.New("message window: empty command")
	}
	cands, failures := windowCommands(env, argv, dir)
	p := &windowPrompter{opts: opts}
	for _, c := range cands {
		conn, err := p.launch(ctx, c, conns)
		if errors.Is(err, errTryNext) {
			failures = append(failures, err.Error())
			continue
		}
		if err != nil {
			return err
		}
		return awaitShown(conn, opts.StartTimeout)
	}
	if len(failures) == 0 {
		return ErrNoWindow
	}
	return fmt.Errorf("%w: %s", ErrNoWindow, strings.Join(failures, "; "))
}

// awaitShown reads the window's one line, which says the message is on its
// screen.
func awaitShown(conn net.Conn, timeout time.Duration) error {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(io.LimitReader(conn, maxReply)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("%w: the window closed before it showed the message: %v", ErrNoWindow, err)
	}
	if strings.TrimSpace(line) != messageShown {
		return fmt.Errorf("%w: the window answered %s", ErrNoWindow, safetext.Quote(strings.TrimSpace(line)))
	}
	return nil
}

// ServeMessage is the far end of TellWithoutTerminal, run inside the
// terminal window by WindowOptions.Command: it reads the message from the
// hand-off directory, shows it on out, tells the waiting process, and keeps
// the window open until a line (Enter) is read from in, in ends, ctx ends or
// timeout (DefaultMessageTimeout when zero) passes.
func ServeMessage(ctx context.Context, handoff string, in io.Reader, out io.Writer, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultMessageTimeout
	}
	if err := checkPrivate(handoff, true); err != nil {
		return fmt.Errorf("message window: hand-off directory: %w", err)
	}
	path := filepath.Join(handoff, messageFile)
	if err := checkPrivate(path, false); err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	data, err := readCapped(path, maxMessage)
	if err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	var m windowMessage
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("message window: %s: %s", messageFile, safetext.Sanitize(err.Error()))
	}
	if _, err := io.WriteString(out, renderMessage(m, maxWidth)); err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(handoff, answerSock))
	if err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	_, err = io.WriteString(conn, messageShown+"\n")
	conn.Close()
	if err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	read := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(in).ReadString('\n')
		close(read)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-read:
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil
}

// renderMessage is the window's text: the title, the message wrapped to
// width, and how to close the window, all sanitized.
func renderMessage(m windowMessage, width int) string {
	var b strings.Builder
	b.WriteString(safetext.Sanitize(m.Title) + "\n\n")
	for _, para := range strings.Split(m.Text, "\n") {
		b.WriteString(ansi.Wordwrap(safetext.Sanitize(para), width, " /") + "\n")
	}
	b.WriteString("\nPress Enter to close this window.\n")
	return b.String()
}
