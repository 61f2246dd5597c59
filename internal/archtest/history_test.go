//go:build !windows

package archtest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Comments say why; commits say when. A comment that cites one of the
// project's own issues ("the local end admits only this user (issue 10)")
// records history: the reader has to leave the code to learn the reason,
// and the issue tracker may not travel with the source. The reason stays
// in the comment and the number goes in the commit message.

// issueRefRE matches a reference to one of the project's issues: "issue
// 14", "issues 10 and 13", "(#22)". An upstream issue keeps its reference,
// which is a reason (the bug being worked around): those are written with
// their project ("Go issue 18236", "dop251/goja#645") and have more digits
// than this project's tracker, or no "issue" word and no parentheses.
var issueRefRE = regexp.MustCompile(`(?i)\bissues? #?\d{1,3}\b|\(#\d{1,3}\)`)

// issueRefs returns one line for each comment or string line of a Go file
// that cites an issue of the project.
func issueRefs(name, src string) []string {
	var bad []string
	for _, l := range goCiteLines(src) {
		if m := issueRefRE.FindString(l.text); m != "" {
			bad = append(bad, fmt.Sprintf("%s:%d: %q cites an issue: give the reason in the comment, the issue in the commit message", name, l.line, m))
		}
	}
	return bad
}

// TestNoIssueNumbersInCode: no production Go file cites the project's
// issues in its comments or messages.
func TestNoIssueNumbersInCode(t *testing.T) {
	root := repoRoot(t)
	files := 0
	err := walkProductionGo(root, func(rel string, src []byte) error {
		files++
		for _, b := range issueRefs(rel, string(src)) {
			t.Error(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read only %d Go files under %s; is the walk right?", files, root)
	}
}

// TestIssueRefsCanFail feeds the rule the comments that must fail and the
// references that are reasons.
func TestIssueRefsCanFail(t *testing.T) {
	src := "package p\n\n" +
		"// peerCheck refuses another user's connection (issue 10: as root,\n" +
		"// uid 0 passed).\n" +
		"func peerCheck() {}\n\n" +
		"// Signed descriptors (Issue 13, deliverable 5).\n" +
		"// One job per package (#22).\n" +
		"// Go issue 18236: a raw read that blocks.\n" +
		"// A PKCS #8 key; goja's memory limit (dop251/goja#645).\n" +
		"// Three tissue 12 layers.\n" +
		"const msg = \"see issues 10 and 13\"\n"
	got := issueRefs("p/p.go", src)
	want := []string{`p/p.go:3: "issue 10"`, `p/p.go:7: "Issue 13"`, `p/p.go:8: "(#22)"`, `p/p.go:12: "issues 10"`}
	if len(got) != len(want) {
		t.Fatalf("issueRefs:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("reference %d: %q, want it to start %q", i, got[i], want[i])
		}
	}
}
