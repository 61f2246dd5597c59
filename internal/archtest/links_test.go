//go:build !windows

package archtest

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The documents are read by audience from README.md: a link that leads
// nowhere, or a README that grew back into a manual, is a broken page for
// someone. These tests keep README short, every relative link pointing at
// a file and heading that exist, README's links inside the repository
// (what it links must work from a clone, before anything is published),
// and the troubleshooting page covering every step the audit log can name.

// readmeMaxLines is README's budget: what trustlaunch is, the demo, the
// install, how it works in a few lines, and links; the manual is in docs/.
const readmeMaxLines = 200

func TestReadmeLength(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n >= readmeMaxLines {
		t.Errorf("README.md has %d lines; keep it under %d: move reference material to docs/ (users, admins, portals) or CONTRIBUTING.md (developers)", n, readmeMaxLines)
	}
}

// docLink is one link of a Markdown document.
type docLink struct {
	line   int
	target string
}

var (
	inlineLinkRE = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	refDefRE     = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	autolinkRE   = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>`)
	bareURLRE    = regexp.MustCompile(`\b(?:https?|ftp)://[^\s)>\]]+`)
	codeSpanRE   = regexp.MustCompile("`+[^`]*`+")
)

// markdownLinks returns the links of a Markdown text outside code (fenced
// blocks and code spans): inline links and images, reference definitions,
// autolinks, and bare URLs, which GitHub makes links too.
func markdownLinks(md string) []docLink {
	var out []docLink
	fenced := false
	for i, l := range strings.Split(md, "\n") {
		if fenceRE.MatchString(l) {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		l = codeSpanRE.ReplaceAllString(l, "")
		for _, re := range []*regexp.Regexp{inlineLinkRE, refDefRE, autolinkRE} {
			for _, m := range re.FindAllStringSubmatch(l, -1) {
				out = append(out, docLink{i + 1, m[1]})
			}
			l = re.ReplaceAllString(l, "")
		}
		for _, m := range bareURLRE.FindAllString(l, -1) {
			out = append(out, docLink{i + 1, m})
		}
	}
	return out
}

var schemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)

// anchors returns the anchors GitHub gives a document's headings:
// lowercase, punctuation other than - and _ dropped, spaces as -, and a
// -1, -2 suffix for repeats.
func anchors(md string) map[string]bool {
	hs := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, l := range strings.Split(md, "\n") {
		if fenceRE.MatchString(l) {
			fenced = !fenced
			continue
		}
		m := headingRE.FindStringSubmatch(l)
		if m == nil || fenced {
			continue
		}
		a := slug(m[1])
		if n := seen[a]; n > 0 {
			hs[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			hs[a] = true
		}
		seen[a]++
	}
	return hs
}

func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// linkProblems checks the links of docs (repository path to content): a
// relative link must name a file of the repository, and a #fragment a
// heading of the Markdown file it names; in README.md, a link must not
// leave the repository at all.
func linkProblems(docs map[string]string, exists func(rel string) bool) []string {
	var problems []string
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, l := range markdownLinks(docs[name]) {
			at := fmt.Sprintf("%s:%d", name, l.line)
			if schemeRE.MatchString(l.target) || strings.HasPrefix(l.target, "//") {
				if name == "README.md" {
					problems = append(problems, fmt.Sprintf("%s: links %s, outside the repository: README's links must work from a clone", at, l.target))
				}
				continue
			}
			file, frag, _ := strings.Cut(l.target, "#")
			target := name
			if file != "" {
				target = path.Clean(path.Join(path.Dir(name), file))
			}
			if target == ".." || strings.HasPrefix(target, "../") || strings.HasPrefix(file, "/") {
				problems = append(problems, fmt.Sprintf("%s: %s leaves the repository", at, l.target))
				continue
			}
			if !exists(target) {
				problems = append(problems, fmt.Sprintf("%s: %s: no file %s", at, l.target, target))
				continue
			}
			if frag == "" {
				continue
			}
			md, ok := docs[target]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %s: a #fragment of %s, which is not a Markdown document", at, l.target, target))
				continue
			}
			if !anchors(md)[frag] {
				problems = append(problems, fmt.Sprintf("%s: %s: %s has no heading with the anchor #%s", at, l.target, target, frag))
			}
		}
	}
	return problems
}

