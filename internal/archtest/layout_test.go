//go:build !windows

package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// docs/design.md "Package layout" is the map a new maintainer reads before
// the code: every package of the module has a line there, by its own path
// or under a parent's (connector/ covers connector/proxyauth), and every
// line names a package that exists. A package added without a line, or a
// line left behind by a package that moved, fails TestDesignLayout, so the
// map cannot drift from the tree the way it once did (it lacked the
// proxy's side and the macOS packages when they arrived).

// layoutEntries returns the paths the first code block of the "Package
// layout" section lists: the first word of each line that starts in the
// first column and holds a "/" ("launcher/", "internal/phase"), without
// its trailing "/". Indented lines continue a description; a first-column
// line without a "/" is a heading of the block.
func layoutEntries(doc string) []string {
	_, section, ok := strings.Cut(doc, "\n## Package layout\n")
	if !ok {
		return nil
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```\n")
	if !ok {
		return nil
	}
	block, _, _ = strings.Cut(block, "```")
	var entries []string
	for _, line := range strings.Split(block, "\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		word := strings.Fields(line)[0]
		if strings.Contains(word, "/") {
			entries = append(entries, strings.TrimSuffix(word, "/"))
		}
	}
	return entries
}

// under reports whether pkg is dir or inside it.
func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// layoutProblems compares the layout's entries with the module's packages
// (paths relative to the module).
func layoutProblems(entries, pkgs []string) []string {
	var bad []string
	for _, p := range pkgs {
		named := false
		for _, e := range entries {
			named = named || under(p, e)
		}
		if !named {
			bad = append(bad, p+` is not in docs/design.md "Package layout": add a line saying what it is`)
		}
	}
	for _, e := range entries {
		exists := false
		for _, p := range pkgs {
			exists = exists || under(p, e)
		}
		if !exists {
			bad = append(bad, `docs/design.md "Package layout" lists `+e+`, which holds no package: take its line out or correct it`)
		}
	}
	sort.Strings(bad)
	return bad
}

// TestDesignLayout: docs/design.md "Package layout" names every package of
// the module, and only packages that exist.
func TestDesignLayout(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, designDoc))
	if err != nil {
		t.Fatal(err)
	}
	entries := layoutEntries(string(doc))
	if len(entries) < 10 {
		t.Fatalf("found %d entries in %s \"Package layout\" (%q); has the section or its code block moved?", len(entries), designDoc, entries)
	}
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}", "./...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var pkgs []string
	for _, line := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(line, module+"/"); ok {
			pkgs = append(pkgs, rel)
		}
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages of %s", len(pkgs), module)
	}
	for _, b := range layoutProblems(entries, pkgs) {
		t.Error(b)
	}
}

// TestDesignLayoutCanFail feeds the rule a layout that lacks a package and
// keeps a line for one that is gone, and checks how it reads the block.
func TestDesignLayoutCanFail(t *testing.T) {
	doc := "# d\n\n## Package layout\n\n```\n" +
		"cmd/trustlaunch/     main\n" +
		"connector/           the tunnel; a line that wraps\n" +
		"                     under/it is not an entry\n" +
		"internal/phase       phases\n" +
		"internal/gone        moved away\n" +
		"test support:\n" +
		"internal/peers       real peers\n" +
		"```\n\nconnector → whitelist/not-an-entry\n\n## Next\n\n```\nother/block\n```\n"
	entries := layoutEntries(doc)
	if want := "cmd/trustlaunch connector internal/phase internal/gone internal/peers"; strings.Join(entries, " ") != want {
		t.Fatalf("layoutEntries = %q, want %q", entries, want)
	}
	pkgs := []string{"cmd/trustlaunch", "connector", "connector/proxyauth", "internal/phase", "internal/peers", "internal/peers/echod", "sessiontoken"}
	got := layoutProblems(entries, pkgs)
	want := []string{
		`docs/design.md "Package layout" lists internal/gone, which holds no package`,
		`sessiontoken is not in docs/design.md "Package layout"`,
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d: %q, want it to start %q", i, got[i], want[i])
		}
	}
}
