//go:build !windows

// Not built for Windows: this test runs the go command, which the Windows
// test process under Wine does not have; the version it checks is the same
// there.

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestReleaseLdflags builds trustlaunch with goreleaser.yaml's ldflags, the
// templates filled in, and checks that version reports each value: -X
// names a variable that does not exist without a word, so a rename in
// version.go would otherwise ship releases that say "devel".
func TestReleaseLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds trustlaunch")
	}
	cfg, err := os.ReadFile("../../goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*- (-s -w -X main\..*)$`).FindSubmatch(cfg)
	if m == nil {
		t.Fatal("goreleaser.yaml: no ldflags line with -X main.…")
	}
	ldflags := strings.NewReplacer(
		"{{ .Version }}", "9.8.7",
		"{{ .FullCommit }}", "0123456789abcdef0123456789abcdef01234567",
		"{{ .CommitDate }}", "2026-12-01T10:00:00Z",
	).Replace(string(m[1]))
	if strings.Contains(ldflags, "{{") {
		t.Fatalf("goreleaser.yaml's ldflags use a template this test does not fill in: %s", ldflags)
	}
	bin := filepath.Join(testtmp.Dir(t), "trustlaunch")
	build := exec.CommandContext(t.Context(), "go", "build", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(t.Context(), bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"9.8.7","commit":"0123456789abcdef0123456789abcdef01234567","date":"2026-12-01T10:00:00Z",`
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("version --json of a release build:\n%s\nwant it to start %s", out, want)
	}
}
