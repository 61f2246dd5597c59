//go:build !windows

// Not built for Windows: these checks run the go command (`go list`), which
// the machine that builds has and the Windows test process does not (under
// Wine there is no go.exe). They read the source tree, so their result does
// not depend on the GOOS of the test binary, and the Linux run covers them.

package archtest

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/trustlaunch/trustlaunch"

// forbidden maps a package to module packages it must never depend on,
// directly or not. Imports point one way: cmd → launcher → {whitelist,
// connector, tui, platform}; tui may import whitelist; whitelist and connector
// never import tui or launcher; platform imports nothing of ours.
var forbidden = map[string][]string{
	"whitelist":         {"tui", "launcher", "connector", "cmd/trustlaunch"},
	"connector":         {"tui", "launcher", "whitelist", "cmd/trustlaunch"},
	"tui":               {"launcher", "connector", "cmd/trustlaunch"},
	"launcher":          {"cmd/trustlaunch"},
	"platform":          {"*"},
	"internal/safetext": {"*"},
	"internal/redact":   {"*"},
	"internal/testuser": {"*"},
	"internal/debpkg":   {"*"},
	"internal/demo":     {"cmd/trustlaunch", "tui"},
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}:{{join .Deps \" \"}}", module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, deps, _ := strings.Cut(line, ":")
		pkg, ok := strings.CutPrefix(path, module+"/")
		if !ok {
			continue
		}
		bad, ruled := forbidden[pkg]
		if !ruled {
			continue
		}
		checked++
		for _, dep := range strings.Fields(deps) {
			rel, ours := strings.CutPrefix(dep, module+"/")
			if !ours {
				continue
			}
			for _, b := range bad {
				if b == "*" || rel == b || strings.HasPrefix(rel, b+"/") {
					t.Errorf("%s depends on %s, which DESIGN.md forbids", pkg, rel)
				}
			}
		}
	}
	if checked < 3 {
		t.Fatalf("checked only %d packages; is the module path right?", checked)
	}
}

// testSupport are the packages that exist for tests; the binary must not
// contain them. proxytest, the in-process reference proxies, is allowed in
// exactly one package of the binary: internal/demo, the world of
// `trustlaunch demo`.
var testSupport = []string{"connector/proxytest", "internal/redact/redacttest", "internal/peers", "internal/testtmp", "internal/testuser", "internal/debpkg", "internal/testsh", "internal/browsertest"}

// testSupportImports returns one line for each import of a test-support
// package by a package of the binary. lines are go list's
// "importpath: import import ..." for the binary's dependencies.
func testSupportImports(lines []string) []string {
	var bad []string
	for _, line := range lines {
		path, imports, _ := strings.Cut(line, ":")
		pkg, ours := strings.CutPrefix(path, module+"/")
		if !ours {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			rel, ours := strings.CutPrefix(imp, module+"/")
			if !ours {
				continue
			}
			for _, ts := range testSupport {
				if rel != ts && !strings.HasPrefix(rel, ts+"/") {
					continue
				}
				if ts == "connector/proxytest" && pkg == "internal/demo" {
					continue
				}
				bad = append(bad, pkg+" imports "+rel)
			}
		}
	}
	return bad
}

// TestBinaryHasNoTestSupport: of the packages trustlaunch is built from, on
// every OS it is released for, only internal/demo imports
// connector/proxytest, and none imports the other test-support packages.
func TestBinaryHasNoTestSupport(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", module+"/cmd/trustlaunch")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list (GOOS=%s): %v\n%s", goos, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if !strings.Contains(string(out), module+"/internal/demo:") {
			t.Fatalf("GOOS=%s: internal/demo is not among the binary's packages; is the module path right?", goos)
		}
		for _, b := range testSupportImports(lines) {
			t.Errorf("GOOS=%s: %s, a test-support package (only internal/demo may import connector/proxytest)", goos, b)
		}
	}
}

// TestTestSupportRuleCanFail feeds the rule the tree as it was before the
// demo left launcher/.
func TestTestSupportRuleCanFail(t *testing.T) {
	lines := []string{
		module + "/launcher:" + module + "/connector " + module + "/connector/proxytest",
		module + "/internal/demo:" + module + "/connector/proxytest " + module + "/launcher",
		module + "/cmd/trustlaunch:" + module + "/internal/testtmp",
	}
	got := testSupportImports(lines)
	want := []string{"launcher imports connector/proxytest", "cmd/trustlaunch imports internal/testtmp"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("testSupportImports = %q, want %q", got, want)
	}
}

var insecureRE = regexp.MustCompile(`InsecureSkipVerify\s*[:=]\s*true`)

// TestForbiddenCalls fails on InsecureSkipVerify outside tests and the test
// proxies, and on os.Exit or log.Fatal outside a main.go: a library that exits
// skips the teardown of the emulator, the listener and the lock.
func TestForbiddenCalls(t *testing.T) {
	root := repoRoot(t)
	rules := []struct {
		re      *regexp.Regexp
		allowed func(rel string) bool
		why     string
	}{
		{insecureRE, func(rel string) bool {
			return strings.HasSuffix(rel, "_test.go") || strings.HasPrefix(rel, "connector/proxytest/")
		}, "certificates are always verified outside tests"},
		{regexp.MustCompile(`\bos\.Exit\(|\blog\.Fatal`), func(rel string) bool {
			return filepath.Base(rel) == "main.go" || strings.HasSuffix(rel, "_test.go")
		}, "only main exits"},
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			for _, r := range rules {
				if r.re.MatchString(line) && !r.allowed(rel) {
					t.Errorf("%s:%d: %s (%s)", rel, n, strings.TrimSpace(line), r.why)
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRulesCanFail makes sure the patterns above match what they must.
func TestRulesCanFail(t *testing.T) {
	for _, s := range []string{"cfg := &tls.Config{InsecureSkipVerify: true}", "c.InsecureSkipVerify = true"} {
		if !insecureRE.MatchString(s) {
			t.Errorf("pattern misses %q", s)
		}
	}
}

func repoRoot(t *testing.T) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
