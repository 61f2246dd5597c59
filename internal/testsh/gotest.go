package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// rootWord marks a skip as one for want of root: the tests that need root
// say so in their skip reason (t.Skip("needs root: ...")).
var rootWord = regexp.MustCompile(`\broot\b`)

// filterGoTest copies go test -json from in to out as go test without -v
// prints it, writes the tests that skipped for want of root to skipsFile,
// and reports whether any test or package failed.
func filterGoTest(in io.Reader, out io.Writer, skipsFile string) (failed bool, err error) {
	type key struct{ pkg, test string }
	pending := map[key][]string{} // a running test's output, until it ends
	var skips []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if json.Unmarshal(line, &ev) != nil {
			fmt.Fprintf(out, "%s\n", line) // a build error is not JSON
			continue
		}
		k := key{ev.Package, ev.Test}
		switch {
		case ev.Action == "output" && ev.Test != "":
			pending[k] = append(pending[k], ev.Output)
		case ev.Action == "output":
			if !strings.HasPrefix(ev.Output, "=== ") && ev.Output != "PASS\n" {
				io.WriteString(out, ev.Output)
			}
		case ev.Action == "fail":
			failed = true
			if ev.Test != "" {
				io.WriteString(out, strings.Join(pending[k], ""))
				delete(pending, k)
			}
		case ev.Action == "skip" && ev.Test != "":
			for _, l := range pending[k] {
				if !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- ") && rootWord.MatchString(l) {
					skips = append(skips, ev.Package+" "+ev.Test)
					break
				}
			}
			delete(pending, k)
		case ev.Action == "pass" && ev.Test != "":
			delete(pending, k)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	var b strings.Builder
	for _, s := range skips {
		b.WriteString(s + "\n")
	}
	return failed, os.WriteFile(skipsFile, []byte(b.String()), 0o644)
}
