//go:build linux

// Linux only: the demo runs in tmux (prompt_e2e_test.go) with the Debian
// c3270, and its audit log is found through XDG_STATE_HOME, the Linux
// state directory; none of these exist in the Windows test process.

package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/demo"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// The demo as a new user meets it, in a real 80x24 terminal (tmux, with the
// helpers of prompt_e2e_test.go): the trust prompt, then c3270 on the TN3270
// host through the tunnel, or the raw relay when c3270 is missing.

// demoToken matches the demo's session token, which no screen or record
// may show.
var demoToken = regexp.MustCompile(`demo-[0-9a-f]{32}`)

// auditRecords runs `trustlaunch log --json` on the state directory a term
// gave its command.
func auditRecords(t *testing.T, bin string, tm *term) string {
	t.Helper()
	cmd := exec.Command(bin, "log", "--json")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(filepath.Dir(tm.done), "state"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("trustlaunch log --json: %v\n%s", err, out)
	}
	return string(out)
}

// TestDemoC3270InTmux: with c3270 installed the demo answers the prompt's
// Yes with a 3270 screen; text typed into the field comes back on Enter,
// PF3 ends the session, the demo exits 0, and the audit log holds the
// launch of the TN3270 session.
func TestDemoC3270InTmux(t *testing.T) {
	if _, err := exec.LookPath("c3270"); err != nil {
		t.Fatalf("c3270 is required (Debian package c3270; ./test.sh installs it): %v", err)
	}
	bin := buildBinary(t)
	tm := startTerm(t, []string{"NO_COLOR=1", "TERM=xterm-256color"},
		bin, "demo", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt")
	tm.waitFor("the trust prompt", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "Do you want to download") && strings.Contains(s, "Enter choose")
	})
	tm.keys("y")
	screen := tm.waitFor("the 3270 screen", 30*time.Second, func(s string) bool {
		return strings.Contains(s, demo.Title) && strings.Contains(s, "Type here ===>")
	})
	// The cursor is in the field (the host's Insert Cursor order).
	tm.keys("-l", "hello demo")
	tm.keys("Enter")
	want := demo.Answer("hello demo")
	screen = tm.waitFor("the host's answer", 20*time.Second, func(s string) bool { return strings.Contains(s, want) })
	// Log lines of the tunnel are held while c3270 draws the screen (heldLog).
	if strings.Contains(screen, "trustlaunch:") {
		t.Errorf("a log line was drawn over the emulator's screen:\n%s", screen)
	}
	tm.keys("F3")
	if got := tm.exitStatus(20 * time.Second); got != 0 {
		t.Fatalf("demo exited %d, want 0; screen:\n%s", got, tm.screen())
	}
	if s := screen + tm.screen(); demoToken.MatchString(s) {
		t.Errorf("the screen shows the session token:\n%s", s)
	}

	log := auditRecords(t, bin, tm)
	for _, w := range []string{`"decision":"launched"`, `"step":"launched"`, `"whitelist":"prompt-yes"`,
		`"session":"` + demo.SessionTN3270 + `"`, `"exit_status":0`} {
		if !strings.Contains(log, w) {
			t.Errorf("audit record lacks %s:\n%s", w, log)
		}
	}
	if demoToken.MatchString(log) || strings.Contains(log, "ticket") {
		t.Errorf("audit record holds the token or the ticket:\n%s", log)
	}
}

