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

// Comments, messages, scripts and the documents themselves give their
// reasons by citing a document of the repository, often a section of it:
// docs/design.md "Connector", docs/admin.md, "Windows Group Policy",
// docs/user.md "Exit codes". A citation of a file the repository does not
// have (the code once cited a DESIGN.md that never shipped), or of a
// heading that was renamed, sends the reader nowhere, so TestDocCitations
// checks every one.

// citeRE matches a Markdown file named in a comment, a string, a script or
// a document (group 1), and the section cited right after it: quoted, with
// or without a comma or an opening parenthesis (group 2: docs/admin.md,
// "Launch records"; docs/macos.md ("The Bom")), or as a link's anchor
// (group 3: docs/admin.md#launch-records).
var citeRE = regexp.MustCompile(`((?:\.\./)*(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_-]+\.md)\b(?:,? \(?"([^"]+)"|#([A-Za-z0-9_-]+))?`)

// bareCiteRE matches a document at the top of the repository named without
// its extension (README, CONTRIBUTING) and followed by a quoted section
// (README, "Windows tests under Wine"): group 1 is the name, group 2 the
// section. Without a section such a word is prose, not a citation, and is
// not read.
var bareCiteRE = regexp.MustCompile(`\b([A-Z][A-Z0-9_-]*)\b,? \(?"([^"]+)"`)

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

// markdownCiteLines returns the lines of a Markdown document as they cite
// other documents in prose: "see docs/admin.md, "Launch records"". A link's
// destination is taken out (TestDocLinks checks links and their anchors),
// and so is a code span, which quotes text rather than cites it, unless it
// holds only a file name (`docs/admin.md`, "Terminal windows"). Fenced
// blocks are read as they are: an example that cites a page must cite one
// that exists.
func markdownCiteLines(src string) []citeLine {
	lines := strings.Split(src, "\n")
	out := make([]citeLine, len(lines))
	fenced := false
	for i, l := range lines {
		if fenceRE.MatchString(l) {
			fenced = !fenced
		} else if !fenced {
			l = linkDestRE.ReplaceAllString(l, "]")
			l = codeSpanRE.ReplaceAllStringFunc(l, func(span string) string {
				if inner := strings.Trim(span, "`"); mdFileRE.MatchString(inner) {
					return inner
				}
				return ""
			})
		}
		out[i] = citeLine{line: i + 1, text: strings.TrimSpace(l), next: i+1 < len(lines)}
	}
	return out
}

var (
	// linkDestRE matches the destination of an inline link or image, or
	// the whole of a reference definition.
	linkDestRE = regexp.MustCompile(`\]\([^)]*\)|^\s{0,3}\[[^\]]+\]:\s*\S+`)
	mdFileRE   = regexp.MustCompile(`^(?:\.\./)*(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_-]+\.md$`)
)

// citation is a document cited at one place, with the section it names by
// its heading or its anchor, if any.
type citation struct {
	at, cited, section, anchor string
}

// citationsIn returns the citations of the lines of one file. topDocs are
// the documents at the top of the repository, which a citation may name
// without ".md" when it quotes a section (README, "Exit codes").
func citationsIn(name string, lines []citeLine, topDocs map[string]bool) []citation {
	var out []citation
	for i, l := range lines {
		text := l.text
		if l.next && i+1 < len(lines) {
			text += " " + lines[i+1].text
		}
		at := fmt.Sprintf("%s:%d", name, l.line)
		// Each regexp runs only where it can match: they are most of the
		// cost of reading the repository, several times over under -race.
		if strings.Contains(text, ".md") {
			out = append(out, fileCitations(at, text, len(l.text))...)
		}
		if strings.Contains(text, `"`) {
			for _, m := range bareCiteRE.FindAllStringSubmatchIndex(text, -1) {
				if m[0] < len(l.text) && topDocs[text[m[2]:m[3]]+".md"] {
					out = append(out, citation{at: at, cited: text[m[2]:m[3]] + ".md", section: text[m[4]:m[5]]})
				}
			}
		}
	}
	return out
}

// fileCitations returns the citations of documents named with ".md" in
// text, a line joined to the next, that start in its first own bytes.
func fileCitations(at, text string, own int) []citation {
	var out []citation
	for _, m := range citeRE.FindAllStringSubmatchIndex(text, -1) {
		if m[0] >= own {
			continue // the next line's own: read there
		}
		if m[2] > 0 && text[m[2]-1] == '/' {
			continue // an absolute path, where a package installs a file
		}
		c := citation{at: at, cited: text[m[2]:m[3]]}
		if m[4] >= 0 {
			c.section = text[m[4]:m[5]]
		}
		if m[6] >= 0 {
			c.anchor = text[m[6]:m[7]]
		}
		out = append(out, c)
	}
	return out
}

