//go:build unix

// Not built for Windows: these tests build the binary with the go command
// and drive it in tmux, neither of which the Windows test process has (under
// Wine there is no go.exe or tmux). What they check, the prompt in a real
// Unix terminal, is Unix behaviour; the Windows console prompt is the
// subject of its own tests.

package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// These tests drive the built binary's trust prompt in a real terminal:
// tmux on a private socket, 80x24, keys sent with send-keys, the screen read
// with capture-pane. tmux is installed by ./test.sh.

// buildBinary builds trustlaunch once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(testtmp.Dir(t), "trustlaunch")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// term is one tmux server with one 80x24 window running a command.
type term struct {
	t      *testing.T
	socket string
	done   string // file the command writes its exit status to
}

func startTerm(t *testing.T, env []string, argv ...string) *term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is required (Debian package tmux; ./test.sh installs it): %v", err)
	}
	dir := testtmp.Dir(t)
	tm := &term{t: t, socket: filepath.Join(dir, "tmux.sock"), done: filepath.Join(dir, "status")}
	var quoted []string
	for _, a := range argv {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	// After the command, write its status and keep the pane open so the
	// final screen can still be captured.
	script := fmt.Sprintf("%s; echo $? > %s; sleep 60", strings.Join(quoted, " "), tm.done)
	args := []string{"-S", tm.socket, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24",
		// Keep the audit log and config of the launches out of the real home.
		"-e", "XDG_STATE_HOME=" + filepath.Join(dir, "state"), "-e", "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, "sh", "-c", script)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-S", tm.socket, "kill-server").Run() })
	return tm
}

func (tm *term) screen() string {
	out, err := exec.Command("tmux", "-S", tm.socket, "capture-pane", "-p", "-J").Output()
	if err != nil {
		tm.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

func (tm *term) keys(keys ...string) {
	args := append([]string{"-S", tm.socket, "send-keys"}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		tm.t.Fatalf("send-keys: %v\n%s", err, out)
	}
}

// waitFor waits, with a deadline, until cond holds for the screen. A
// terminal has no event to wait on, so this checks on a ticker.
func (tm *term) waitFor(what string, d time.Duration, cond func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		s := tm.screen()
		if cond(s) {
			return s
		}
		select {
		case <-deadline.C:
			tm.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
		case <-tick.C:
		}
	}
}

// exitStatus waits for the command to finish and returns its status.
func (tm *term) exitStatus(d time.Duration) int {
	tm.t.Helper()
	var data []byte
	tm.waitFor("the command to exit", d, func(string) bool {
		var err error
		data, err = os.ReadFile(tm.done)
		return err == nil && len(data) > 0 && data[len(data)-1] == '\n'
	})
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		tm.t.Fatalf("status %q", data)
	}
	return n
}

func launchLink(descriptorURL string) string {
	return "trustlaunch://launch?url=" + url.QueryEscape(descriptorURL)
}

func TestPromptInTerminal(t *testing.T) {
	bin := buildBinary(t)
	const descriptor = "https://portal.example.com:8443/sessions/42/descriptor?ticket=abc"
	for _, mode := range []struct {
		name  string
		flags []string
	}{
		{"tui", nil},
		{"plain", []string{"--no-tui"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			// A launch that is trusted goes on to fetch the descriptor from
			// portal.example.com, which fails here (exit 1) after the
			// status line that records the decision.
			cases := []struct {
				name    string
				keys    []string
				timeout string
				want    int
				step    string
				written bool
			}{
				// Enter once the screen says what it does: see below.
				{"a and enter is always", []string{"a", "Enter"}, "60s", exitFailure, "(prompt-always)", true},
				// Shell commands typed into the prompt's window: the a of
				// clear once answered Always, and so did the a at the end of
				// "ls -la" with the Enter typed right after it.
				{"clear and enter is nothing permanent", []string{"clear", "Enter"}, "3s", exitRefused, "you answered No", false},
				{"ls -la and enter is nothing permanent", []string{"ls -la", "Enter", "Enter"}, "3s", exitRefused, "you answered No", false},
				{"y is yes", []string{"y"}, "60s", exitFailure, "(prompt-yes)", false},
				{"n is no", []string{"n"}, "60s", exitRefused, "you answered No", false},
				{"enter without a move is no", []string{"Enter"}, "60s", exitRefused, "you answered No", false},
				{"timeout is no", nil, "2s", exitRefused, "no answer", false},
			}
			if mode.name == "plain" {
				// The plain prompter reads a line, and takes a whole word:
				// "clear" is not an answer, and it times out.
				for i := range cases {
					if len(cases[i].keys) == 1 && cases[i].keys[0] != "Enter" {
						cases[i].keys = append(cases[i].keys, "Enter")
					}
					if slices.Equal(cases[i].keys, []string{"clear", "Enter"}) {
						cases[i].step = "no answer"
					}
					// "ls -la" is not an answer either; the empty line
					// after it is No.
				}
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					dir := testtmp.Dir(t)
					user := filepath.Join(dir, "config", "whitelist.txt")
					argv := []string{bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt",
						"--user-whitelist", user, "--prompt-timeout", c.timeout}
					argv = append(argv, mode.flags...)
					argv = append(argv, "--", launchLink(descriptor))
					tm := startTerm(t, []string{"NO_COLOR=1", "TERM=xterm-256color"}, argv...)
					// The full-screen prompt ignores answer keys for its first
					// second (a stray key typed for another window must not
					// answer) and shows "Enter choose" once they count.
					screen := tm.waitFor("the prompt", 20*time.Second, func(s string) bool {
						return strings.Contains(s, "Do you want to download") && strings.Contains(s, "portal.example.com") &&
							(strings.Contains(s, "Enter choose") || strings.Contains(s, "[a]lways"))
					})
					if !strings.Contains(screen, "8443") {
						t.Errorf("prompt does not show the port:\n%s", screen)
					}
					switch {
					case mode.name == "tui" && c.written:
						// Always: a, and Enter once the help line offers
						// it; an Enter sooner goes back to No.
						tm.keys("a")
						tm.waitFor("Enter to confirm Always", 10*time.Second, func(s string) bool {
							return strings.Contains(s, "Enter: Always, added to your whitelist")
						})
						tm.keys("Enter")
					case len(c.keys) > 0:
						tm.keys(c.keys...)
					}
					if got := tm.exitStatus(20 * time.Second); got != c.want {
						t.Fatalf("exit %d, want %d; screen:\n%s", got, c.want, tm.screen())
					}
					if screen := tm.screen(); !strings.Contains(screen, c.step) {
						t.Errorf("screen does not show %q:\n%s", c.step, screen)
					}
					data, err := os.ReadFile(user)
					if c.written {
						if err != nil || string(data) != "portal.example.com:8443\n" {
							t.Errorf("user list = %q, %v", data, err)
						}
					} else if err == nil {
						t.Errorf("user list written on %s: %q", c.name, data)
					}
				})
			}
		})
	}
}

