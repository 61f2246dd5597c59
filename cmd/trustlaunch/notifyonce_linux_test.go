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
)

// TestPromptWithoutWindowNotifiesOnce runs open as a browser does (a
// session of its own, no terminal) on a link to a server no list names,
// on a desktop where no terminal window can be opened to ask: the launch is
// refused, and the user gets exactly one desktop notification saying why.
// The window prompter once sent one of its own before the launch's.
func TestPromptWithoutWindowNotifiesOnce(t *testing.T) {
	bin := buildShared(t)
	dir := t.TempDir()
	fakeBin := filepath.Join(dir, "bin")
	if err := os.Mkdir(fakeBin, 0o755); err != nil {
		t.Fatal(err)
	}
	notified := filepath.Join(dir, "notified")
	// One line per notification: its summary and body.
	script := "#!/bin/sh\n[ \"$1\" = --app-name=trustlaunch ] && shift\n[ \"$1\" = -- ] && shift\nprintf '%s | %s\\n' \"$1\" \"$2\" >> '" + notified + "'\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "notify-send"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	// PATH holds notify-send and nothing else: no terminal emulator, so no
	// window can ask, whatever this machine has installed.
	env := []string{"PATH=" + fakeBin, "HOME=" + dir, "DISPLAY=:99",
		"XDG_STATE_HOME=" + state, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	const ticket = "tkt3b8e1f0c6d2a"
	cmd := exec.Command(bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt",
		"--user-whitelist", filepath.Join(dir, "whitelist.txt"), "--", launchLink("https://portal.example.com:8443/s/1?ticket="+ticket))
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitRefused {
		t.Fatalf("exit: %v, want %d; output:\n%s", err, exitRefused, out.String())
	}

	note, err := os.ReadFile(notified)
	if err != nil {
		t.Fatalf("no desktop notification: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(note), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d notifications, want exactly 1:\n%s", len(lines), note)
	}
	for _, want := range []string{"trustlaunch: launch refused", "no terminal window could be opened"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the notification %q lacks %q", lines[0], want)
		}
	}
	if strings.Contains(string(note), ticket) {
		t.Errorf("the notification holds the ticket: %s", note)
	}
	log, err := os.ReadFile(filepath.Join(state, "trustlaunch", "audit.log"))
	if err != nil {
		t.Fatalf("no audit record: %v", err)
	}
	var rec struct{ Decision, Step, Told string }
	if err := json.Unmarshal(bytes.TrimSpace(log), &rec); err != nil {
		t.Fatalf("audit log: %v\n%s", err, log)
	}
	if rec.Step != "prompt-no" || rec.Told != "notification" {
		t.Errorf("audit record %+v; want refused at prompt-no, told by notification", rec)
	}
}
