//go:build !windows

package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// A function of more than maxFuncLines lines does more than one thing; the
// launch pipeline once sat in one function of 290 lines where each step's
// failure was reported by hand, and two reports drifted. longFuncs lists the
// production functions that are longer, each with the length it may not
// exceed: the list only shrinks. A function that has been split leaves it
// (the test says so), and none may pass hardFuncLines.
const (
	maxFuncLines  = 80
	hardFuncLines = 120
)

// longFuncs maps "dir/file.go:Func" (methods as "Type.Method") to the
// length a listed function may not exceed.
var longFuncs = map[string]int{
	"platform/register_windows.go:checkRegistration": 105,
	"internal/peers/squid.go:StartSquid":             87,
	"launcher/detect.go:Detect":                      95,
	"cmd/trustlaunch/open.go:runLaunch":              91,
	"platform/register_linux.go:register":            89,
	"cmd/trustlaunch/descriptor.go:descVerify":       84,
	"connector/serve.go:Connector.ServePreDialed":    83,
	"connector/peer_linux.go:socketInfo":             82,
}

// funcLengths returns the length in lines of every function and method
// with a body in src, keyed "file:Func" or "file:Type.Method".
func funcLengths(fset *token.FileSet, file string, src any) (map[string]int, error) {
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) == 1 {
			name = recvName(fd.Recv.List[0].Type) + "." + name
		}
		out[file+":"+name] = fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
	}
	return out, nil
}

// recvName is a receiver's type name without its pointer and type
// parameters.
func recvName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return recvName(t.X)
	case *ast.IndexExpr:
		return recvName(t.X)
	case *ast.IndexListExpr:
		return recvName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

// lengthProblems compares measured lengths with the allow-list.
func lengthProblems(lengths, allowed map[string]int) []string {
	var bad []string
	for fn, n := range lengths {
		limit, listed := allowed[fn]
		switch {
		case n > hardFuncLines:
			bad = append(bad, fmt.Sprintf("%s is %d lines, over the hard limit of %d: split it into named steps", fn, n, hardFuncLines))
		case n > maxFuncLines && !listed:
			bad = append(bad, fmt.Sprintf("%s is %d lines, over %d: split it into named steps", fn, n, maxFuncLines))
		case listed && n > limit:
			bad = append(bad, fmt.Sprintf("%s grew to %d lines; longFuncs allows it %d, and the list only shrinks", fn, n, limit))
		}
	}
	for fn, limit := range allowed {
		n, ok := lengths[fn]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s (listed at %d lines) is gone: take it off longFuncs", fn, limit))
		case n <= maxFuncLines:
			bad = append(bad, fmt.Sprintf("%s (listed at %d lines) is now %d lines: take it off longFuncs", fn, limit, n))
		}
	}
	sort.Strings(bad)
	return bad
}

// walkProductionGo calls fn with each production Go file under root (not
// a test, not below testdata or a dot directory), named by its slash path
// relative to root.
func walkProductionGo(root string, fn func(rel string, src []byte) error) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		return fn(filepath.ToSlash(rel), src)
	})
}

// TestFunctionLength holds the production code to functions of at most
// maxFuncLines lines, but for the shrinking list longFuncs.
func TestFunctionLength(t *testing.T) {
	root := repoRoot(t)
	fset := token.NewFileSet()
	lengths := map[string]int{}
	err := walkProductionGo(root, func(rel string, src []byte) error {
		fl, err := funcLengths(fset, rel, src)
		if err != nil {
			return err
		}
		for k, v := range fl {
			lengths[k] = v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lengths) < 500 {
		t.Fatalf("measured only %d functions under %s; is the walk right?", len(lengths), root)
	}
	for _, b := range lengthProblems(lengths, longFuncs) {
		t.Error(b)
	}
}

// TestFunctionLengthCanFail feeds the rule a file of each kind it must catch.
func TestFunctionLengthCanFail(t *testing.T) {
	body := func(n int) string { return strings.Repeat("\t_ = 0\n", n-2) }
	src := "package p\n\nfunc short() {\n" + body(10) + "}\n\n" +
		"func long() {\n" + body(maxFuncLines+1) + "}\n\n" +
		"type T[K any] struct{}\n\nfunc (t *T[K]) huge() {\n" + body(hardFuncLines+1) + "}\n\n" +
		"func listed() {\n" + body(maxFuncLines+5) + "}\n\n" +
		"func split() {\n" + body(20) + "}\n"
	lengths, err := funcLengths(token.NewFileSet(), "p/p.go", src)
	if err != nil {
		t.Fatal(err)
	}
	if lengths["p/p.go:long"] != maxFuncLines+1 || lengths["p/p.go:T.huge"] != hardFuncLines+1 {
		t.Fatalf("lengths %v", lengths)
	}
	got := lengthProblems(lengths, map[string]int{"p/p.go:listed": maxFuncLines + 2, "p/p.go:split": 90, "p/p.go:T.huge": 200, "p/p.go:vanished": 90})
	want := []string{"p/p.go:T.huge is 121 lines, over the hard limit", "p/p.go:listed grew to 85 lines", "p/p.go:long is 81 lines, over 80", "p/p.go:split (listed at 90 lines) is now 20 lines", "p/p.go:vanished (listed at 90 lines) is gone"}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d: %q, want it to start %q", i, got[i], want[i])
		}
	}
}
