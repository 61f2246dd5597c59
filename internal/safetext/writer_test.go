package safetext

import (
	"bytes"
	"testing"
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"lines kept", []string{"a\nb\tc\r\n"}, "a\nb\tc\r\n"},
		{"escape sequences shown", []string{"\x1b[2J\x1b]0;t\x07ok\n"}, `\x1b[2J\x1b]0;t\x07ok` + "\n"},
		{"lone cr escaped", []string{"evil\rgood\n"}, `evil\x0dgood` + "\n"},
		{"cr split from lf", []string{"a\r", "\nb"}, "a\r\nb"},
		{"rune split across writes", []string{"b\xc3", "\xbccher"}, "bücher"},
		{"bidi", []string{"x\u202ey"}, `x\u202ey`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w := NewWriter(&b)
			for _, c := range tt.chunks {
				if n, err := w.Write([]byte(c)); err != nil || n != len(c) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Write([]byte("x\r"))
	w.Flush()
	if b.String() != `x\x0d` {
		t.Errorf("final CR: %q", b.String())
	}
}
