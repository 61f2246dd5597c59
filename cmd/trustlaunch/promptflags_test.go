package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/tui"
)

// helpForm is one way a command line reaches a flag set: a command of the
// table, or a hidden form open runs itself as.
type helpForm struct {
	name string
	help func(ctx context.Context, s *stdio) int // runs the form with --help
}

// helpForms are every command of the table and every hidden form that
// parses flags, each run with --help. __in-terminal is not among them: its
// arguments are the emulator's command line, which it passes on unparsed.
func helpForms() []helpForm {
	var forms []helpForm
	for _, c := range commands() {
		forms = append(forms, helpForm{c.name, func(ctx context.Context, s *stdio) int { return c.run(ctx, s, []string{"--help"}) }})
	}
	forms = append(forms, helpForm{promptWindowCommand, func(ctx context.Context, s *stdio) int {
		return run(ctx, []string{promptWindowCommand, "--help"}, s)
	}})
	return append(forms, osHelpForms()...)
}

// promptFlagLines returns what a --help output says of each of the
// prompt's flags, its wrapped lines joined and runs of spaces made one: the
// help aligns the descriptions to the longest flag of each command, and
// wraps them at 80 columns.
func promptFlagLines(help string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(help, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 0:
			in = false
		case f[0] == "--no-tui" || f[0] == "--prompt-timeout":
			lines = append(lines, strings.Join(f, " "))
			in = true
		case strings.HasPrefix(f[0], "-"):
			in = false
		case in: // a wrapped description
			lines[len(lines)-1] += " " + strings.Join(f, " ")
		}
	}
	return lines
}

// TestPromptFlagsDefinedOnce: every command that takes the trust prompt's
// flags shows them with the same help, and the default time is the
// prompt's own. A command that defined them again, with its own default
// or wording, fails here.
func TestPromptFlagsDefinedOnce(t *testing.T) {
	var want []string
	prompting := []string{"open", "demo", promptWindowCommand}
	prompting = append(prompting, osPromptingForms()...)
	var have []string
	for _, f := range helpForms() {
		var out, errOut bytes.Buffer
		s := &stdio{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		if code := f.help(t.Context(), s); code != exitOK {
			t.Fatalf("%s --help: exit %d, stderr %q", f.name, code, errOut.String())
		}
		lines := promptFlagLines(out.String())
		if len(lines) == 0 {
			continue
		}
		have = append(have, f.name)
		if want == nil {
			want = lines
			continue
		}
		if !slices.Equal(lines, want) {
			t.Errorf("%s --help shows the prompt's flags as\n\t%s\nother commands as\n\t%s", f.name, strings.Join(lines, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
	for _, name := range prompting {
		if !slices.Contains(have, name) {
			t.Errorf("%s --help does not show the prompt's flags", name)
		}
	}
	if len(want) != 2 || !strings.HasPrefix(want[1], "--prompt-timeout") || !strings.HasSuffix(want[1], "(default "+shortDuration(tui.DefaultTimeout)+")") {
		t.Errorf("the prompt's flags are shown as %q; want --no-tui, then --prompt-timeout with the prompt's default (%s)", want, tui.DefaultTimeout)
	}
}
