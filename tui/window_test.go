//go:build unix && !darwin

package tui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// The window tests run a fake terminal (a shell script) that runs this test
// binary as the window's process: TestHelperWindowChild, in the mode that
// TUI_TEST_CHILD names. It answers through the real ServeWindow.

const testLaunchURL = "https://portal.example.com:8443/launch/42?ticket=t"

func TestHelperWindowChild(t *testing.T) {
	mode := os.Getenv("TUI_TEST_CHILD")
	if mode == "" {
		return // not a helper process
	}
	logDir := os.Getenv("TUI_TEST_LOG")
	dir := flag.Arg(0)
	switch mode {
	case "message":
		// The window's screen is a file, written before the window tells
		// the waiting process it shows the message.
		screen, err := os.OpenFile(filepath.Join(logDir, "shown"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer screen.Close()
		if err := ServeMessage(t.Context(), dir, strings.NewReader("\n"), screen, time.Minute); err != nil {
			t.Fatal(err)
		}
		return
	case "forge", "garbage":
		conn, err := net.Dial("unix", filepath.Join(dir, answerSock))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		line := `{"answer":"always","origin":"https://evil.example"}` + "\n"
		if mode == "garbage" {
			line = "always\n"
		}
		if _, err := conn.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		return
	}
	// The hand-off file as the window finds it, byte for byte.
	if data, err := os.ReadFile(filepath.Join(dir, requestFile)); err == nil {
		if err := os.WriteFile(filepath.Join(logDir, requestFile), data, 0o600); err != nil {
			t.Error(err)
		}
	}
	p := promptFunc(func(ctx context.Context, req whitelist.PromptRequest) (whitelist.Answer, error) {
		rec := fmt.Sprintf("origin=%s url=%s list=%s", req.Origin, req.LaunchURL, req.UserListPath)
		if err := os.WriteFile(filepath.Join(logDir, "request"), []byte(rec), 0o600); err != nil {
			t.Error(err)
		}
		switch mode {
		case "always":
			return whitelist.AnswerAlways, nil
		case "yes":
			return whitelist.AnswerYes, nil
		case "timeout":
			return whitelist.AnswerNo, fmt.Errorf("%w after 60s", ErrTimeout)
		case "wait":
			<-ctx.Done() // until the waiting process gives up
			f, err := os.OpenFile(filepath.Join(logDir, "fifo"), os.O_WRONLY, 0)
			if err == nil {
				_, _ = f.WriteString("cancelled\n")
				_ = f.Close()
			}
			return whitelist.AnswerNo, ctx.Err()
		}
		return whitelist.AnswerNo, nil
	})
	if err := ServeWindow(t.Context(), dir, p); err != nil {
		t.Fatal(err)
	}
}

type promptFunc func(context.Context, whitelist.PromptRequest) (whitelist.Answer, error)

func (f promptFunc) Prompt(ctx context.Context, req whitelist.PromptRequest) (whitelist.Answer, error) {
	return f(ctx, req)
}

const (
	fakeTerminal = "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$TUI_TEST_LOG/argv\"\n[ \"$1\" = \"-e\" ] && shift\nexec \"$@\"\n"
	failTerminal = "#!/bin/sh\nexit 1\n"
	noopTerminal = "#!/bin/sh\nexit 0\n"
)

type windowFixture struct {
	bin, log string
	notified []string
	opts     WindowOptions
}

// newWindowFixture sets up an empty PATH directory, a log directory, and
// options that run the helper child in mode through whatever terminal the
// test installs.
func newWindowFixture(t *testing.T, mode string) *windowFixture {
	t.Helper()
	f := &windowFixture{bin: testtmp.Dir(t), log: testtmp.Dir(t)}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f.opts = WindowOptions{
		Command: func(dir string) []string {
			return []string{exe, "-test.run=^TestHelperWindowChild$", "--", dir}
		},
		Env: []string{
			"PATH=" + f.bin,
			"DISPLAY=:99",
			"TUI_TEST_CHILD=" + mode,
			"TUI_TEST_LOG=" + f.log,
		},
		Notify: func(_ context.Context, summary, body string) error {
			f.notified = append(f.notified, summary+": "+body)
			return nil
		},
	}
	return f
}

func (f *windowFixture) install(t *testing.T, name, script string) string {
	t.Helper()
	p := filepath.Join(f.bin, name)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func testRequest(t *testing.T) whitelist.PromptRequest {
	t.Helper()
	o, err := whitelist.ParseOrigin(testLaunchURL)
	if err != nil {
		t.Fatal(err)
	}
	return whitelist.PromptRequest{Origin: o, LaunchURL: testLaunchURL, UserListPath: "/home/u/.config/trustlaunch/whitelist.txt"}
}

func TestWindowPrompterAnswers(t *testing.T) {
	for _, tt := range []struct {
		mode string
		want whitelist.Answer
	}{
		{"always", whitelist.AnswerAlways},
		{"yes", whitelist.AnswerYes},
		{"no", whitelist.AnswerNo},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			f := newWindowFixture(t, tt.mode)
			term := f.install(t, "my-term", fakeTerminal)
			f.opts.Env = append(f.opts.Env, "TERMINAL="+term)
			got, err := NewWindowPrompter(f.opts).Prompt(t.Context(), testRequest(t))
			if got != tt.want || err != nil {
				t.Fatalf("Prompt = %v, %v; want %v, nil", got, err, tt.want)
			}
			argv, err := os.ReadFile(filepath.Join(f.log, "argv"))
			if err != nil {
				t.Fatal(err)
			}
			args := strings.Split(strings.TrimSpace(string(argv)), "\n")
			if args[0] != "-e" {
				t.Errorf("$TERMINAL got %q, want -e first", args)
			}
			if strings.Contains(string(argv), "portal.example.com") {
				t.Errorf("the descriptor URL reached the terminal's command line: %q", args)
			}
			dir := args[len(args)-1]
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("hand-off directory %s left behind: %v", dir, err)
			}
			rec, err := os.ReadFile(filepath.Join(f.log, "request"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "origin=https://portal.example.com:8443 url=https://portal.example.com:8443/launch/42? list=/home/u/.config/trustlaunch/whitelist.txt"; string(rec) != want {
				t.Errorf("the window was asked\n%s\nwant\n%s", rec, want)
			}
			if len(f.notified) != 0 {
				t.Errorf("notified on success: %q", f.notified)
			}
		})
	}
}

// TestWindowHandoffHoldsNoTicket checks request.json, which outlives the
// prompt if trustlaunch is killed, as the window reads it: the descriptor URL
// is cut before its query and fragment, where a portal puts the single-use
// ticket, and the window still shows "?…" after the path, as the terminal
// prompt does.
func TestWindowHandoffHoldsNoTicket(t *testing.T) {
	const ticket = "tkt5f1e0c9b7a"
	for _, tt := range []struct {
		name, url, want string
	}{
		{"query", "https://portal.example.com/s/1?ticket=" + ticket, "https://portal.example.com/s/1?"},
		{"query and fragment", "https://portal.example.com/s/1?a=1&ticket=" + ticket + "#f", "https://portal.example.com/s/1?"},
		{"fragment", "https://portal.example.com/s/1#" + ticket, "https://portal.example.com/s/1"},
		{"fragment before a question mark", "https://portal.example.com/s/1#" + ticket + "?x", "https://portal.example.com/s/1"},
		{"no path", "https://portal.example.com?" + ticket, "https://portal.example.com?"},
		{"neither", "https://portal.example.com/s/1", "https://portal.example.com/s/1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newWindowFixture(t, "yes")
			f.install(t, "xterm", fakeTerminal)
			req := testRequest(t)
			o, err := whitelist.ParseOrigin(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			req.Origin, req.LaunchURL = o, tt.url
			if got, err := NewWindowPrompter(f.opts).Prompt(t.Context(), req); got != whitelist.AnswerYes || err != nil {
				t.Fatalf("Prompt = %v, %v; want Yes", got, err)
			}
			data, err := os.ReadFile(filepath.Join(f.log, requestFile))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), ticket) {
				t.Errorf("%s holds the ticket: %s", requestFile, data)
			}
			rec, err := os.ReadFile(filepath.Join(f.log, "request"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "url=" + tt.want + " "; !strings.Contains(string(rec), want) {
				t.Errorf("the window was asked %s; want %q", rec, want)
			}
			wantPath := launchPath(tt.url)
			if got := launchPath(tt.want); got != wantPath {
				t.Errorf("the window shows the path %q, the terminal prompt %q", got, wantPath)
			}
		})
	}
}

func TestWindowPrompterReason(t *testing.T) {
	f := newWindowFixture(t, "timeout")
	f.install(t, "xterm", fakeTerminal)
	got, err := NewWindowPrompter(f.opts).Prompt(t.Context(), testRequest(t))
	if got != whitelist.AnswerNo || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Prompt = %v, %v; want No, ErrTimeout", got, err)
	}
}

func TestWindowPrompterRefusesForgedAnswers(t *testing.T) {
	for _, mode := range []string{"forge", "garbage"} {
		t.Run(mode, func(t *testing.T) {
			f := newWindowFixture(t, mode)
			f.install(t, "xterm", fakeTerminal)
			got, err := NewWindowPrompter(f.opts).Prompt(t.Context(), testRequest(t))
			if got != whitelist.AnswerNo || err == nil {
				t.Fatalf("Prompt = %v, %v; want No and an error", got, err)
			}
			t.Log(err)
		})
	}
}

func TestWindowPrompterFallsBack(t *testing.T) {
	f := newWindowFixture(t, "yes")
	broken := f.install(t, "broken-term", failTerminal)
	f.install(t, "x-terminal-emulator", failTerminal)
	f.install(t, "konsole", fakeTerminal)
	f.install(t, "xterm", failTerminal) // never reached
	f.opts.Env = append(f.opts.Env, "TERMINAL="+broken)
	got, err := NewWindowPrompter(f.opts).Prompt(t.Context(), testRequest(t))
	if got != whitelist.AnswerYes || err != nil {
		t.Fatalf("Prompt = %v, %v; want Yes from konsole", got, err)
	}
}

func TestWindowPrompterNoTerminal(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, f *windowFixture)
		want  string
	}{
		{"none installed", func(*testing.T, *windowFixture) {}, "not installed"},
		{"all fail", func(t *testing.T, f *windowFixture) {
			f.install(t, "gnome-terminal", failTerminal)
			f.install(t, "xterm", failTerminal)
		}, "xterm: exit status 1"},
		{"no display", func(t *testing.T, f *windowFixture) {
			f.install(t, "xterm", fakeTerminal)
			f.opts.Env = []string{"PATH=" + f.bin}
		}, "no graphical session"},
		{"$TERMINAL missing", func(t *testing.T, f *windowFixture) {
			f.opts.Env = append(f.opts.Env, "TERMINAL=no-such-terminal")
		}, "$TERMINAL: no-such-terminal: not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newWindowFixture(t, "always")
			tt.setup(t, f)
			got, err := NewWindowPrompter(f.opts).Prompt(t.Context(), testRequest(t))
			if got != whitelist.AnswerNo || !errors.Is(err, ErrNoWindow) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Prompt = %v, %v; want No, ErrNoWindow mentioning %q", got, err, tt.want)
			}
			// The launch tells the user, with this error: a notification
			// here would be a second one.
			if len(f.notified) != 0 {
				t.Errorf("the prompter notified on its own: %q", f.notified)
			}
		})
	}
}

