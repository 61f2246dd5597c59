package platform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoHandler registers and removes the demo's handler with the real
// xdg-mime in a temporary XDG home: the entry names the demo's scheme and
// command, the default is set and removed, and trustlaunch:// is never
// touched.
func TestDemoHandler(t *testing.T) {
	path := os.Getenv("PATH")
	e := newXDGEnv(t)
	e.useRealTools(t, path)
	// The user's own trustlaunch:// default, which the demo must keep.
	if err := os.MkdirAll(e.configHome, 0o755); err != nil {
		t.Fatal(err)
	}
	const own = "[Default Applications]\nx-scheme-handler/trustlaunch=trustlaunch.desktop\n"
	if err := os.WriteFile(e.mimeapps, []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(e.apps, "trustlaunch-demo.desktop")

	for range 2 { // the second time over what a killed demo left
		if _, err := RegisterDemoHandler(t.Context(), e.exe, []string{"__demo-link", "--"}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(entry)
		if err != nil {
			t.Fatal(err)
		}
		f := parseDesktopFile(data)
		if f["Exec"] != e.exe+" __demo-link -- %u" || !f.hasMIME("x-scheme-handler/trustlaunch-demo") || f.hasMIME(schemeMIME) {
			t.Errorf("entry:\n%s", data)
		}
		list, _ := os.ReadFile(e.mimeapps)
		if !strings.Contains(string(list), "x-scheme-handler/trustlaunch-demo=trustlaunch-demo.desktop") || !strings.Contains(string(list), "x-scheme-handler/trustlaunch=trustlaunch.desktop") {
			t.Errorf("mimeapps.list:\n%s", list)
		}
	}
	if _, err := os.Stat(filepath.Join(e.apps, desktopFileID)); err == nil {
		t.Error("RegisterDemoHandler wrote trustlaunch.desktop")
	}

	if _, err := UnregisterDemoHandler(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(entry); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("entry after UnregisterDemoHandler: %v", err)
	}
	if list, _ := os.ReadFile(e.mimeapps); string(list) != own {
		t.Errorf("mimeapps.list after UnregisterDemoHandler:\n%s\nwant\n%s", list, own)
	}
}

// TestDemoHandlerLeavesForeignEntry: a trustlaunch-demo.desktop that the
// demo did not write is neither replaced nor removed.
func TestDemoHandlerLeavesForeignEntry(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime")
	if err := os.MkdirAll(e.apps, 0o755); err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(e.apps, "trustlaunch-demo.desktop")
	const foreign = "[Desktop Entry]\nType=Application\nExec=/opt/other %u\nMimeType=x-scheme-handler/trustlaunch-demo;\n"
	if err := os.WriteFile(entry, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := RegisterDemoHandler(t.Context(), e.exe, []string{"__demo-link", "--"})
	if !errors.Is(err, ErrNotOurs) {
		t.Errorf("RegisterDemoHandler over a foreign entry: %v, want ErrNotOurs", err)
	}
	if _, err := UnregisterDemoHandler(t.Context()); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(entry); string(data) != foreign {
		t.Errorf("the foreign entry changed:\n%s", data)
	}
	if log := e.toolLog(t); len(log) != 0 {
		t.Errorf("tools ran: %q", log)
	}
}

// TestDemoHandlerArgs: the fixed arguments must be plain words, which need
// no quoting in Exec or a Windows command line.
func TestDemoHandlerArgs(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime")
	for _, arg := range []string{"a b", "%u", "$(x)", `"q"`, ""} {
		if _, err := RegisterDemoHandler(t.Context(), e.exe, []string{arg}); err == nil {
			t.Errorf("argument %q accepted", arg)
		}
	}
	if _, err := os.Stat(filepath.Join(e.apps, "trustlaunch-demo.desktop")); err == nil {
		t.Error("an entry was written")
	}
}
