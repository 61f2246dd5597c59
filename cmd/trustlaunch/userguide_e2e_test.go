//go:build unix

package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUserGuidePrompt runs the trust prompt that docs/user.md shows, for
// the same link in an 80x24 terminal, and checks that the page shows what
// the program draws: a user guide's picture of a security prompt must not
// drift from the prompt. The user list is named, not created (the answer
// is No, and No writes nothing), so the path matches the page's; the
// countdown's number is the only part allowed to differ.
func TestUserGuidePrompt(t *testing.T) {
	doc, err := os.ReadFile("../../docs/user.md")
	if err != nil {
		t.Fatal(err)
	}
	// The capture is the first fenced block after the comment that names
	// this test.
	_, after, ok := strings.Cut(string(doc), "TestUserGuidePrompt")
	if !ok {
		t.Fatal("docs/user.md does not name TestUserGuidePrompt above its capture of the prompt")
	}
	_, block, _ := strings.Cut(after, "```\n")
	want, _, ok := strings.Cut(block, "```")
	if !ok || want == "" {
		t.Fatal("docs/user.md: no fenced block after the comment naming TestUserGuidePrompt")
	}

	bin := buildBinary(t)
	link := "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Flaunch%2F42%3Fticket%3Dabc123"
	tm := startTerm(t, []string{"NO_COLOR=1", "TERM=xterm-256color", "XDG_CONFIG_HOME=/home/ana/.config"},
		bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link)
	// Until the keys are live the help line says so; the page shows the
	// prompt after that moment.
	screen := tm.waitFor("the trust prompt with its keys live", 20*time.Second, func(s string) bool { return strings.Contains(s, "Enter choose") })
	countdown := regexp.MustCompile(`No answer means No in [0-9]+ s\.`)
	norm := func(s string) string {
		s = countdown.ReplaceAllString(s, "No answer means No in N s.")
		return strings.TrimRight(s, "\n") + "\n"
	}
	if got, want := norm(screen), norm(want); got != want {
		t.Errorf("docs/user.md shows a prompt the program does not draw.\nprogram:\n%s\ndocs/user.md:\n%s", got, want)
	}
	tm.keys("n")
	if got := tm.exitStatus(20 * time.Second); got != exitRefused {
		t.Errorf("answered No: exit %d, want %d; screen:\n%s", got, exitRefused, tm.screen())
	}
}
