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
// directly or not (docs/design.md "Package layout"). Imports point one way:
// cmd → launcher → {descriptor, policy, whitelist, connector, platform};
// cmd wires tui, and the launcher never imports it (it takes a
// whitelist.Prompter and a Status callback); policy → descriptor (a
// *policy.Policy is the descriptor.Publishers that verifies signatures, so
// descriptor never needs the policy); tui may import whitelist; whitelist
// and connector never import tui or launcher; platform and the phase
// vocabulary import nothing of ours.
var forbidden = map[string][]string{
	"whitelist":         {"tui", "launcher", "connector", "cmd/trustlaunch"},
	"connector":         {"tui", "launcher", "whitelist", "cmd/trustlaunch"},
	"tui":               {"launcher", "connector", "cmd/trustlaunch"},
	"launcher":          {"tui", "cmd/trustlaunch"},
	"descriptor":        {"launcher", "tui", "cmd/trustlaunch", "policy"},
	"policy":            {"launcher", "tui", "cmd/trustlaunch"},
	"link":              {"launcher", "tui", "cmd/trustlaunch", "policy"},
	"audit":             {"launcher", "tui", "cmd/trustlaunch", "policy"},
	"platform":          {"*"},
	"internal/safetext": {"*"},
	"internal/redact":   {"*"},
	"internal/tomlpos":  {"*"},
	"internal/phase":    {"*"},
	"internal/plural":   {"*"},
	"internal/oslog":    {"*"},
	"internal/xnu":      {"*"},
	"internal/testuser": {"*"},
	"internal/debpkg":   {"*"},
	"internal/demo":     {"cmd/trustlaunch", "tui"},
	// The PAC evaluator runs in a child process of its own: it links
	// none of the launch, nor the connector whose proxy it chooses.
	"internal/pac": {"launcher", "tui", "descriptor", "policy", "whitelist", "connector", "cmd/trustlaunch"},
	// The proxy's side: the token check runs on proxy hosts, beside
	// Squid, and links none of the client (its launcher, descriptor fetch,
	// policy, whitelist, platform code or user interface).
	"internal/jws":               proxySide,
	"sessiontoken":               proxySide,
	"internal/squidacl":          proxySide,
	"cmd/trustlaunch-tokencheck": proxySide,
}

// proxySide is what the proxy's side of trustlaunch never links: the
// client, and the packages that exist for tests.
var proxySide = append([]string{"launcher", "tui", "descriptor", "policy", "whitelist", "connector", "platform", "cmd/trustlaunch", "internal/demo"}, testSupport...)

