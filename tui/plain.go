package tui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/whitelist"
)

const (
	maxLine      = 256 // bytes of one answer line; the rest is read and ignored
	maxPlainAsks = 5   // unrecognised answers before the prompt gives up with No
)

type line struct {
	text    string
	tooLong bool  // longer than maxLine: never an answer
	err     error // io.EOF or a read error; text is then an unfinished line
}

// promptPlain asks the trust question in plain text on r and w: the same body
// as the TUI, then "[a]lways / [y]es / [N]o". Only a whole line counts: an
// empty line, "n" or "no" is No, EOF and unfinished lines are No, and after
// maxPlainAsks unrecognised lines the answer is No.
func promptPlain(ctx context.Context, r io.Reader, w io.Writer, d details, timeout time.Duration) (whitelist.Answer, error) {
	deadline := time.Now().Add(timeout)
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	lines := make(chan line)
	done := make(chan struct{})
	defer close(done)
	go readLines(r, lines, done)

	if _, err := fmt.Fprint(w, strings.Join(body(d, maxWidth, plainStyles()), "\n")+"\n\n"); err != nil {
		return whitelist.AnswerNo, fmt.Errorf("%w: %w", ErrTerminalClosed, err)
	}
	say := func(format string, args ...any) { _, _ = fmt.Fprintf(w, format, args...) }
	for range maxPlainAsks {
		left := int((time.Until(deadline) + time.Second - 1) / time.Second)
		say("[a]lways / [y]es / [N]o (No in %d s): ", max(left, 0))
		select {
		case <-ctx.Done():
			say("\nAnswer: No\n")
			return whitelist.AnswerNo, ctx.Err()
		case <-timer.C:
			say("\nAnswer: No (%v)\n", ErrTimeout)
			return whitelist.AnswerNo, fmt.Errorf("%w after %s", ErrTimeout, timeout)
		case l := <-lines:
			if l.err != nil {
				say("\nAnswer: No\n")
				return whitelist.AnswerNo, fmt.Errorf("%w: %w", ErrTerminalClosed, l.err)
			}
			text := strings.ToLower(strings.TrimSpace(l.text))
			if l.tooLong {
				text = "?"
			}
			switch text {
			case "a", "always":
				say("Answer: Always\n")
				return whitelist.AnswerAlways, nil
			case "y", "yes":
				say("Answer: Yes\n")
				return whitelist.AnswerYes, nil
			case "", "n", "no":
				say("Answer: No\n")
				return whitelist.AnswerNo, nil
			}
			say("Please type a, y or n and press Enter; Enter alone means No.\n")
		}
	}
	say("Answer: No\n")
	return whitelist.AnswerNo, ErrNoAnswer
}

// readLines sends each line of r, without its end, until a read fails; the
// failing read's error comes with the unfinished line. It stops when done is
// closed, though a read already blocked on a terminal stays blocked until the
// caller closes the terminal.
func readLines(r io.Reader, out chan<- line, done <-chan struct{}) {
	br := bufio.NewReader(r)
	for {
		var b strings.Builder
		var err error
		n := 0
		for {
			var c byte
			c, err = br.ReadByte()
			if err != nil || c == '\n' {
				break
			}
			if n++; n <= maxLine {
				b.WriteByte(c)
			}
		}
		l := line{text: strings.TrimSuffix(b.String(), "\r"), tooLong: n > maxLine, err: err}
		select {
		case out <- l:
		case <-done:
			return
		}
		if err != nil {
			return
		}
	}
}
