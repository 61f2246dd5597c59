package tui

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestHelperMessageChild is the message box's process of
// TestTellInMessageBox: it serves the message with the box replaced by a
// connection to the test, on loopback, that sends what the box would show.
func TestHelperMessageChild(t *testing.T) {
	if os.Getenv("TUI_TEST_CHILD") != "message" {
		return // not a helper process
	}
	messageBox = func(_ context.Context, title, text string, _ time.Duration) error {
		c, err := net.Dial("tcp", os.Getenv("TUI_TEST_ADDR"))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = io.WriteString(c, title+"\n"+text)
		return err
	}
	if err := ServeMessage(t.Context(), flag.Arg(0), strings.NewReader(""), os.Stdout, time.Minute); err != nil {
		t.Fatal(err)
	}
}

// TestTellInMessageBox: on Windows, where no notify-send exists, a user
// without a console is told in a message box that a process of its own
// shows; the launch returns once that process says the box is up. The
// message travels through the private hand-off directory, never the
// command line, and is sanitized. With no process to show it: nobody,
// with both reasons.
func TestTellInMessageBox(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opts := WindowOptions{
		Command: func(dir string) []string {
			return []string{exe, "-test.run=^TestHelperMessageChild$", "--", dir}
		},
		Env:          append(os.Environ(), "TUI_TEST_CHILD=message", "TUI_TEST_ADDR="+ln.Addr().String()),
		StartTimeout: time.Minute,
	}
	how, err := TellWithoutTerminal(t.Context(), opts, "trustlaunch: launch failed", "descriptor-fetch: server answered 403 Forbidden\x1b[2J\nhint: ask for a new link")
	if how != ToldWindow || err != nil {
		t.Fatalf("told %q, %v; want the message box", how, err)
	}
	// The box is the child's, shown after it said so: it sends what it
	// shows once it is up.
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(time.Minute))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("the message box never showed: %v", err)
	}
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	shown, err := io.ReadAll(c)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(shown); !strings.HasPrefix(s, "trustlaunch: launch failed\n") || !strings.Contains(s, `403 Forbidden\x1b[2J`) ||
		!strings.Contains(s, "hint: ask for a new link") || strings.Contains(s, "\x1b") {
		t.Errorf("the message box showed:\n%q", s)
	}

	opts.Command = func(string) []string { return []string{filepath.Join(testtmp.Dir(t), "missing.exe")} }
	opts.Notify = func(context.Context, string, string) error { return errors.New("no notification service") }
	if how, err := TellWithoutTerminal(t.Context(), opts, "t", "x"); how != ToldNobody || !errors.Is(err, ErrNoWindow) || !strings.Contains(err.Error(), "no notification service") {
		t.Errorf("told %q, %v; want nobody, with both reasons", how, err)
	}
}

// TestMessageBoxTimesOut calls the real MessageBoxTimeoutW, which a test
// cannot click: it must come back by itself once its time is up.
func TestMessageBoxTimesOut(t *testing.T) {
	done := make(chan error, 1)
	go func() { done <- messageBox(t.Context(), "trustlaunch test", "closes by itself", 500*time.Millisecond) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("messageBox: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the message box did not close at its timeout")
	}
}
