//go:build linux

// Linux only: these read the tree with go/parser and ask apt and dpkg, which
// the machine that runs test.sh has.

package main

import (
	"bufio"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/trustlaunch/trustlaunch/internal/debpkg"
)

// notPrograms are command words of the scripts that name no program a
// package installs: shell builtins and keywords, and our own binaries.
var notPrograms = map[string]bool{
	// bash builtins the scripts use.
	".": true, ":": true, "[": true, "cd": true, "echo": true, "printf": true,
	"read": true, "set": true, "exit": true, "return": true, "shift": true,
	"local": true, "export": true, "unset": true, "trap": true, "wait": true,
	"kill": true, "test": true, "true": true, "false": true, "exec": true,
	"command": true, "source": true, "eval": true, "declare": true,
	"readonly": true, "type": true, "pwd": true, "break": true, "continue": true,
	"shopt": true, "usage": true,
	// Ours: built by the tests and scripts themselves.
	"trustlaunch":            true,
	"trustlaunch-tokencheck": true,
}

// wrappers run the program named after their own options.
var wrappers = map[string]bool{"exec": true, "command": true, "timeout": true, "nice": true, "env": true, "setsid": true, "unshare": true}

// TestEveryProgramRecorded derives the programs the tests and scripts run
// from the source, and fails for each one internal/debpkg does not record:
// the install check then covers every one of them.
func TestEveryProgramRecorded(t *testing.T) {
	root := repoRoot(t)
	found := map[string]string{} // program -> where it was first seen
	add := func(name, where string) {
		if _, ok := found[name]; !ok {
			found[name] = where
		}
	}
	goPrograms(t, root, add)
	scriptPrograms(t, root, add)
	testscriptPrograms(t, root, add)

	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := debpkg.Programs[n]; !ok {
			t.Errorf("%s runs %q, which internal/debpkg does not record: add it with the Debian package that provides it (and that package to test.sh's DEBIAN_PACKAGES)", found[n], n)
		}
	}
	// The derivation must see the peers it is there to guard; if it finds
	// none, the parsing broke, not the tree.
	for _, must := range []string{"squid", "wineboot", "s3270", "chromium"} {
		if _, ok := found[must]; !ok {
			t.Errorf("the derivation did not find %q, which the suite runs: the scan is broken", must)
		}
	}
	t.Logf("%d programs found in the source, %d recorded", len(found), len(debpkg.Programs))
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", dir, err)
	}
	return dir
}

// walk calls fn for every file below root, skipping caches and VCS data.
func walk(t *testing.T, root string, fn func(path string, d fs.DirEntry)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			fn(path, d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// goPrograms finds the string literals that name a program in Go files built
// for linux (the OS the suite runs on; Windows programs run inside Wine):
// exec.Command's first argument, exec.CommandContext's second,
// exec.LookPath's and RequireBinary's.
func goPrograms(t *testing.T, root string, add func(name, where string)) {
	ctx := build.Default
	ctx.GOOS = "linux"
	ctx.GOARCH = "amd64"
	ctx.CgoEnabled = false
	fset := token.NewFileSet()
	walk(t, root, func(path string, d fs.DirEntry) {
		if !strings.HasSuffix(path, ".go") {
			return
		}
		if ok, err := ctx.MatchFile(filepath.Dir(path), d.Name()); err != nil || !ok {
			return
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			arg := -1
			switch name := calleeName(call.Fun); name {
			case "exec.Command", "exec.LookPath":
				arg = 0
			case "exec.CommandContext":
				arg = 1
			case "RequireBinary", "peers.RequireBinary":
				arg = 1
			}
			if arg < 0 || len(call.Args) <= arg {
				return true
			}
			lit, ok := call.Args[arg].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			if !notPrograms[s] {
				rel, _ := filepath.Rel(root, fset.Position(lit.Pos()).String())
				add(s, rel)
			}
			return true
		})
	})
}

func calleeName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
	}
	return ""
}

