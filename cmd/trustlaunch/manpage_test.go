//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestManPage renders "trustlaunch help --man" with man -l and groff's
// warnings on: it must render without one, and hold every command, its
// flags and the exit codes, as --help does.
func TestManPage(t *testing.T) {
	man := peers.RequireBinary(t, "man")
	var out, errb bytes.Buffer
	s := &stdio{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := run(t.Context(), []string{"help", "--man"}, s); code != exitOK {
		t.Fatalf("help --man: exit %d: %s", code, errb.String())
	}
	page := filepath.Join(testtmp.Dir(t), "trustlaunch.1")
	if err := os.WriteFile(page, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	text, warnings := renderMan(t, man, page)
	if warnings != "" {
		t.Errorf("man --warnings -l: %s", warnings)
	}
	pages, err := helpPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if p.path != "" && !strings.Contains(text, "trustlaunch "+p.path+"\n") {
			t.Errorf("no section for trustlaunch %s", p.path)
		}
	}
	for _, want := range []string{"NAME\n       trustlaunch - open terminal sessions", "EXIT STATUS", "--token-file FILE", "-n, --lines N", "/etc/trustlaunch/whitelist.txt", "130  interrupted"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	if strings.Contains(text, machineNote) {
		t.Errorf("the page says what the machine that made it would do (%q)", machineNote)
	}
}

// TestManPageWarningsCanFail: the check above sees groff's warnings.
func TestManPageWarningsCanFail(t *testing.T) {
	man := peers.RequireBinary(t, "man")
	page := filepath.Join(testtmp.Dir(t), "bad.1")
	if err := os.WriteFile(page, []byte(".TH BAD 1\n.SH NAME\nbad \\- a page\n.XX not a macro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, warnings := renderMan(t, man, page); !strings.Contains(warnings, "warning") {
		t.Errorf("man --warnings printed no warning for an undefined macro: %q", warnings)
	}
}

// renderMan runs man -l on page as a reader would, at 80 columns, and
// returns the text and whatever man and groff said on stderr.
func renderMan(t *testing.T, man, page string) (text, warnings string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), man, "--warnings", "-E", "UTF-8", "-l", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "MAN_KEEP_FORMATTING=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("man -l: %v\n%s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}
