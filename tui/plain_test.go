package tui

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/whitelist"
)

func TestPlainAnswers(t *testing.T) {
	tests := []struct {
		name, in string
		want     whitelist.Answer
		wantErr  error
	}{
		{"a", "a\n", whitelist.AnswerAlways, nil},
		{"always", "Always\n", whitelist.AnswerAlways, nil},
		{"y", "y\n", whitelist.AnswerYes, nil},
		{"yes crlf", "YES\r\n", whitelist.AnswerYes, nil},
		{"n", "n\n", whitelist.AnswerNo, nil},
		{"no", " no \n", whitelist.AnswerNo, nil},
		{"empty line", "\n", whitelist.AnswerNo, nil},
		{"eof", "", whitelist.AnswerNo, ErrTerminalClosed},
		{"unfinished line at eof", "a", whitelist.AnswerNo, ErrTerminalClosed},
		{"garbage then n", "sure\nn\n", whitelist.AnswerNo, nil},
		{"garbage then y", "sure\ny\n", whitelist.AnswerYes, nil},
		{"garbage then eof", "sure\n", whitelist.AnswerNo, ErrTerminalClosed},
		{"too much garbage", strings.Repeat("x\n", maxPlainAsks) + "a\n", whitelist.AnswerNo, ErrNoAnswer},
		{"over-long line", "a" + strings.Repeat(" ", maxLine) + "\n", whitelist.AnswerNo, ErrTerminalClosed},
		{"escape as answer", "\x1b[Ay\n", whitelist.AnswerNo, ErrTerminalClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			got, err := promptPlain(t.Context(), strings.NewReader(tt.in), &out, testDetails(), time.Minute)
			if got != tt.want {
				t.Errorf("answer = %v, want %v\n%s", got, tt.want, out.String())
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			o := out.String()
			if !strings.Contains(o, "[a]lways / [y]es / [N]o") || !strings.Contains(flat(o), whitelist.Question+"?") {
				t.Errorf("output lacks the question or the choices:\n%s", o)
			}
			if strings.Contains(tt.name, "garbage") && !strings.Contains(o, "Please type a, y or n") {
				t.Errorf("no hint after garbage:\n%s", o)
			}
		})
	}
}

func TestPlainShowsTheSameBody(t *testing.T) {
	d := testDetails()
	d.unicode, d.port, d.entry = "bücher.example", 8443, "portal.example.com:8443"
	var out strings.Builder
	if _, err := promptPlain(t.Context(), strings.NewReader("n\n"), &out, d, time.Minute); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(body(d, maxWidth, plainStyles()), "\n")
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("plain output does not start with the body:\n%s\nwant prefix:\n%s", out.String(), want)
	}
	for _, s := range []string{"Port      8443", "Unicode   bücher.example", "! Warning", "Always adds portal.example.com:8443"} {
		if !strings.Contains(out.String(), s) && !strings.Contains(flat(out.String()), s) {
			t.Errorf("plain output lacks %q", s)
		}
	}
}

func TestPlainInjection(t *testing.T) {
	for _, p := range payloads {
		t.Run(p.name, func(t *testing.T) {
			var out strings.Builder
			if _, err := promptPlain(t.Context(), strings.NewReader("\n"), &out, hostileDetails(p.s), time.Minute); err != nil {
				t.Fatal(err)
			}
			assertInertView(t, strings.TrimRight(out.String(), "\n"), maxWidth)
		})
	}
}

func TestPlainTimeout(t *testing.T) {
	r, w := io.Pipe() // never written: the user does not answer
	defer w.Close()
	var out strings.Builder
	got, err := promptPlain(t.Context(), r, &out, testDetails(), 50*time.Millisecond)
	if got != whitelist.AnswerNo || !errors.Is(err, ErrTimeout) {
		t.Errorf("got %v, %v; want No, ErrTimeout", got, err)
	}
	if !strings.Contains(out.String(), "Answer: No") {
		t.Errorf("output does not say No:\n%s", out.String())
	}
}

func TestPlainCancel(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := promptPlain(ctx, r, io.Discard, testDetails(), time.Minute)
	if got != whitelist.AnswerNo || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, %v; want No, context.Canceled", got, err)
	}
}
