package safetext

import (
	"io"
	"unicode/utf8"
)

// Writer passes a stream of text from the network to a terminal, with the
// same escaping as Sanitize except that line structure is kept: "\n", "\t"
// and "\r\n" pass through, a lone "\r" (which would overwrite a line) does not.
// A rune split across writes is held until it is complete.
type Writer struct {
	w       io.Writer
	pending []byte // an incomplete UTF-8 sequence or a trailing "\r"
}

// NewWriter returns a Writer that writes sanitized text to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sanitizes p and writes it. It reports len(p) on success: the bytes
// written to the terminal differ from p by design.
func (sw *Writer) Write(p []byte) (int, error) {
	buf := append(sw.pending, p...)
	sw.pending = nil
	out := make([]byte, 0, len(buf)+16)
	for i := 0; i < len(buf); {
		c := buf[i]
		switch {
		case c == '\n' || c == '\t':
			out = append(out, c)
			i++
			continue
		case c == '\r':
			if i+1 == len(buf) {
				sw.pending = []byte{'\r'}
				i++
				continue
			}
			if buf[i+1] == '\n' {
				out = append(out, '\r', '\n')
				i += 2
				continue
			}
		}
		if c >= utf8.RuneSelf && !utf8.FullRune(buf[i:]) {
			sw.pending = append([]byte(nil), buf[i:]...)
			break
		}
		_, size := utf8.DecodeRune(buf[i:])
		out = append(out, Sanitize(string(buf[i:i+size]))...)
		i += size
	}
	if _, err := sw.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what Write held back (an incomplete rune or a final "\r"),
// escaped.
func (sw *Writer) Flush() error {
	if len(sw.pending) == 0 {
		return nil
	}
	out := Sanitize(string(sw.pending))
	sw.pending = nil
	_, err := io.WriteString(sw.w, out)
	return err
}
