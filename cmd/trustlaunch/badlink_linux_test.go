//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMalformedLinkIsReported runs open (the built binary) with a malformed
// link as a browser does, with no terminal: the error goes to stderr, to a
// desktop notification (a notify-send on PATH that records its arguments) and
// to the audit log as a "failed" record at step launch-url, and none of them
// holds the ticket. With a terminal the error is on the screen, so there is
// no notification, but the record is written all the same. Both forms are
// covered: open, which refuses the link before it re-executes, and the
// __open-fd form it re-executes as.
func TestMalformedLinkIsReported(t *testing.T) {
	bin := buildShared(t)
	const ticket = "tkt0b5e29c4d7f18a36"
	// The portal did not percent-encode the descriptor URL, so its "&"
	// splits the link and the ticket's parameter reads as the link's own.
	link := "trustlaunch://launch?url=https://portal.example.com/s/1?a=1&ticket=" + ticket
	const wantErr = `open: invalid link: unknown parameter "ticket"; only url is accepted`

	for _, tc := range []struct {
		name     string
		terminal bool
		fd       bool
	}{
		{"open, no terminal", false, false},
		{"open-fd, no terminal", false, true},
		{"open, terminal", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fakeBin := filepath.Join(dir, "bin")
			notified := filepath.Join(dir, "notified")
			if err := os.Mkdir(fakeBin, 0o755); err != nil {
				t.Fatal(err)
			}
			script := "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '" + notified + "'\n"
			if err := os.WriteFile(filepath.Join(fakeBin, "notify-send"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "state")
			env := []string{"PATH=" + fakeBin + ":" + os.Getenv("PATH"), "HOME=" + dir, "TERM=xterm-256color", "NO_COLOR=1",
				"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_STATE_HOME=" + state}
			args := []string{"open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link}

			var stderr string
			if tc.terminal {
				p := startPTY(t, nil, env, append([]string{bin}, args...)...)
				if got := p.exitCode(t); got != exitUsage {
					t.Errorf("exit %d, want %d", got, exitUsage)
				}
				select {
				case <-p.done: // all output read
				case <-time.After(20 * time.Second):
					t.Fatal("the terminal did not close after open exited")
				}
				stderr = p.text()
			} else {
				cmd := exec.Command(bin, args...)
				if tc.fd {
					f, err := os.CreateTemp(dir, "url-")
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					if _, err := f.WriteString(link); err != nil {
						t.Fatal(err)
					}
					cmd = exec.Command(bin, openFDCommand, "3", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--")
					cmd.ExtraFiles = []*os.File{f}
				}
				cmd.Env = env
				// A new session without a terminal, as a browser's child has.
				cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
				var buf bytes.Buffer
				cmd.Stdout, cmd.Stderr = &buf, &buf
				err := cmd.Run()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
					t.Errorf("exit: %v, want %d", err, exitUsage)
				}
				stderr = buf.String()
			}
			if !strings.Contains(stderr, "trustlaunch: error: ") || !strings.Contains(stderr, strings.TrimPrefix(wantErr, "open: ")) {
				t.Errorf("output does not name the error %q:\n%s", wantErr, stderr)
			}

			note, err := os.ReadFile(notified)
			switch {
			case tc.terminal && err == nil:
				t.Errorf("notified although the error is on the terminal: %q", note)
			case tc.terminal:
			case err != nil:
				t.Errorf("no desktop notification: %v", err)
			case !strings.Contains(string(note), strings.TrimPrefix(wantErr, "open: ")) || strings.Count(string(note), "\n") != 4:
				t.Errorf("notify-send got %q; want one notification with %q", note, wantErr)
			}

			log, err := os.ReadFile(filepath.Join(state, "trustlaunch", "audit.log"))
			if err != nil {
				t.Fatalf("no audit record: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(log)), "\n")
			var rec struct{ Decision, Step, Error string }
			if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rec) != nil {
				t.Fatalf("want one audit record; the log holds:\n%s", log)
			}
			if rec.Decision != "failed" || rec.Step != "launch-url" || !strings.Contains(rec.Error, "unknown parameter") {
				t.Errorf("audit record %+v; want decision failed, step launch-url and the error", rec)
			}
			for what, text := range map[string]string{"output": stderr, "notification": string(note), "audit log": string(log)} {
				if strings.Contains(text, ticket) {
					t.Errorf("the %s holds the ticket: %s", what, text)
				}
			}
		})
	}
}