func TestWindowPrompterNeverConnects(t *testing.T) {
	f := newWindowFixture(t, "always")
	f.install(t, "gnome-terminal", noopTerminal) // exits 0 as if a server took over
	f.opts.StartTimeout = 200 * time.Millisecond
	got, err := NewWindowPrompter(f.opts).Prompt(t.Context(), testRequest(t))
	if got != whitelist.AnswerNo || !errors.Is(err, ErrNoWindow) {
		t.Fatalf("Prompt = %v, %v; want No, ErrNoWindow", got, err)
	}
	if !strings.Contains(err.Error(), "no window connected") {
		t.Errorf("the error does not say why: %v", err)
	}
	if len(f.notified) != 0 {
		t.Errorf("the prompter notified on its own: %q", f.notified)
	}
}

func TestWindowPrompterGivesUp(t *testing.T) {
	f := newWindowFixture(t, "wait")
	f.install(t, "xterm", fakeTerminal)
	fifo := filepath.Join(f.log, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f.opts.Timeout = 300 * time.Millisecond
	got, err := NewWindowPrompter(f.opts).Prompt(t.Context(), testRequest(t))
	if got != whitelist.AnswerNo || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Prompt = %v, %v; want No, ErrTimeout", got, err)
	}
	// The window learns that nobody waits any more and stops asking.
	r, err := os.OpenFile(fifo, os.O_RDWR, 0) // RDWR: open does not wait for a writer
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, err := r.Read(buf)
	if string(buf[:n]) != "cancelled\n" {
		t.Errorf("window child did not see the cancel: %q, %v", buf[:n], err)
	}
}

