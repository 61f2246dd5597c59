//go:build !windows

package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Not built for Windows: it reads the source tree, which the Windows test
// process under Wine does not have; the commands' help is the same there.

// hintTexts returns the advice to a user that the module's production code
// builds: the values of constants, variables and struct fields whose name
// says hint or fix, and what functions so named return, keyed "file:line".
// A value built with + or fmt.Sprintf is read whole, with "%s" where a
// value is filled in at run time, and "fix += ..." continues the text the
// variable was declared with.
func hintTexts(t *testing.T, root string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	out := map[string]string{}
	named := func(name string) bool {
		n := strings.ToLower(name)
		return strings.Contains(n, "hint") || strings.HasPrefix(n, "fix")
	}
	var render func(e ast.Expr) (string, bool)
	render = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind == token.STRING {
				s, err := strconv.Unquote(e.Value)
				return s, err == nil
			}
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				x, okx := render(e.X)
				y, oky := render(e.Y)
				return x + y, okx || oky
			}
		case *ast.ParenExpr:
			return render(e.X)
		case *ast.CallExpr:
			if sel, ok := e.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Sprintf" || sel.Sel.Name == "Errorf") && len(e.Args) > 0 {
				return render(e.Args[0])
			}
		}
		return "%s", false
	}
	add := func(e ast.Expr, prefix string) string {
		text, ok := render(e)
		if ok {
			out[fset.Position(e.Pos()).String()] = prefix + text
		}
		return prefix + text
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "internal") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		held := map[string]string{} // what a hint variable was declared with
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if named(n.Name.Name) && n.Body != nil {
					ast.Inspect(n.Body, func(n ast.Node) bool {
						if r, ok := n.(*ast.ReturnStmt); ok {
							for _, e := range r.Results {
								add(e, "")
							}
						}
						return true
					})
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if named(id.Name) && i < len(n.Values) {
						held[id.Name] = add(n.Values[i], "")
					}
				}
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && named(id.Name) {
					add(n.Value, "")
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					id, ok := lhs.(*ast.Ident)
					if !ok || !named(id.Name) || i >= len(n.Rhs) {
						continue
					}
					switch n.Tok {
					case token.ADD_ASSIGN:
						add(n.Rhs[i], held[id.Name])
					case token.DEFINE:
						held[id.Name] = add(n.Rhs[i], "")
					default: // another branch's text: "+=" continues the first
						add(n.Rhs[i], "")
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// flagRE is a flag named in advice; commandRE the trustlaunch command before it.
var (
	flagRE    = regexp.MustCompile(`(^|[\s(/,])(--[a-z][a-z0-9-]*)`)
	commandRE = regexp.MustCompile(`trustlaunch ((?:[a-z][a-z-]*|%s)(?: [a-z][a-z-]*)?)`)
)

// flagsInHint returns each flag a hint names with the command it names
// for it ("" when it names none): the nearest "trustlaunch CMD [SUB]"
// before the flag.
func flagsInHint(text string) [][2]string {
	var out [][2]string
	for _, m := range flagRE.FindAllStringSubmatchIndex(text, -1) {
		flag := text[m[4]:m[5]]
		cmds := commandRE.FindAllStringSubmatch(text[:m[4]], -1)
		cmd := ""
		if len(cmds) > 0 {
			cmd = cmds[len(cmds)-1][1]
		}
		out = append(out, [2]string{cmd, flag})
	}
	return out
}

// TestHintFlagsExist: every flag that a hint or fix names comes with the
// command that takes it, and that command's --help lists it. A hint once
// told every user of open to "import the proxy's CA with --ca", a flag
// only connect has.
func TestHintFlagsExist(t *testing.T) {
	texts := hintTexts(t, filepath.Join("..", ".."))
	if len(texts) < 50 {
		t.Fatalf("found only %d hint texts; is the walk right?", len(texts))
	}
	checked := 0
	for pos, text := range texts {
		for _, cf := range flagsInHint(text) {
			cmd, flag := cf[0], cf[1]
			if cmd == "" {
				t.Errorf("%s: the hint names %s without the command that takes it: %q", pos, flag, text)
				continue
			}
			if strings.Contains(text, "%") && strings.Contains(cmd, "%") {
				continue // the command is filled in at run time
			}
			var stdout, stderr bytes.Buffer
			s := &stdio{stdin: bytes.NewReader(nil), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			args := append(strings.Fields(cmd), "--help")
			if code := run(t.Context(), args, s); code != exitOK {
				// "trustlaunch register --system": the second word is a
				// flag, not a subcommand; try the command alone.
				stdout.Reset()
				if code = run(t.Context(), []string{strings.Fields(cmd)[0], "--help"}, s); code != exitOK {
					t.Errorf("%s: the hint names trustlaunch %s, which has no --help (exit %d): %q", pos, cmd, code, text)
					continue
				}
			}
			if !regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(flag) + `\b`).MatchString(stdout.String()) {
				t.Errorf("%s: the hint names trustlaunch %s %s, which %s --help does not list: %q", pos, cmd, flag, cmd, text)
			}
			checked++
		}
	}
	if checked < 5 {
		t.Errorf("checked only %d flags in hints; is the pattern right?", checked)
	}
}

// TestHintFlagsCanFail: a flag without its command, and a flag the named
// command lacks, are both found.
func TestHintFlagsCanFail(t *testing.T) {
	for _, tc := range []struct {
		text string
		want [][2]string
	}{
		{"import the proxy's CA with --ca, or ask your administrator", [][2]string{{"", "--ca"}}},
		{"run: trustlaunch register --force (the other application stays)", [][2]string{{"register", "--force"}}},
		{"check it with trustlaunch connect --server-name, or --tls-min", [][2]string{{"connect", "--server-name"}, {"connect", "--tls-min"}}},
		{"no flag here - just a dash", nil},
	} {
		got := flagsInHint(tc.text)
		if len(got) != len(tc.want) {
			t.Errorf("flagsInHint(%q) = %q, want %q", tc.text, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("flagsInHint(%q) = %q, want %q", tc.text, got, tc.want)
			}
		}
	}
}
