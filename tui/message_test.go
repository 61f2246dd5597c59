//go:build unix && !darwin

package tui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTellWithoutTerminal: a user with no terminal is told by a desktop
// notification; without a notification service, in a terminal window that
// shows the message (sanitized) and says how to close it; with neither,
// the caller learns why both failed. The launch once told nobody when
// notify-send was missing.
func TestTellWithoutTerminal(t *testing.T) {
	const title = "trustlaunch: launch failed"
	text := "descriptor-fetch: server answered 403 Forbidden\x1b]52;c;x\x07\nhint: ask the portal for a new link"

	t.Run("notification", func(t *testing.T) {
		f := newWindowFixture(t, "message")
		f.opts.Env = append(f.opts.Env, "TERMINAL="+f.install(t, "my-term", fakeTerminal))
		how, err := TellWithoutTerminal(t.Context(), f.opts, title, text)
		if how != ToldNotification || err != nil || len(f.notified) != 1 {
			t.Fatalf("told %q, %v; notified %q", how, err, f.notified)
		}
		if _, err := os.Stat(filepath.Join(f.log, "shown")); err == nil {
			t.Error("a window opened as well as the notification")
		}
	})

	t.Run("window", func(t *testing.T) {
		f := newWindowFixture(t, "message")
		f.opts.Notify = func(context.Context, string, string) error { return errors.New("notify-send: not found") }
		f.opts.Env = append(f.opts.Env, "TERMINAL="+f.install(t, "my-term", fakeTerminal))
		how, err := TellWithoutTerminal(t.Context(), f.opts, title, text)
		if how != ToldWindow || err != nil {
			t.Fatalf("told %q, %v; want the window", how, err)
		}
		shown, err := os.ReadFile(filepath.Join(f.log, "shown"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{title, `403 Forbidden\x1b]52;c;x\x07`, "hint: ask the portal for a new link", "Press Enter to close this window."} {
			if !strings.Contains(string(shown), want) {
				t.Errorf("the window lacks %q:\n%s", want, shown)
			}
		}
		if strings.ContainsAny(string(shown), "\x1b\x07") {
			t.Errorf("the window shows a control character raw:\n%q", shown)
		}
		if argv, _ := os.ReadFile(filepath.Join(f.log, "argv")); strings.Contains(string(argv), "Forbidden") || strings.Contains(string(argv), "descriptor-fetch") {
			t.Errorf("the message reached the terminal's command line: %q", argv)
		}
	})

	t.Run("nobody", func(t *testing.T) {
		f := newWindowFixture(t, "message") // PATH holds no terminal
		f.opts.Notify = func(context.Context, string, string) error { return errors.New("notify-send: not found") }
		how, err := TellWithoutTerminal(t.Context(), f.opts, title, text)
		if how != ToldNobody || err == nil || !strings.Contains(err.Error(), "notify-send: not found") || !errors.Is(err, ErrNoWindow) {
			t.Fatalf("told %q, %v; want nobody, with both reasons", how, err)
		}
	})
}
