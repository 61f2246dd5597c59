package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocShowsSamples: docs/portal.md shows this directory's portals as
// they are, so the code a portal developer copies is the code
// TestPortalSamples (internal/peers) runs end to end.
func TestDocShowsSamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs/portal.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sample := range []struct{ file, lang string }{{"main.go", "go"}, {"portal.mjs", "js"}} {
		want, err := os.ReadFile(sample.file)
		if err != nil {
			t.Fatal(err)
		}
		marker := "<!-- sample: examples/portal/" + sample.file + " -->\n```" + sample.lang + "\n"
		_, after, ok := strings.Cut(string(doc), marker)
		if !ok {
			t.Errorf("docs/portal.md lacks %q", marker)
			continue
		}
		shown, _, ok := strings.Cut(after, "```\n")
		if !ok {
			t.Errorf("docs/portal.md: the block of %s does not end", sample.file)
			continue
		}
		// Windows checkouts may turn LF into CRLF in either file.
		norm := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
		if norm(shown) != norm(string(want)) {
			t.Errorf("docs/portal.md shows another %s than examples/portal/%s: copy the file into the page", sample.file, sample.file)
		}
	}
}
