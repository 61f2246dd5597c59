package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// A launch that nobody started from a terminal (a browser ran the URL
// handler) must not fail unseen. TellWithoutTerminal tells the user with a
// desktop notification, and where there is no notification service, in a
// window: on Linux the terminal window the trust prompt opens, showing a
// message instead of a question; on Windows a message box (MessageBox),
// shown by a process of its own so the launch need not wait for a click.

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
	ToldWindow       = "window"       // a terminal window of its own (Windows: a message box)
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

// handOffMessage writes m into a new private hand-off directory and
// returns the directory (to remove, even with an error) and the command
// that serves it there.
func handOffMessage(opts WindowOptions, m windowMessage) (dir string, argv []string, err error) {
	if opts.Command == nil {
		return "", nil, errors.New("message window: no command to run")
	}
	if dir, err = makeHandoff(environ(opts.Env)); err != nil {
		return "", nil, err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return dir, nil, err
	}
	if err := writePrivate(filepath.Join(dir, messageFile), data); err != nil {
		return dir, nil, err
	}
	if argv = opts.Command(dir); len(argv) == 0 {
		return dir, nil, errors.New("message window: empty command")
	}
	return dir, argv, nil
}

// ServeMessage is the far end of TellWithoutTerminal, run by
// WindowOptions.Command: it reads the message from the hand-off directory,
// shows it, tells the waiting process, and keeps it shown until the user
// closes it, ctx ends or timeout (DefaultMessageTimeout when zero) passes.
// In a terminal window (Linux) it is written to out and closed by a line
// (Enter) on in; on Windows it is a message box, and out is the pipe to
// the waiting process.
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
	return present(ctx, handoff, m, in, out, timeout)
}

// renderMessage is the terminal window's text: the title, the message
// wrapped to width, and how to close the window, all sanitized.
func renderMessage(m windowMessage, width int) string {
	var b strings.Builder
	b.WriteString(safetext.Sanitize(m.Title) + "\n\n")
	for _, para := range strings.Split(m.Text, "\n") {
		b.WriteString(ansi.Wordwrap(safetext.Sanitize(para), width, " /") + "\n")
	}
	b.WriteString("\nPress Enter to close this window.\n")
	return b.String()
}
