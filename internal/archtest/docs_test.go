//go:build !windows

package archtest

import (
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Comments, messages and scripts give their reasons by citing a document of
// the repository, often a section of it: docs/design.md "Connector",
// docs/admin.md, "Windows Group Policy", README.md "Exit codes". A citation
// of a file the repository does not have (the code once cited a DESIGN.md
// that never shipped), or of a heading that was renamed, sends the reader
// nowhere, so TestDocCitations checks every one.

// citeRE matches a Markdown file named in a comment, a string or a script
// (group 1), and the section quoted right after it, with or without a comma
// (group 2).
var citeRE = regexp.MustCompile(`((?:\.\./)*(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_-]+\.md)\b(?:,? "([^"]+)")?`)

// designDoc is the design page: a citation of it must name a section.
const designDoc = "docs/design.md"

// citeLine is one line of text that may cite a document: a line of a
// comment or a string literal of a Go file, or a line of any other file.
// next says that the following citeLine continues it (the next line of the
// same comment), so that a citation wrapped across two lines is read whole.
type citeLine struct {
	line int
	text string
	next bool
}

// goCiteLines returns the lines of the comments and string literals of a
// Go file: the only places where a citation can stand.
func goCiteLines(src string) []citeLine {
	fset := token.NewFileSet()
	file := fset.AddFile("x.go", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), nil, scanner.ScanComments)
	var out []citeLine
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		line := file.Line(pos)
		switch tok {
		case token.COMMENT:
			text := strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(lit, "/*"), "*/"), "//")
			for i, l := range strings.Split(text, "\n") {
				if n := len(out); n > 0 && out[n-1].line == line+i-1 && i == 0 {
					out[n-1].next = true // a // comment on the line after the last one
				}
				out = append(out, citeLine{line: line + i, text: strings.TrimSpace(l), next: i < strings.Count(text, "\n")})
			}
		case token.STRING:
			if v, err := strconv.Unquote(lit); err == nil {
				lit = v
			}
			for i, l := range strings.Split(lit, "\n") {
				out = append(out, citeLine{line: line + i, text: l})
			}
		}
	}
}

// textCiteLines returns the lines of a script or another text file, with
// the comment markers of shell, Go-like and batch languages taken off, each
// continued by the next.
func textCiteLines(src string) []citeLine {
	lines := strings.Split(src, "\n")
	out := make([]citeLine, len(lines))
	for i, l := range lines {
		l = strings.TrimSpace(l)
		for _, marker := range []string{"#", "//", "rem ", "REM ", ";"} {
			l = strings.TrimSpace(strings.TrimLeft(strings.TrimPrefix(l, marker), "#"))
		}
		out[i] = citeLine{line: i + 1, text: l, next: i+1 < len(lines)}
	}
	return out
}

var (
	headingRE = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	fenceRE   = regexp.MustCompile("^\\s*(```|~~~)")
)

// headings returns the headings of a Markdown text, leaving out lines that
// start with # inside fenced code blocks (comments of a shell example).
func headings(md string) map[string]bool {
	hs := map[string]bool{}
	fenced := false
	for _, l := range strings.Split(md, "\n") {
		if fenceRE.MatchString(l) {
			fenced = !fenced
			continue
		}
		if m := headingRE.FindStringSubmatch(l); m != nil && !fenced {
			hs[m[1]] = true
		}
	}
	return hs
}

// hasSection reports whether a heading names section: the heading itself,
// or its part before a colon ("Terminal windows" for "Terminal windows:
// what another program of the user can still do").
func hasSection(hs map[string]bool, section string) bool {
	if hs[section] {
		return true
	}
	for h := range hs {
		if strings.HasPrefix(h, section+":") {
			return true
		}
	}
	return false
}

