package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestHelpPages asks every command and subcommand for its page, as the
// man page and the completions do, and checks the shape help.go
// describes: a first paragraph, a Usage: block naming the command, an
// Examples: block running it, and every flag with a meaning.
func TestHelpPages(t *testing.T) {
	pages, err := helpPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range pages {
		seen[p.path] = true
		name := strings.TrimSpace("trustlaunch " + p.path)
		sec := helpSections(p.text)
		if sec.about == "" {
			t.Errorf("%s: no paragraph before Usage:", name)
		}
		if !strings.Contains(sec.usage, name+" ") {
			t.Errorf("%s: its Usage: block does not name it:\n%s", name, sec.usage)
		}
		if !strings.Contains(sec.examples, name) && p.path != "" {
			t.Errorf("%s: no Examples: block running it", name)
		}
		if p.flags != nil {
			p.flags.VisitAll(func(f *pflag.Flag) {
				if strings.TrimSpace(f.Usage) == "" {
					t.Errorf("%s --%s: no meaning", name, f.Name)
				}
			})
		}
		for _, sub := range p.subs {
			if sub.summary == "" {
				t.Errorf("%s %s: no summary", name, sub.name)
			}
		}
	}
	for _, c := range commands() {
		if !seen[c.name] {
			t.Errorf("trustlaunch %s: no help page", c.name)
		}
	}
	for _, want := range []string{"whitelist explain", "descriptor verify", "policy check"} {
		if !seen[want] {
			t.Errorf("trustlaunch %s: no help page of its own", want)
		}
	}
}

// TestHelpFits80Columns: every line of every page, flags included, but
// the examples' command lines (a link is as long as it is), fits a
// terminal of 80 columns.
func TestHelpFits80Columns(t *testing.T) {
	pages, err := helpPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		text := p.text
		if p.flags != nil {
			text += "\nFlags:\n" + flagUsages(p.flags)
		}
		inExamples := false
		for _, l := range strings.Split(text, "\n") {
			if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") {
				inExamples = strings.HasPrefix(l, "Example")
			}
			if len([]rune(l)) > helpWidth && !(inExamples || strings.HasPrefix(l, "  trustlaunch ")) {
				t.Errorf("trustlaunch %s --help: a line of %d columns: %s", p.path, len([]rune(l)), l)
			}
		}
	}
}

func TestSuggest(t *testing.T) {
	cmds := []string{"open", "demo", "connect", "whitelist", "policy", "descriptor", "register", "unregister", "log", "version"}
	for _, tc := range []struct {
		word string
		want []string
	}{
		{"opne", []string{"open"}}, // a swap is one edit
		{"OPEN", []string{"open"}}, // case is ignored
		{"regster", []string{"register"}},
		{"lgo", []string{"log"}},
		{"reg", []string{"register"}}, // the start of one
		{"un", []string{"unregister"}},
		{"frobnicate", nil},
		{"x", nil},
		{"conect", []string{"connect"}},
		{"versions", []string{"version"}},
	} {
		if got := suggest(tc.word, cmds); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestBuildInfoFrom(t *testing.T) {
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/trustlaunch/trustlaunch", Version: "v0.0.0-20261207194538-b21852b2d6a7+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "b21852b2d6a7583bbaeee9a09d0b3bdad2b44184"},
			{Key: "vcs.time", Value: "2026-12-07T19:45:38Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	devel := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	for _, tc := range []struct {
		name                        string
		bi                          *debug.BuildInfo
		ldVersion, ldCommit, ldDate string
		want                        buildInfo
	}{
		{"go install from a clone", stamped, "", "", "",
			buildInfo{Version: "v0.0.0-20261207194538-b21852b2d6a7+dirty", Commit: "b21852b2d6a7583bbaeee9a09d0b3bdad2b44184", Modified: true, Date: "2026-12-07T19:45:38Z", Go: "go1.26.8"}},
		{"release: ldflags win", stamped, "1.2.0", "0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z",
			buildInfo{Version: "1.2.0", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-01T10:00:00Z", Go: "go1.26.8"}},
		{"no VCS stamp", devel, "", "", "", buildInfo{Version: "devel", Go: "go1.26.8"}},
		{"goreleaser without git", devel, "0.0.1-snapshot", "none", "0001-01-01T00:00:00Z", buildInfo{Version: "0.0.1-snapshot", Go: "go1.26.8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := buildInfoFrom(tc.bi, tc.ldVersion, tc.ldCommit, tc.ldDate)
			got.OS, got.Arch = "", ""
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
