//go:build linux

package tui

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// screen is the master side of a pseudo-terminal: what the prompt wrote, and
// a way to type.
type screen struct {
	master    *os.File
	slavePath string

	mu      sync.Mutex
	out     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
	done    chan struct{} // closed when reading stops
}

func openScreen(t *testing.T) *screen {
	t.Helper()
	// Non-blocking, so that os.NewFile uses the poller and Close ends Read.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	s := &screen{
		master:    os.NewFile(uintptr(fd), "ptmx"),
		slavePath: fmt.Sprintf("/dev/pts/%d", n),
		changed:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	// Hold the slave open so the terminal is not hung up between prompts.
	hold, err := os.OpenFile(s.slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	go s.read()
	t.Cleanup(func() {
		_ = s.master.Close()
		_ = hold.Close()
		<-s.done
	})
	return s
}

func (s *screen) read() {
	defer close(s.done)
	buf := make([]byte, 4096)
	for {
		n, err := s.master.Read(buf)
		s.mu.Lock()
		s.out.Write(buf[:n])
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// waitFor waits until the text shown, escapes removed, contains want.
func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		text := ansi.Strip(s.out.String())
		ch := s.changed
		s.mu.Unlock()
		if strings.Contains(text, want) {
			return
		}
		select {
		case <-ch:
		case <-s.done:
			t.Fatalf("terminal closed before %q appeared:\n%s", want, text)
		case <-deadline.C:
			t.Fatalf("%q did not appear:\n%s", want, text)
		}
	}
}

func (s *screen) typ(t *testing.T, keys string) {
	t.Helper()
	if _, err := s.master.WriteString(keys); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	a   whitelist.Answer
	err error
}

func startPrompt(t *testing.T, opts Options, env map[string]string) <-chan result {
	t.Helper()
	opts.Getenv = func(k string) string { return env[k] }
	p := NewPrompter(opts)
	req := testRequest(t)
	ch := make(chan result, 1)
	go func() {
		a, err := p.Prompt(t.Context(), req)
		ch <- result{a, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the prompt did not return")
	}
	return result{}
}

var xterm = map[string]string{"TERM": "xterm-256color"}

func TestPTYTUI(t *testing.T) {
	for _, tt := range []struct {
		name, keys string
		want       whitelist.Answer
		wantErr    error
	}{
		{"a enter", "a", whitelist.AnswerAlways, nil}, // Enter once the screen offers it: below
		{"clear enter", "clear\r", whitelist.AnswerNo, nil},
		// A shell command typed into the prompt: the Enter that follows the
		// a of "ls -la" comes before Always could be read, and goes back
		// to No; the next Enter answers No.
		{"ls -la enter enter", "ls -la\r\r", whitelist.AnswerNo, nil},
		{"y", "y", whitelist.AnswerYes, nil},
		{"n", "n", whitelist.AnswerNo, nil},
		{"enter", "\r", whitelist.AnswerNo, nil},
		{"left enter", "\x1b[D\r", whitelist.AnswerYes, nil},
		{"ctrl+c", "\x03", whitelist.AnswerNo, ErrInterrupted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openScreen(t)
			var before unix.Termios
			if tio, err := unix.IoctlGetTermios(int(s.master.Fd()), unix.TCGETS); err == nil {
				before = *tio
			}
			// The arming delay is also the time Enter waits on Always: long
			// enough that the keys of one write are all read within it.
			ch := startPrompt(t, Options{TTYPath: s.slavePath, ArmDelay: 500 * time.Millisecond}, xterm)
			s.waitFor(t, "portal.example.com")
			s.waitFor(t, "Enter choose") // armed
			s.typ(t, tt.keys)
			if tt.want == whitelist.AnswerAlways {
				s.waitFor(t, "Always, added to your whitelist")
				s.typ(t, "\r")
			}
			r := wait(t, ch)
			if r.a != tt.want || !errors.Is(r.err, tt.wantErr) || (tt.wantErr == nil && r.err != nil) {
				t.Fatalf("Prompt = %v, %v; want %v, %v", r.a, r.err, tt.want, tt.wantErr)
			}
			s.waitFor(t, "Answer: "+answerName(tt.want))
			if tio, err := unix.IoctlGetTermios(int(s.master.Fd()), unix.TCGETS); err == nil && tio.Lflag != before.Lflag {
				t.Errorf("terminal left in another mode: lflag %#x, was %#x", tio.Lflag, before.Lflag)
			}
		})
	}
}

func TestPTYTUIIgnoresTypeAhead(t *testing.T) {
	s := openScreen(t)
	ch := startPrompt(t, Options{TTYPath: s.slavePath, ArmDelay: time.Hour}, xterm)
	s.waitFor(t, "portal.example.com")
	s.typ(t, "ay\t\r") // typed for another window: must not answer
	s.typ(t, "n")
	if r := wait(t, ch); r.a != whitelist.AnswerNo || r.err != nil {
		t.Fatalf("Prompt = %v, %v; want No", r.a, r.err)
	}
}

// TestPTYTUIDiscardsTypeahead: a "y" typed before the full-screen prompt
// appeared (meant for another window) must not answer it. The arming delay
// is off, so only the discard stands between that y and a Yes.
func TestPTYTUIDiscardsTypeahead(t *testing.T) {
	s := openScreen(t)
	s.typ(t, "y")
	ch := startPrompt(t, Options{TTYPath: s.slavePath, ArmDelay: -1}, xterm)
	s.waitFor(t, "Enter choose")
	s.typ(t, "n")
	if r := wait(t, ch); r.a != whitelist.AnswerNo || r.err != nil {
		t.Fatalf("Prompt = %v, %v; want No (the early y discarded)", r.a, r.err)
	}
}

func TestPTYTUITimeout(t *testing.T) {
	s := openScreen(t)
	ch := startPrompt(t, Options{TTYPath: s.slavePath, Timeout: time.Second}, xterm)
	s.waitFor(t, "No in 1 s")
	if r := wait(t, ch); r.a != whitelist.AnswerNo || !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("Prompt = %v, %v; want No, ErrTimeout", r.a, r.err)
	}
}

