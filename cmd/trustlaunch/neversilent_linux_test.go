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
	bin := buildShared(t)
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
			dir := t.TempDir()
			fakeBin := filepath.Join(dir, "bin")
			screen := filepath.Join(dir, "screen")
			if err := os.Mkdir(fakeBin, 0o755); err != nil {
				t.Fatal(err)
			}
			user := filepath.Join(dir, "whitelist.txt")
			if err := os.WriteFile(user, []byte(host+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "state")
			// PATH holds the stand-in terminal and nothing else: no
			// notify-send, whatever this machine has installed.
			env := []string{"PATH=" + fakeBin, "HOME=" + dir, "XDG_STATE_HOME=" + state, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
			if tc.terminal {
				term := filepath.Join(fakeBin, "my-term")
				script := "#!/bin/sh\n[ \"$1\" = \"-e\" ] && shift\nexec \"$@\" > '" + screen + "' 2>&1 < /dev/null\n"
				if err := os.WriteFile(term, []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
				env = append(env, "DISPLAY=:99", "TERMINAL="+term)
			}
			cmd := exec.Command(bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--user-whitelist", user, "--", link)
			cmd.Env = env
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
				t.Fatalf("exit: %v, want %d; output:\n%s", err, exitFailure, out.String())
			}

			shown, _ := os.ReadFile(screen)
			if tc.terminal {
				for _, want := range []string{"trustlaunch: launch failed", "descriptor-fetch: ", "connection refused", "Press Enter to close this window."} {
					if !strings.Contains(string(shown), want) {
						t.Errorf("the window lacks %q:\n%s", want, shown)
					}
				}
			}
			log, err := os.ReadFile(filepath.Join(state, "trustlaunch", "audit.log"))
			if err != nil {
				t.Fatalf("no audit record: %v", err)
			}
			var rec struct{ Decision, Step, Told string }
			if err := json.Unmarshal(bytes.TrimSpace(log), &rec); err != nil {
				t.Fatalf("audit log: %v\n%s", err, log)
			}
			if rec.Decision != "failed" || rec.Step != "descriptor-fetch" || !strings.HasPrefix(rec.Told, tc.wantTold) {
				t.Errorf("audit record %+v; want failed at descriptor-fetch, told %q", rec, tc.wantTold)
			}
			if !tc.terminal && (!strings.Contains(rec.Told, "notify-send") || !strings.Contains(rec.Told, "no terminal window")) {
				t.Errorf("told %q does not say why neither way worked", rec.Told)
			}
			for what, text := range map[string]string{"output": out.String(), "window": string(shown), "audit log": string(log)} {
				if strings.Contains(text, ticket) {
					t.Errorf("the %s holds the ticket: %s", what, text)
				}
			}
		})
	}
}
