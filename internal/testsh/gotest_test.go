package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

func TestFilterGoTest(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"start","Package":"p"}`,
		`{"Action":"run","Package":"p","Test":"TestOK"}`,
		`{"Action":"output","Package":"p","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"output","Package":"p","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestOK"}`,
		`{"Action":"output","Package":"p","Test":"TestRoot","Output":"    x_test.go:9: needs root: creates a user\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestRoot"}`,
		`{"Action":"output","Package":"p","Test":"TestOther","Output":"    x_test.go:9: short mode\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestOther"}`,
		`{"Action":"output","Package":"p","Test":"TestBad","Output":"    x_test.go:12: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestBad"}`,
		`# p [p.test]`,
		`{"Action":"output","Package":"p","Output":"PASS\n"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\tp\t0.01s\n"}`,
		`{"Action":"fail","Package":"p"}`,
	}, "\n")
	skips := filepath.Join(testtmp.Dir(t), "skips")
	var out strings.Builder
	failed, err := filterGoTest(strings.NewReader(in), &out, skips)
	if err != nil {
		t.Fatal(err)
	}
	if !failed {
		t.Error("a failed test was not reported as a failure")
	}
	want := "    x_test.go:12: got 1, want 2\n# p [p.test]\nFAIL\tp\t0.01s\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	data, err := os.ReadFile(skips)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "p TestRoot\n" {
		t.Errorf("skips file %q, want the one test that skipped for root", data)
	}
}