// TestPromptHostileURL checks that escape sequences in the descriptor URL cannot
// change what the screen shows around the prompt. A control character in the
// host or path refuses the launch before any prompt, with the error shown as
// text; a bidi override in the path reaches the prompt and is shown escaped;
// the query (which holds the ticket) is never shown.
func TestPromptHostileURL(t *testing.T) {
	bin := buildBinary(t)
	user := filepath.Join(testtmp.Dir(t), "whitelist.txt")
	base := []string{bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--user-whitelist", user}

	t.Run("escapes in the path are refused in one line", func(t *testing.T) {
		hostile := "https://portal.example.com/x\x1b[2J\x1b[H\x1b]0;pwned\x07\r\nAlways adds evil"
		tm := startTerm(t, []string{"NO_COLOR=1", "TERM=xterm-256color"}, append(base, "--", launchLink(hostile))...)
		if got := tm.exitStatus(20 * time.Second); got != exitUsage {
			t.Fatalf("exit %d; screen:\n%s", got, tm.screen())
		}
		screen := tm.screen()
		lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
		// The link is refused as it is read: the message names
		// the offending character and its position; it never repeats the
		// path or the query (which holds the ticket).
		if len(lines) != 1 || !strings.HasPrefix(lines[0], `trustlaunch: error: open: invalid link: the url parameter holds control character U+001B at character 29 `) ||
			strings.Contains(lines[0], "portal.example.com/x") {
			t.Errorf("want one error line naming the character and its position; screen:\n%s", screen)
		}
	})

	for _, flags := range [][]string{nil, {"--no-tui"}} {
		t.Run(fmt.Sprintf("bidi in the path %v", flags), func(t *testing.T) {
			// The escapes in the query are percent-encoded: raw, they are
			// refused as the link is read (the subtest above).
			hostile := "https://portal.example.com/invoice\u202efdp.exe?ticket=%1b[2J%1b]52;c;ZWNobyBwd25lZA==%07"
			argv := append(append(append([]string{}, base...), flags...), "--", launchLink(hostile))
			tm := startTerm(t, []string{"NO_COLOR=1", "TERM=xterm-256color"}, argv...)
			screen := tm.waitFor("the prompt", 20*time.Second, func(s string) bool {
				return strings.Contains(s, "Do you want to download") && (strings.Contains(s, "Enter choose") || strings.Contains(s, "[a]lways"))
			})
			if !strings.Contains(screen, "Do you want to download") || !strings.Contains(screen, "portal.example.com") {
				t.Errorf("prompt text missing:\n%s", screen)
			}
			if !strings.Contains(screen, `\u202e`) {
				t.Errorf("bidi override not shown as text:\n%s", screen)
			}
			if strings.Contains(screen, "ZWNobyBwd25lZA") || strings.Contains(screen, "ticket=") {
				t.Errorf("query (ticket) shown on screen:\n%s", screen)
			}
			tm.keys("n", "Enter")
			if got := tm.exitStatus(20 * time.Second); got != exitRefused {
				t.Errorf("exit %d", got)
			}
		})
	}
	if _, err := os.Stat(user); err == nil {
		t.Error("user list written")
	}
}