// citationProblems checks every citation in files (a repository: path with
// forward slashes to content) and returns one line per citation that
// names no file of the repository, no heading (or anchor) of the file it
// names, or, from code or a script, the design page with no section at
// all; and how many citations of the design page it checked. A cited path
// is read from the repository's root, then from the citing file's
// directory ("../README.md"). Documents cite each other the same way
// ("docs/admin.md, "Launch records""); they may name the design page
// whole, as a reader's next page.
func citationProblems(files map[string]string) (problems []string, design int) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	heads := map[string]map[string]bool{}
	topDocs := map[string]bool{}
	for _, name := range names {
		if strings.HasSuffix(name, ".md") {
			heads[name] = headings(files[name])
			topDocs[name] = !strings.Contains(name, "/")
		}
	}
	for _, name := range names {
		var lines []citeLine
		switch {
		case strings.HasSuffix(name, ".md"):
			lines = markdownCiteLines(files[name])
		case strings.HasSuffix(name, ".go"):
			lines = goCiteLines(files[name])
		default:
			lines = textCiteLines(files[name])
		}
		for _, c := range citationsIn(name, lines, topDocs) {
			doc := c.cited
			if _, ok := files[doc]; !ok {
				doc = path.Join(path.Dir(name), c.cited)
			}
			hs, ok := heads[doc]
			switch {
			case !ok && path.Base(c.cited) == "DESIGN.md":
				problems = append(problems, fmt.Sprintf("%s: cites %s, which is not in the repository: cite %s \"Section\"", c.at, c.cited, designDoc))
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: cites %s, which is not in the repository", c.at, c.cited))
			case doc == designDoc && c.section == "" && c.anchor == "" && !strings.HasSuffix(name, ".md"):
				problems = append(problems, fmt.Sprintf("%s: cites %s without a section: name one of its headings, as in %s \"Connector\"", c.at, designDoc, designDoc))
			case c.section != "" && !hasSection(hs, c.section):
				problems = append(problems, fmt.Sprintf("%s: cites %s %q, a section %s does not have", c.at, c.cited, c.section, doc))
			case c.anchor != "" && !anchors(files[doc])[c.anchor]:
				problems = append(problems, fmt.Sprintf("%s: cites %s#%s, an anchor no heading of %s has", c.at, c.cited, c.anchor, doc))
			}
			if doc == designDoc {
				design++
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

// TestDocCitations: every document the code, the tests, the scripts and
// the documents cite is in the repository, and every section they cite is
// a heading of it; no file cites the DESIGN.md the repository does not
// have.
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
// not have (in Go and in a script), and another missing file; a section
// in parentheses and an anchor that no heading has; a top document named
// without ".md" with a section it does not have; and, in Markdown, a
// section another document does not have, quoted after a file name in
// a code span or wrapped across lines, and a missing file cited in a
// fenced example.
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
// docs/design.md ("Gone"), docs/design.md#connector, docs/design.md#gone.
`,
		"scripts/x.sh": "#!/bin/sh\n# The layout (DESIGN.md, \"Layout\"), and\n# the design (docs/design.md\n# \"Connector\").\n" +
			"# The exit codes (README, \"Exit codes\"), the Wine notes (README,\n# \"Windows tests under Wine\"); NO_COLOR \"1\" is prose.\n",
		"CONTRIBUTING.md": "# C\n\n## Windows tests under Wine\n\n" +
			"See docs/admin.md, \"Launch records\", but not docs/admin.md, \"Launch record\".\n" +
			"Code quotes `docs/admin.md \"Section\"`; `docs/admin.md`, \"Audit\" cites.\n",
		"docs/admin.md": "# Admin\n\n## Launch records\n\n" +
			"The [design](design.md) page, whole, is a next page (docs/design.md);\n" +
			"(../CONTRIBUTING.md, \"Windows tests\nunder Wine\") wraps, and (README.md, \"Exit\ncodes\") too;\n" +
			"docs/design.md (\"Nothing\") is not there.\n\n```sh\n# see docs/gone.md\n```\n",
	}
	got, design := citationProblems(files)
	want := []string{
		`CONTRIBUTING.md:5: cites docs/admin.md "Launch record", a section docs/admin.md does not have`,
		`CONTRIBUTING.md:6: cites docs/admin.md "Audit", a section docs/admin.md does not have`,
		`a/a.go:7: cites docs/design.md "No such section", a section docs/design.md does not have`,
		`a/a.go:9: cites docs/design.md "Not a heading", a section docs/design.md does not have`,
		`a/a.go:10: cites docs/design.md without a section: name one of its headings, as in docs/design.md "Connector"`,
		`a/a.go:11: cites DESIGN.md, which is not in the repository: cite docs/design.md "Section"`,
		`a/a.go:12: cites CONVENTIONS.md, which is not in the repository`,
		`a/a.go:13: cites docs/design.md "Gone", a section docs/design.md does not have`,
		`a/a.go:13: cites docs/design.md#gone, an anchor no heading of docs/design.md has`,
		`docs/admin.md:9: cites docs/design.md "Nothing", a section docs/design.md does not have`,
		`docs/admin.md:12: cites docs/gone.md, which is not in the repository`,
		`scripts/x.sh:2: cites DESIGN.md, which is not in the repository: cite docs/design.md "Section"`,
		`scripts/x.sh:5: cites README.md "Windows tests under Wine", a section README.md does not have`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("citationProblems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if design != 11 {
		t.Errorf("counted %d citations of the design page, want 11", design)
	}
}