// forbiddenDeps returns one line for each dependency the forbidden map
// rules out, and how many ruled packages it saw. lines are go list's
// "importpath:dep dep ..." for the module's packages.
func forbiddenDeps(lines []string) (bad []string, checked int) {
	for _, line := range lines {
		path, deps, _ := strings.Cut(line, ":")
		pkg, ok := strings.CutPrefix(path, module+"/")
		if !ok {
			continue
		}
		rules, ruled := forbidden[pkg]
		if !ruled {
			continue
		}
		checked++
		for _, dep := range strings.Fields(deps) {
			rel, ours := strings.CutPrefix(dep, module+"/")
			if !ours {
				continue
			}
			for _, b := range rules {
				if b == "*" || rel == b || strings.HasPrefix(rel, b+"/") {
					bad = append(bad, pkg+" depends on "+rel)
				}
			}
		}
	}
	return bad, checked
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}:{{join .Deps \" \"}}", module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	bad, checked := forbiddenDeps(strings.Split(strings.TrimSpace(string(out)), "\n"))
	for _, b := range bad {
		t.Errorf("%s, which docs/design.md \"Package layout\" forbids", b)
	}
	if checked < len(forbidden) {
		t.Fatalf("checked only %d of the %d ruled packages; is the module path right, or is a ruled package gone?", checked, len(forbidden))
	}
}

// TestImportRulesCanFail feeds the rules the arrows this layout forbids:
// the descriptor reaching for the policy type to verify a signature, the
// policy or the descriptor importing the launcher, through a dependency
// as well, and the launcher drawing its own prompt.
func TestImportRulesCanFail(t *testing.T) {
	for _, tt := range []struct {
		line, want string
	}{
		{module + "/descriptor:" + module + "/connector " + module + "/policy", "descriptor depends on policy"},
		{module + "/descriptor:" + module + "/launcher", "descriptor depends on launcher"},
		{module + "/descriptor:" + module + "/tui", "descriptor depends on tui"},
		{module + "/policy:" + module + "/descriptor " + module + "/launcher", "policy depends on launcher"},
		{module + "/policy:" + module + "/cmd/trustlaunch", "policy depends on cmd/trustlaunch"},
		{module + "/internal/tomlpos:" + module + "/internal/safetext", "internal/tomlpos depends on internal/safetext"},
		{module + "/launcher:" + module + "/descriptor " + module + "/tui", "launcher depends on tui"},
		{module + "/internal/phase:" + module + "/whitelist", "internal/phase depends on whitelist"},
		// The helper on a proxy host reaching for the descriptor's fetch code.
		{module + "/cmd/trustlaunch-tokencheck:" + module + "/sessiontoken " + module + "/descriptor", "cmd/trustlaunch-tokencheck depends on descriptor"},
		{module + "/sessiontoken:" + module + "/internal/jws " + module + "/platform", "sessiontoken depends on platform"},
	} {
		bad, _ := forbiddenDeps([]string{tt.line})
		if len(bad) != 1 || bad[0] != tt.want {
			t.Errorf("forbiddenDeps(%q) = %q, want [%q]", tt.line, bad, tt.want)
		}
	}
	// The arrows the layout allows stay allowed.
	for _, line := range []string{
		module + "/policy:" + module + "/descriptor " + module + "/whitelist " + module + "/platform",
		module + "/launcher:" + module + "/descriptor " + module + "/policy",
		module + "/cmd/trustlaunch-tokencheck:" + module + "/internal/squidacl " + module + "/sessiontoken " + module + "/internal/jws " + module + "/internal/safetext",
	} {
		if bad, _ := forbiddenDeps([]string{line}); len(bad) != 0 {
			t.Errorf("forbiddenDeps(%q) = %q, want none", line, bad)
		}
	}
}

// maxLauncherLines bounds launcher/'s non-test, non-generated lines, so
// that it keeps to its jobs: the pipeline's steps, emulator profiles and
// processes, detection. Those take about 3,800 lines; 4,000 leaves them
// room to grow a little and fails when another job moves in. A feature
// that needs more should first ask whether it belongs in a package of its
// own, as the descriptor, the admin policy, the link parser and the audit
// record did (docs/design.md "Package layout").
const maxLauncherLines = 4000

// generatedRE is the marker of a generated Go file (go help generate).
var generatedRE = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// sourceLines counts the lines of the files that are neither tests nor
// generated. files maps a file name to its content.
func sourceLines(files map[string]string) int {
	n := 0
	for name, text := range files {
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || generatedRE.MatchString(text) {
			continue
		}
		n += strings.Count(text, "\n")
		if text != "" && !strings.HasSuffix(text, "\n") {
			n++
		}
	}
	return n
}

// TestLauncherSize keeps launcher/ to its jobs (maxLauncherLines).
func TestLauncherSize(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "launcher")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = string(b)
		}
	}
	n := sourceLines(files)
	if n == 0 {
		t.Fatalf("no source lines in %s", dir)
	}
	if n > maxLauncherLines {
		t.Errorf("launcher/ has %d lines of non-test code, over the bound of %d: move a job out (see maxLauncherLines)", n, maxLauncherLines)
	}
	t.Logf("launcher/: %d lines of non-test, non-generated code (bound %d)", n, maxLauncherLines)
}

// TestLauncherSizeCanFail: the count takes code, leaves tests and generated
// files out, and goes over the bound.
func TestLauncherSizeCanFail(t *testing.T) {
	big := strings.Repeat("x\n", maxLauncherLines+1)
	files := map[string]string{
		"launch.go":      "package launcher\n" + big,
		"launch_test.go": big,
		"zz_gen.go":      "// Code generated by stringer; DO NOT EDIT.\n" + big,
		"notes.txt":      big,
		"short.go":       "package launcher",
	}
	if got, want := sourceLines(files), maxLauncherLines+3; got != want {
		t.Fatalf("sourceLines = %d, want %d", got, want)
	}
}

// testSupport are the packages that exist for tests; the binary must not
// contain them. proxytest, the in-process reference proxies, is allowed in
// exactly one package of the binary: internal/demo, the world of
// `trustlaunch demo`.
var testSupport = []string{"connector/proxytest", "internal/jws/jwstest", "internal/redact/redacttest", "internal/oslog/oslogtest", "internal/peers", "internal/testtmp", "internal/testuser", "internal/debpkg", "internal/testsh", "internal/browsertest", "internal/testadmin", "internal/testnet"}

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