// TestDemoFallbackWithoutC3270: on a PATH without c3270 the demo's help
// says it will relay raw and how to install c3270, and the demo, in a
// terminal, says so again and runs the line host over the raw profile.
func TestDemoFallbackWithoutC3270(t *testing.T) {
	bin := buildBinary(t)
	empty := testtmp.Dir(t) // a PATH where no c3270 is found

	help := exec.Command(bin, "demo", "--help")
	help.Env = append(os.Environ(), "PATH="+empty)
	out, err := help.CombinedOutput()
	if err != nil {
		t.Fatalf("demo --help: %v\n%s", err, out)
	}
	// The paragraph is wrapped at 80 columns: read it as words.
	words := strings.Join(strings.Fields(string(out)), " ")
	if !strings.Contains(words, "On this machine: c3270 is not installed, so the demo relays this terminal raw to a line host; install c3270") ||
		!strings.Contains(words, "sudo apt-get install c3270") {
		t.Errorf("demo --help without c3270 does not say it relays raw and how to install c3270:\n%s", out)
	}

	tm := startTerm(t, []string{"NO_COLOR=1", "TERM=xterm-256color"},
		"/usr/bin/env", "PATH="+empty, bin, "demo", "--yes", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt")
	tm.waitFor("the line host", 30*time.Second, func(s string) bool { return strings.Contains(s, "Welcome to the trustlaunch demo host") })
	screen := tm.screen()
	if !strings.Contains(screen, "c3270 is not installed") || !strings.Contains(screen, "apt-get install c3270") {
		t.Errorf("the demo does not say c3270 is missing and how to install it:\n%s", screen)
	}
	tm.keys("-l", "hello raw")
	tm.keys("Enter")
	tm.waitFor("the upper-cased line", 20*time.Second, func(s string) bool { return strings.Contains(s, "host: HELLO RAW") })
	tm.keys("C-d")
	if got := tm.exitStatus(20 * time.Second); got != 0 {
		t.Fatalf("demo exited %d, want 0; screen:\n%s", got, tm.screen())
	}
	if log := auditRecords(t, bin, tm); !strings.Contains(log, `"session":"`+demo.SessionRaw+`"`) {
		t.Errorf("audit record is not the raw session's:\n%s", log)
	}
}

// TestDemoPromptFits80x24: the demo's first lines (what it runs, and the
// link a browser would pass) stay on an 80x24 screen with the trust prompt
// under them, with c3270 and without it (the longer explanation). They
// once scrolled away before the prompt could be read.
func TestDemoPromptFits80x24(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name  string
		path  string
		first string
	}{
		{"c3270", os.Getenv("PATH"), "trustlaunch demo: c3270 is installed"},
		{"no c3270", testtmp.Dir(t), "trustlaunch demo: c3270 is not installed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := startTerm(t, []string{"NO_COLOR=1", "TERM=xterm-256color"},
				"/usr/bin/env", "PATH="+tc.path, bin, "demo", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt")
			screen := tm.waitFor("the armed trust prompt", 30*time.Second, func(s string) bool {
				return strings.Contains(s, "Enter choose") && strings.Contains(s, "No answer means No")
			})
			if !strings.HasPrefix(strings.TrimLeft(screen, "\n"), tc.first) || !strings.Contains(screen, "trustlaunch open --") {
				t.Errorf("the demo's first lines scrolled off the 80x24 screen (want it to start %q):\n%s", tc.first, screen)
			}
			// With the focus on Always the help line says what Enter
			// does; the screen must not grow and push them off either.
			tm.keys("a")
			screen = tm.waitFor("Enter to confirm Always", 10*time.Second, func(s string) bool {
				return strings.Contains(s, "Enter: Always, added to your whitelist")
			})
			if !strings.HasPrefix(strings.TrimLeft(screen, "\n"), tc.first) || !strings.Contains(screen, "trustlaunch open --") {
				t.Errorf("with the focus on Always, the demo's first lines scrolled off the 80x24 screen (want it to start %q):\n%s", tc.first, screen)
			}
			tm.keys("n")
			if got := tm.exitStatus(20 * time.Second); got != exitRefused {
				t.Fatalf("demo exited %d after No, want %d; screen:\n%s", got, exitRefused, tm.screen())
			}
		})
	}
}

// history returns everything the pane showed, scrolled off or not.
func (tm *term) history() string {
	out, err := exec.Command("tmux", "-S", tm.socket, "capture-pane", "-p", "-J", "-S", "-").Output()
	if err != nil {
		tm.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

// TestDemoAlwaysTemporaryList: Always in the demo adds the demo's portal
// to the demo's temporary user list, and the demo says so plainly when
// it ends: that list is deleted, and the user's own list was not changed
// (it is not even created).
func TestDemoAlwaysTemporaryList(t *testing.T) {
	bin := buildBinary(t)
	empty := testtmp.Dir(t) // a PATH without c3270: the raw relay, quicker to drive
	config := filepath.Join(testtmp.Dir(t), "config")
	tm := startTerm(t, []string{"NO_COLOR=1", "TERM=xterm-256color", "XDG_CONFIG_HOME=" + config},
		"/usr/bin/env", "PATH="+empty, bin, "demo", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt")
	screen := tm.waitFor("the armed trust prompt", 30*time.Second, func(s string) bool { return strings.Contains(s, "Enter choose") })
	m := regexp.MustCompile(`\((/\S+/whitelist\.txt)\)`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("the prompt names no user list:\n%s", screen)
	}
	temp := m[1]
	tm.keys("a")
	tm.waitFor("Enter to confirm Always", 10*time.Second, func(s string) bool { return strings.Contains(s, "Enter: Always, added to your whitelist") })
	tm.keys("Enter")
	tm.waitFor("the line host", 30*time.Second, func(s string) bool { return strings.Contains(s, "Welcome to the trustlaunch demo host") })
	tm.keys("C-d")
	if got := tm.exitStatus(20 * time.Second); got != 0 {
		t.Fatalf("demo exited %d, want 0; screen:\n%s", got, tm.screen())
	}
	all := strings.Join(strings.Fields(tm.history()), " ")
	for _, want := range []string{
		"(prompt-always)",
		"trustlaunch demo: Always added 127.0.0.1:",
		"to the demo's temporary user list, which is deleted now; your own list (" + filepath.Join(config, "trustlaunch", "whitelist.txt") + ") was not changed.",
		"trustlaunch demo: next:",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the demo does not say %q:\n%s", want, tm.history())
		}
	}
	if _, err := os.Stat(filepath.Dir(temp)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the demo's temporary list %s is still there (%v)", temp, err)
	}
	if _, err := os.Stat(filepath.Join(config, "trustlaunch")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the demo touched the user's own configuration directory (%v)", err)
	}
}