func TestWindowPrompterCancel(t *testing.T) {
	f := newWindowFixture(t, "always")
	f.install(t, "gnome-terminal", noopTerminal) // the window never connects
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	got, err := NewWindowPrompter(f.opts).Prompt(ctx, testRequest(t))
	if got != whitelist.AnswerNo || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Prompt = %v, %v; want No, context.DeadlineExceeded", got, err)
	}
	if len(f.notified) != 0 {
		t.Errorf("notified after the caller cancelled: %q", f.notified)
	}
}

func TestServeWindowRefusesUnsafeHandoff(t *testing.T) {
	never := promptFunc(func(context.Context, whitelist.PromptRequest) (whitelist.Answer, error) {
		t.Error("asked despite an unsafe hand-off directory")
		return whitelist.AnswerAlways, nil
	})
	for _, tt := range []struct {
		name  string
		setup func(dir string) error
	}{
		{"open directory", func(dir string) error {
			if err := writePrivate(filepath.Join(dir, requestFile), []byte(`{"launch_url":"`+testLaunchURL+`"}`)); err != nil {
				return err
			}
			return os.Chmod(dir, 0o755)
		}},
		{"open request", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, requestFile), []byte(`{"launch_url":"`+testLaunchURL+`"}`), 0o644)
		}},
		{"request is a link", func(dir string) error {
			target := filepath.Join(testtmp.Dir(t), "r.json")
			if err := os.WriteFile(target, []byte(`{"launch_url":"`+testLaunchURL+`"}`), 0o600); err != nil {
				return err
			}
			return os.Symlink(target, filepath.Join(dir, requestFile))
		}},
		{"unknown field", func(dir string) error {
			return writePrivate(filepath.Join(dir, requestFile), []byte(`{"launch_url":"`+testLaunchURL+`","command":"sh"}`))
		}},
		{"not https", func(dir string) error {
			return writePrivate(filepath.Join(dir, requestFile), []byte(`{"launch_url":"http://portal.example.com/"}`))
		}},
		{"no socket", func(dir string) error {
			return writePrivate(filepath.Join(dir, requestFile), []byte(`{"launch_url":"`+testLaunchURL+`"}`))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(testtmp.Dir(t), "h")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tt.setup(dir); err != nil {
				t.Fatal(err)
			}
			if err := ServeWindow(t.Context(), dir, never); err == nil {
				t.Error("ServeWindow accepted it")
			}
		})
	}
}