// scriptPrograms finds the command words of test.sh and every shell script
// under scripts/ and packaging/, parsed with a real shell parser. A word
// that is not a literal (a variable such as "$wine64") names no program.
func scriptPrograms(t *testing.T, root string, add func(name, where string)) {
	var scripts []string
	walk(t, root, func(path string, d fs.DirEntry) {
		rel, _ := filepath.Rel(root, path)
		if rel != "test.sh" && !strings.HasPrefix(rel, "scripts/") && !strings.HasPrefix(rel, "packaging/") && !strings.HasPrefix(rel, ".ci/") {
			return
		}
		// The macOS package's scripts run on a Mac, under installer
		// (launchctl, BSD stat); the tests only parse them (sh -n).
		if strings.HasPrefix(rel, "packaging/macos/scripts/") {
			return
		}
		if isShellScript(path) {
			scripts = append(scripts, path)
		}
	})
	if len(scripts) < 5 {
		t.Fatalf("found only %d shell scripts; is the root right?", len(scripts))
	}
	// Functions are gathered from every script first: lib.sh's are called
	// by the scripts that source it.
	files := map[string]*syntax.File{}
	functions := map[string]bool{}
	for _, path := range scripts {
		rel, _ := filepath.Rel(root, path)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		file, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(f, rel)
		f.Close()
		if err != nil {
			t.Fatalf("%v", err)
		}
		files[rel] = file
		syntax.Walk(file, func(n syntax.Node) bool {
			if fn, ok := n.(*syntax.FuncDecl); ok {
				functions[fn.Name.Value] = true
			}
			return true
		})
	}
	for rel, file := range files {
		syntax.Walk(file, func(n syntax.Node) bool {
			call, ok := n.(*syntax.CallExpr)
			if !ok {
				return true
			}
			for i := 0; i < len(call.Args); i++ {
				w := call.Args[i].Lit()
				if w == "" {
					return true // not a literal word: a variable, a quoted path
				}
				if wrappers[w] {
					i = skipWrapperArgs(w, call.Args, i)
					continue
				}
				// A relative path (scripts/wine/prefix) is ours; an
				// absolute one (/usr/bin/python3) is a program.
				if !notPrograms[w] && !functions[w] && !strings.Contains(w, "=") &&
					(!strings.Contains(w, "/") || filepath.IsAbs(w)) {
					add(w, rel+":"+call.Pos().String())
				}
				return true
			}
			return true
		})
	}
}

// skipWrapperArgs returns the index of the last word that belongs to the
// wrapper at i (its options and, for timeout and nice, their values).
func skipWrapperArgs(w string, args []*syntax.Word, i int) int {
	for i+1 < len(args) {
		next := args[i+1].Lit()
		switch {
		case next == "--":
			return i + 1
		case strings.HasPrefix(next, "-"):
			i++
			if (w == "nice" && next == "-n") || (w == "timeout" && (next == "-k" || next == "-s")) || (w == "env" && next == "-u") {
				i++ // the option's value
			}
		case w == "timeout" && regexp.MustCompile(`^[0-9.]+[smhd]?$`).MatchString(next):
			return i + 1
		case w == "env" && strings.Contains(next, "="):
			i++
		default:
			return i
		}
	}
	return i
}

func isShellScript(path string) bool {
	if strings.HasSuffix(path, ".sh") {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.HasPrefix(line, "#!") && (strings.Contains(line, "bash") || strings.HasSuffix(strings.TrimSpace(line), "/sh"))
}

var execLine = regexp.MustCompile(`^(?:\[[^]]*\]\s+)*!?\s*exec\s+(\S+)`)

// testscriptPrograms finds the programs cmd/trustlaunch's testscripts run
// with exec.
func testscriptPrograms(t *testing.T, root string, add func(name, where string)) {
	walk(t, root, func(path string, d fs.DirEntry) {
		if !strings.HasSuffix(path, ".txtar") && !strings.HasSuffix(path, ".txt") || !strings.Contains(path, "/testdata/") {
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "-- ") {
				break // the archive's files follow the script
			}
			if m := execLine.FindStringSubmatch(line); m != nil && !notPrograms[m[1]] && !strings.HasPrefix(m[1], "$") {
				add(m[1], rel+":"+strconv.Itoa(i+1))
			}
		}
	})
}