// TestDocLinks checks every link of README.md, the other Markdown files at
// the top and docs/*.md.
func TestDocLinks(t *testing.T) {
	root := repoRoot(t)
	docs := map[string]string{}
	for _, pattern := range []string{"*.md", "docs/*.md"} {
		matches, err := fs.Glob(os.DirFS(root), pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			b, err := os.ReadFile(filepath.Join(root, m))
			if err != nil {
				t.Fatal(err)
			}
			docs[m] = string(b)
		}
	}
	if _, ok := docs["README.md"]; !ok || len(docs) < 5 {
		t.Fatalf("read %d documents; want README.md and docs/*.md", len(docs))
	}
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
		return err == nil
	}
	n := 0
	for _, md := range docs {
		n += len(markdownLinks(md))
	}
	for _, p := range linkProblems(docs, exists) {
		t.Error(p)
	}
	t.Logf("%d documents, %d links", len(docs), n)
}

// TestDocLinksCanFail plants each kind of broken link among good ones.
func TestDocLinksCanFail(t *testing.T) {
	docs := map[string]string{
		"README.md": "# R\n\nSee [guide](docs/guide.md#the-prompt), [gone](docs/gone.md),\n" +
			"[bad anchor](docs/guide.md#nothing), [site](https://example.com/),\n" +
			"and https://example.org/ in text, but `https://in.code/` is fine.\n\n```\n[in a fence](nowhere.md)\n```\n",
		"docs/guide.md": "# Guide\n\n## The prompt\n\nBack to [README](../README.md#r), [out](../../x.md),\n" +
			"[self](#the-prompt), [web](https://example.com/) (fine outside README).\n\n" +
			"### `launch-url`\n\n[step](#launch-url) [Windows](#windows-the-msi-sccm-intune)\n\n## Windows: the MSI (SCCM, Intune)\n",
	}
	exists := func(rel string) bool { _, ok := docs[rel]; return ok }
	got := strings.Join(linkProblems(docs, exists), "\n")
	for _, want := range []string{
		"README.md:3: docs/gone.md: no file docs/gone.md",
		"README.md:4: docs/guide.md#nothing: docs/guide.md has no heading with the anchor #nothing",
		"README.md:4: links https://example.com/, outside the repository",
		"README.md:5: links https://example.org/, outside the repository",
		"docs/guide.md:5: ../../x.md leaves the repository",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing problem %q; got:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 5 {
		t.Errorf("want 5 problems, got %d:\n%s", n, got)
	}
}

// stepConstRE matches the declaration of a step the audit log can record:
// a constant named Step... with a string value (whitelist.StepNotHTTPS,
// descriptor.StepFetch, connector.StepTLS, policy.Step, ...).
var stepConstRE = regexp.MustCompile(`(?m)^\s*(?:const\s+)?Step[A-Za-z0-9]*\s+(?:[A-Za-z]+\s+)?=\s+"([a-z][a-z0-9-]*)"`)

// TestTroubleshootingCoversEveryStep: docs/troubleshooting.md has a heading
// for every step value declared in the product's code, so that whoever
// reads a step in the audit log finds it there.
func TestTroubleshootingCoversEveryStep(t *testing.T) {
	root := repoRoot(t)
	steps := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range stepConstRE.FindAllStringSubmatch(string(b), -1) {
			steps[m[1]] = filepath.ToSlash(rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk found the steps, not nothing: a few that must be there.
	for _, want := range []string{"not-https", "admin-only-refused", "descriptor-fetch", "policy", "tls", "proxy-auth", "launch-url", "launched"} {
		if _, ok := steps[want]; !ok {
			t.Fatalf("found no step %q in the code; is stepConstRE broken? found: %v", want, steps)
		}
	}
	doc, err := os.ReadFile(filepath.Join(root, filepath.FromSlash("docs/troubleshooting.md")))
	if err != nil {
		t.Fatal(err)
	}
	hs := headings(string(doc))
	for step, file := range steps {
		if !hs["`"+step+"`"] {
			t.Errorf("docs/troubleshooting.md has no heading ### `%s` (the step declared in %s): say what its messages mean and how to fix them", step, file)
		}
	}
	t.Logf("%d steps", len(steps))
}