// citationProblems checks every citation in files (a repository: path with
// forward slashes to content) and returns one line per citation that
// names no file of the repository, no heading of the file it names, or,
// for the design page, no section at all; and how many citations of the
// design page it checked. A cited path is read from the repository's root,
// then from the citing file's directory ("../README.md").
func citationProblems(files map[string]string) (problems []string, design int) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	heads := map[string]map[string]bool{}
	for _, name := range names {
		if strings.HasSuffix(name, ".md") {
			heads[name] = headings(files[name])
		}
	}
	for _, name := range names {
		if strings.HasSuffix(name, ".md") {
			continue
		}
		var lines []citeLine
		if strings.HasSuffix(name, ".go") {
			lines = goCiteLines(files[name])
		} else {
			lines = textCiteLines(files[name])
		}
		for i, l := range lines {
			text := l.text
			if l.next && i+1 < len(lines) {
				text += " " + lines[i+1].text
			}
			for _, m := range citeRE.FindAllStringSubmatchIndex(text, -1) {
				if m[0] >= len(l.text) {
					continue // the next line's own: read there
				}
				if m[2] > 0 && text[m[2]-1] == '/' {
					continue // an absolute path, where a package installs a file
				}
				cited, section := text[m[2]:m[3]], ""
				if m[4] >= 0 {
					section = text[m[4]:m[5]]
				}
				at := fmt.Sprintf("%s:%d", name, l.line)
				doc := cited
				if _, ok := files[doc]; !ok {
					doc = path.Join(path.Dir(name), cited)
				}
				hs, ok := heads[doc]
				switch {
				case !ok && path.Base(cited) == "DESIGN.md":
					problems = append(problems, fmt.Sprintf("%s: cites %s, which is not in the repository: cite %s \"Section\"", at, cited, designDoc))
				case !ok:
					problems = append(problems, fmt.Sprintf("%s: cites %s, which is not in the repository", at, cited))
				case doc == designDoc && section == "":
					problems = append(problems, fmt.Sprintf("%s: cites %s without a section: name one of its headings, as in %s \"Connector\"", at, designDoc, designDoc))
				case section != "" && !hasSection(hs, section):
					problems = append(problems, fmt.Sprintf("%s: cites %s %q, a section %s does not have", at, cited, section, doc))
				}
				if doc == designDoc {
					design++
				}
			}
		}
	}
	return problems, design
}

// citingFile reports whether a file of the repository is read for
// citations: Go source, Markdown (for its headings), and the scripts and
// configuration that ship or run the tests.
func citingFile(rel string) bool {
	switch path.Ext(rel) {
	case ".go", ".md", ".sh", ".py", ".txtar", ".yaml", ".yml", ".toml", ".admx", ".adml", ".wxs", ".ps1", ".bat", ".cmd":
		return true
	}
	// Scripts without an extension: scripts/wine/exec, .ci/run.
	return path.Ext(rel) == "" && (strings.HasPrefix(rel, "scripts/") || strings.HasPrefix(rel, ".ci/"))
}

// TestDocCitations: every document the code, the tests and the scripts
// cite is in the repository, and every section they cite is a heading of
// it; no file cites the DESIGN.md the repository does not have.
func TestDocCitations(t *testing.T) {
	root := repoRoot(t)
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "vendor" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		// These files plant bad citations and links for
		// TestDocCitationsCanFail and TestDocLinksCanFail.
		if !d.Type().IsRegular() || !citingFile(rel) || rel == "internal/archtest/docs_test.go" || rel == "internal/archtest/links_test.go" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte{0}) {
			files[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files[designDoc]; !ok {
		t.Fatalf("%s is missing", designDoc)
	}
	problems, design := citationProblems(files)
	for _, p := range problems {
		t.Error(p)
	}
	// The design page is cited throughout; none found means the pattern
	// or the walk is broken, not that the code stopped citing it.
	if design < 20 {
		t.Errorf("found %d citations of %s; the code has dozens: is citeRE or the walk broken?", design, designDoc)
	}
	t.Logf("%d files read, %d citations of %s", len(files), design, designDoc)
}

// TestDocCitationsCanFail plants bad citations among good ones: a section
// the design page does not have, one that only a fenced code block holds,
// the design page without a section, the DESIGN.md the repository does
// not have (in Go and in a script), and another missing file.
func TestDocCitationsCanFail(t *testing.T) {
	files := map[string]string{
		"docs/design.md": "# Design\n\n## Connector\n\n```sh\n## Not a heading\n```\n",
		"README.md":      "# R\n### Exit codes\n## Terminal windows: what another program can do\n",
		"a/a.go": `package a

// Good: docs/design.md "Connector", README.md "Exit codes", and
// README.md, "Terminal windows"; ../README.md is read from a/.
// A wrapped one is good too (docs/design.md
// "Connector").
var x = 1 // docs/design.md "No such section"

// docs/design.md "Not a heading" is only in a code block.
// See docs/design.md for the rest.
// Once cited: DESIGN.md "Connector".
var s = "see CONVENTIONS.md"
`,
		"scripts/x.sh": "#!/bin/sh\n# The layout (DESIGN.md, \"Layout\"), and\n# the design (docs/design.md\n# \"Connector\").\n",
	}
	got, design := citationProblems(files)
	want := []string{
		`a/a.go:7: cites docs/design.md "No such section", a section docs/design.md does not have`,
		`a/a.go:9: cites docs/design.md "Not a heading", a section docs/design.md does not have`,
		`a/a.go:10: cites docs/design.md without a section: name one of its headings, as in docs/design.md "Connector"`,
		`a/a.go:11: cites DESIGN.md, which is not in the repository: cite docs/design.md "Section"`,
		`a/a.go:12: cites CONVENTIONS.md, which is not in the repository`,
		`scripts/x.sh:2: cites DESIGN.md, which is not in the repository: cite docs/design.md "Section"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("citationProblems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if design != 6 {
		t.Errorf("counted %d citations of the design page, want 6", design)
	}
}