func TestPTYTUITerminalClosed(t *testing.T) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	// Read until the prompt is up, then hang up by closing the master.
	ch := startPrompt(t, Options{TTYPath: fmt.Sprintf("/dev/pts/%d", n)}, xterm)
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(ansi.Strip(seen.String()), "portal.example.com") {
		k, err := master.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		seen.Write(buf[:k])
	}
	_ = master.Close()
	if r := wait(t, ch); r.a != whitelist.AnswerNo || !errors.Is(r.err, ErrTerminalClosed) {
		t.Fatalf("Prompt = %v, %v; want No, ErrTerminalClosed", r.a, r.err)
	}
}

func TestPTYSIGHUP(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprint("plain=", plain), func(t *testing.T) {
			s := openScreen(t)
			ch := startPrompt(t, Options{TTYPath: s.slavePath, Plain: plain}, xterm)
			s.waitFor(t, "portal.example.com")
			// The prompt is up, so its handler is installed: the signal
			// ends the prompt instead of the test binary.
			if err := unix.Kill(os.Getpid(), unix.SIGHUP); err != nil {
				t.Fatal(err)
			}
			if r := wait(t, ch); r.a != whitelist.AnswerNo || !errors.Is(r.err, ErrTerminalClosed) {
				t.Fatalf("Prompt = %v, %v; want No, ErrTerminalClosed", r.a, r.err)
			}
		})
	}
}

func TestPTYPlain(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
		env  map[string]string
	}{
		{"--no-tui", Options{Plain: true}, xterm},
		{"TERM=dumb", Options{}, map[string]string{"TERM": "dumb"}},
		{"TERM unset", Options{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openScreen(t)
			tt.opts.TTYPath = s.slavePath
			ch := startPrompt(t, tt.opts, tt.env)
			s.waitFor(t, "[a]lways / [y]es / [N]o")
			s.typ(t, "maybe\r")
			s.waitFor(t, "Please type a, y or n")
			s.typ(t, "y\r")
			if r := wait(t, ch); r.a != whitelist.AnswerYes || r.err != nil {
				t.Fatalf("Prompt = %v, %v; want Yes", r.a, r.err)
			}
			s.mu.Lock()
			if bytes.Contains(s.out.Bytes(), []byte("\x1b[")) {
				t.Errorf("plain prompt wrote escape sequences: %q", s.out.String())
			}
			s.mu.Unlock()
			// The next program on the terminal (the emulator) gets the next
			// line: the prompt left no reader behind to take it.
			emu := openSlave(t, s.slavePath)
			s.typ(t, "after the prompt\r")
			_ = emu.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := bufio.NewReader(emu).ReadString('\n')
			if err != nil || got != "after the prompt\n" {
				t.Errorf("the next reader of the terminal got %q, %v: the prompt's reader is still there", got, err)
			}
		})
	}
}

// openSlave opens the terminal as the next program on it would, through the
// runtime poller so that a deadline ends a read.
func openSlave(t *testing.T, path string) *os.File {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), path)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestPTYPlainTimeout(t *testing.T) {
	s := openScreen(t)
	ch := startPrompt(t, Options{Plain: true, TTYPath: s.slavePath, Timeout: 200 * time.Millisecond}, xterm)
	if r := wait(t, ch); r.a != whitelist.AnswerNo || !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("Prompt = %v, %v; want No, ErrTimeout", r.a, r.err)
	}
	s.waitFor(t, "Answer: No")
}

func TestCheckTerminal(t *testing.T) {
	s := openScreen(t)
	if err := CheckTerminal(s.slavePath); err != nil {
		t.Errorf("CheckTerminal(pty) = %v", err)
	}
	f := testtmp.Dir(t) + "/not-a-tty"
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckTerminal(f); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("CheckTerminal(file) = %v, want ErrNoTerminal", err)
	}
	if err := CheckTerminal("/nonexistent/tty"); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("CheckTerminal(missing) = %v, want ErrNoTerminal", err)
	}
	// Through NewPrompter: no terminal means No, not a guess.
	a, err := NewPrompter(Options{TTYPath: f}).Prompt(context.Background(), testRequest(t))
	if a != whitelist.AnswerNo || !errors.Is(err, ErrNoTerminal) {
		t.Errorf("Prompt without a terminal = %v, %v", a, err)
	}
}

// TestPTYPlainDiscardsTypeahead: a "y" and Enter typed before the plain
// prompt appeared (meant for another window) must not answer it.
func TestPTYPlainDiscardsTypeahead(t *testing.T) {
	s := openScreen(t)
	s.typ(t, "y\r")
	ch := startPrompt(t, Options{Plain: true, TTYPath: s.slavePath}, xterm)
	s.waitFor(t, "[a]lways / [y]es / [N]o")
	s.typ(t, "n\r")
	if r := wait(t, ch); r.a != whitelist.AnswerNo || r.err != nil {
		t.Fatalf("Prompt = %v, %v; want No (the early y discarded)", r.a, r.err)
	}
}
