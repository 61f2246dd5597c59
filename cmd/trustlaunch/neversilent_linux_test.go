//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestFailedLaunchIsNeverSilent runs open as a browser does (a session of
// its own without a terminal, a display, and no notify-send on PATH) on a
// trusted link whose portal is down. With a $TERMINAL the error and its
// hint appear in a window of their own, and the audit record says the user
// was told in a window; with no way to show anything the record says so,
// with why. Such a launch once told nobody at all.
func TestFailedLaunchIsNeverSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a portal that is down: connection refused
	host := "127.0.0.1:" + strconv.Itoa(port)
	const ticket = "tkt7c1e0b9d2a4f"
	link := launchLink("https://" + host + "/descriptor?ticket=" + ticket)

	for _, tc := range []struct {
		name     string
		terminal bool
		wantTold string
	}{
		{"window", true, "window"},
		{"nobody", false, "nobody: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, tc.terminal)
			user := filepath.Join(b.dir, "whitelist.txt")
			if err := os.WriteFile(user, []byte(host+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out := b.run(t, exitFailure, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--user-whitelist", user, "--", link)
			shown := b.shown()
			if tc.terminal {
				for _, want := range []string{"trustlaunch: launch failed", "descriptor-fetch: ", "connection refused", "Press Enter to close this window."} {
					if !strings.Contains(shown, want) {
						t.Errorf("the window lacks %q:\n%s", want, shown)
					}
				}
			}
			rec, log := b.record(t)
			if rec.Decision != "failed" || rec.Step != "descriptor-fetch" || !strings.HasPrefix(rec.Told, tc.wantTold) {
				t.Errorf("audit record %+v; want failed at descriptor-fetch, told %q", rec, tc.wantTold)
			}
			if !tc.terminal && (!strings.Contains(rec.Told, "notify-send") || !strings.Contains(rec.Told, "no terminal window")) {
				t.Errorf("told %q does not say why neither way worked", rec.Told)
			}
			for what, text := range map[string]string{"output": out, "window": shown, "audit log": log} {
				if strings.Contains(text, ticket) {
					t.Errorf("the %s holds the ticket: %s", what, text)
				}
			}
		})
	}
}

// TestEarlyFailureIsNeverSilent runs, as a browser does (see
// TestFailedLaunchIsNeverSilent), the ways out of open that come before the
// launch itself: an HTTPS_PROXY of the desktop session that trustlaunch
// cannot use (recorded at outbound-proxy), a handler registered without
// "open --" (the link given as the command), and a handler command that
// splits the link (what Windows' ShellExecute does with a link holding a
// quote). Each one's error and hint reach a window. All three once went to
// stderr alone, which a browser shows nobody.
func TestEarlyFailureIsNeverSilent(t *testing.T) {
	const ticket = "tkt3b8e51d07c2a"
	link := launchLink("https://portal.example.com/descriptor?ticket=" + ticket)
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		want   []string
		record string // the audit record's step; "": none
	}{
		{"outbound proxy", []string{"HTTPS_PROXY=socks5://proxy.corp.example:1080"},
			[]string{"open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link},
			[]string{"trustlaunch: launch failed", "HTTPS_PROXY", `proxy scheme "socks5" is not supported`}, "outbound-proxy"},
		{"link as the command", nil, []string{link},
			[]string{"a trustlaunch:// link was given as the command", "trustlaunch register"}, ""},
		{"link split", nil, []string{"open", "--", link, "--user-whitelist"},
			[]string{"want exactly one URL after"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, true)
			b.env = append(b.env, tc.env...)
			out := b.run(t, exitUsage, tc.args...)
			shown := b.shown()
			for _, want := range append(tc.want, "Press Enter to close this window.") {
				if !strings.Contains(shown, want) {
					t.Errorf("the window lacks %q:\n%s", want, shown)
				}
			}
			if tc.record != "" {
				rec, _ := b.record(t)
				if rec.Decision != "failed" || rec.Step != tc.record || rec.Told != "window" {
					t.Errorf("audit record %+v; want failed at %s, told window", rec, tc.record)
				}
			} else if _, err := os.Stat(b.auditLog()); err == nil {
				t.Errorf("a launch was recorded")
			}
			for what, text := range map[string]string{"output": out, "window": shown} {
				if strings.Contains(text, ticket) {
					t.Errorf("the %s holds the ticket: %s", what, text)
				}
			}
		})
	}
}

// browser runs trustlaunch as a browser does: in a session of its own
// without a terminal, with a display, and a PATH that holds no notify-send,
// whatever this machine has installed. With a terminal, PATH holds a
// stand-in $TERMINAL that runs its command with the output to a file: what
// the window showed.
type browser struct {
	bin, dir, screen string
	env              []string
}

func newBrowser(t *testing.T, terminal bool) *browser {
	t.Helper()
	b := &browser{bin: buildShared(t), dir: t.TempDir()}
	b.screen = filepath.Join(b.dir, "screen")
	fakeBin := filepath.Join(b.dir, "bin")
	if err := os.Mkdir(fakeBin, 0o755); err != nil {
		t.Fatal(err)
	}
	b.env = []string{"PATH=" + fakeBin, "HOME=" + b.dir, "XDG_STATE_HOME=" + filepath.Join(b.dir, "state"), "XDG_CONFIG_HOME=" + filepath.Join(b.dir, "config")}
	if terminal {
		term := filepath.Join(fakeBin, "my-term")
		script := "#!/bin/sh\n[ \"$1\" = \"-e\" ] && shift\nexec \"$@\" > '" + b.screen + "' 2>&1 < /dev/null\n"
		if err := os.WriteFile(term, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		b.env = append(b.env, "DISPLAY=:99", "TERMINAL="+term)
	}
	return b
}

// run runs the binary with args, checks its exit code, and returns what
// it wrote on stdout and stderr, which nobody would see.
func (b *browser) run(t *testing.T, want int, args ...string) string {
	t.Helper()
	cmd := exec.Command(b.bin, args...)
	cmd.Env = b.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	if code != want {
		t.Fatalf("exit %d, want %d; output:\n%s", code, want, out.String())
	}
	return out.String()
}

// shown is what the stand-in terminal's window showed.
func (b *browser) shown() string {
	data, _ := os.ReadFile(b.screen)
	return string(data)
}

func (b *browser) auditLog() string { return filepath.Join(b.dir, "state", "trustlaunch", "audit.log") }

// record returns the one audit record, and the log.
func (b *browser) record(t *testing.T) (rec struct{ Decision, Step, Told string }, log string) {
	t.Helper()
	data, err := os.ReadFile(b.auditLog())
	if err != nil {
		t.Fatalf("no audit record: %v", err)
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &rec); err != nil {
		t.Fatalf("audit log: %v\n%s", err, data)
	}
	return rec, string(data)
}