func TestNotifySend(t *testing.T) {
	bin, log := testtmp.Dir(t), filepath.Join(testtmp.Dir(t), "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"" + log + "\"\n"
	if err := os.WriteFile(filepath.Join(bin, "notify-send"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	err := NotifySend(t.Context(), []string{"PATH=" + bin}, "trustlaunch: launch refused", "host <b>evil</b> & \x1b]52;c;x\x07")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := "--app-name=trustlaunch\n--\ntrustlaunch: launch refused\nhost &lt;b&gt;evil&lt;/b&gt; &amp; \\x1b]52;c;x\\x07\n"
	if string(got) != want {
		t.Errorf("notify-send got\n%q\nwant\n%q", got, want)
	}

	if err := NotifySend(t.Context(), []string{"PATH=" + testtmp.Dir(t)}, "s", "b"); err == nil {
		t.Error("NotifySend without notify-send succeeded")
	}
}

func TestMakeHandoffIsPrivate(t *testing.T) {
	base := testtmp.Dir(t)
	dir, err := makeHandoff(environ{"XDG_RUNTIME_DIR=" + base})
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if filepath.Dir(dir) != base {
		t.Errorf("hand-off %s not under $XDG_RUNTIME_DIR %s", dir, base)
	}
	if err := checkPrivate(dir, true); err != nil {
		t.Error(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, %v; want 0700", fi.Mode(), err)
	}
	p := filepath.Join(dir, requestFile)
	if err := writePrivate(p, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("request mode %v, %v; want 0600", fi.Mode(), err)
	}
	if err := writePrivate(p, []byte("{}")); err == nil {
		t.Error("writePrivate replaced an existing file")
	}
}
