//go:build linux

// Linux only, as internal/peers: the shells run here, bash and zsh in
// tmux like the prompt's tests (prompt_e2e_test.go), fish through its own
// completion engine.

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// completionScript returns the script "trustlaunch completion SHELL"
// prints, written to dir/name.
func completionScript(t *testing.T, shell, dir, name string) string {
	t.Helper()
	var out, errb bytes.Buffer
	s := &stdio{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := run(t.Context(), []string{"completion", shell}, s); code != exitOK {
		t.Fatalf("completion %s: exit %d: %s", shell, code, errb.String())
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// shellTerm starts an interactive shell in tmux and waits for its prompt.
func shellTerm(t *testing.T, argv ...string) *term {
	t.Helper()
	tm := startTerm(t, []string{"PS1=ready$ ", "PROMPT=ready$ ", "TERM=xterm-256color", "HOME=" + testtmp.Dir(t)}, argv...)
	tm.waitFor("the shell's prompt", 20*time.Second, func(s string) bool { return strings.Contains(s, "ready$") })
	return tm
}

// complete types line, presses Tab, and waits until the line reads want.
func (tm *term) complete(line, want string) {
	tm.t.Helper()
	tm.keys("C-u")
	tm.keys("-l", line)
	tm.keys("Tab")
	tm.waitFor("completion to "+want, 10*time.Second, func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if strings.TrimRight(l, " ") == strings.TrimRight("ready$ "+want, " ") {
				return true
			}
		}
		return false
	})
}

// completionCases are lines typed in a shell and what Tab makes of them:
// a command, a subcommand, a flag, and a file where the command takes one.
// The shell runs in the directory completionFiles made, so that the lines
// stay short of the terminal's width.
func completionCases() [][2]string {
	return [][2]string{
		{"trustlaunch whi", "trustlaunch whitelist "},
		{"trustlaunch whitelist expl", "trustlaunch whitelist explain "},
		{"trustlaunch descriptor ve", "trustlaunch descriptor verify "},
		{"trustlaunch open --no-t", "trustlaunch open --no-tui "},
		{"trustlaunch whitelist show --user-w", "trustlaunch whitelist show --user-whitelist "},
		{"trustlaunch whitelist check lis", "trustlaunch whitelist check list.txt "},
		{"trustlaunch whitelist show --admin-whitelist lis", "trustlaunch whitelist show --admin-whitelist list.txt "},
	}
}

func completionFiles(t *testing.T) string {
	dir := testtmp.Dir(t)
	if err := os.WriteFile(filepath.Join(dir, "list.txt"), []byte("portal.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCompletionBash loads the bash script as the package installs it
// (a file bash sources) in an interactive bash and completes with Tab.
func TestCompletionBash(t *testing.T) {
	bash := peers.RequireBinary(t, "bash")
	script := completionScript(t, "bash", testtmp.Dir(t), "trustlaunch")
	tabComplete(t, []string{bash, "--norc", "--noprofile", "-i"},
		"source "+script+" && complete -p trustlaunch", "complete -F _trustlaunch trustlaunch")
}

// TestCompletionZsh installs the zsh script as the package does, as
// _trustlaunch in a directory of $fpath that compinit reads, and
// completes with Tab in an interactive zsh.
func TestCompletionZsh(t *testing.T) {
	zsh := peers.RequireBinary(t, "zsh")
	dir := testtmp.Dir(t)
	completionScript(t, "zsh", dir, "_trustlaunch")
	tabComplete(t, []string{zsh, "-f", "-i"},
		"fpath=("+dir+" $fpath); autoload -Uz compinit && compinit -u -D && print loaded=$_comps[trustlaunch]", "loaded=_trustlaunch")
}

// tabComplete starts an interactive shell in tmux, in the directory
// completionFiles made, runs load there, waits for it to print loaded, and
// presses Tab on each of completionCases.
func tabComplete(t *testing.T, shell []string, load, loaded string) {
	t.Helper()
	peers.RequireBinary(t, "tmux")
	files := completionFiles(t)
	tm := shellTerm(t, shell...)
	tm.keys("-l", "cd "+files+" && "+load)
	tm.keys("Enter")
	tm.waitFor("the completion to load", 10*time.Second, func(s string) bool { return strings.Contains(s, loaded) })
	for _, c := range completionCases() {
		tm.complete(c[0], c[1])
	}
}

// TestCompletionFish loads the fish script as fish loads it from
// vendor_completions.d (source) and asks fish's completion engine
// (complete -C) what it offers.
func TestCompletionFish(t *testing.T) {
	fish := peers.RequireBinary(t, "fish")
	script := completionScript(t, "fish", testtmp.Dir(t), "trustlaunch.fish")
	files := completionFiles(t)
	for _, c := range []struct{ line, want string }{
		{"trustlaunch whi", "whitelist\tinspect and edit the trusted-server lists"},
		{"trustlaunch whitelist expl", "explain\trun the decision for a descriptor URL"},
		{"trustlaunch policy ch", "check\tlint an admin policy file"},
		{"trustlaunch open --no-t", "--no-tui\task with a plain text prompt"},
		{"trustlaunch log -", "-n\tshow the last N entries"},
		{"trustlaunch whitelist check " + files + "/lis", files + "/list.txt"},
		{"trustlaunch whitelist show --admin-whitelist " + files + "/lis", files + "/list.txt"},
	} {
		out, err := exec.CommandContext(t.Context(), fish, "--no-config", "-c", "source $argv[1]; complete -C $argv[2]", script, c.line).CombinedOutput()
		if err != nil {
			t.Fatalf("fish: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("fish completes %q to:\n%s\nwant a line starting %q", c.line, out, c.want)
		}
	}
	// After open's "--" comes the link: nothing is offered.
	out, err := exec.CommandContext(t.Context(), fish, "--no-config", "-c", "source $argv[1]; complete -C $argv[2]", script, "trustlaunch open -- ").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("fish completes after open --: %q (%v), want nothing", out, err)
	}
}

// TestCompletionPowerShell checks the PowerShell script's structure, as
// no PowerShell runs here: it registers a native completer for
// trustlaunch and trustlaunch.exe, its quotes and brackets balance, and it
// holds every command path with its subcommands and flags.
func TestCompletionPowerShell(t *testing.T) {
	script := completionScript(t, "powershell", testtmp.Dir(t), "trustlaunch.ps1")
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if !strings.Contains(src, "Register-ArgumentCompleter -Native -CommandName 'trustlaunch', 'trustlaunch.exe' -ScriptBlock {") {
		t.Error("no Register-ArgumentCompleter -Native for trustlaunch and trustlaunch.exe")
	}
	if err := psBalanced(src); err != nil {
		t.Error(err)
	}
	nodes, err := completionNodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if !strings.Contains(src, "        "+psQuote(n.key)+" = @{\n") {
			t.Errorf("no entry for the command path %q", n.key)
		}
		for _, s := range n.subs {
			if !strings.Contains(src, "@("+psQuote(s.name)+", ") {
				t.Errorf("%q: no subcommand %q", n.key, s.name)
			}
		}
		for _, f := range n.flags {
			if f.usage == "" {
				t.Errorf("%q --%s: an empty tooltip, which CompletionResult refuses", n.key, f.name)
			}
		}
	}
	if strings.Contains(src, ", '')") {
		t.Error("an empty tooltip, which CompletionResult refuses")
	}
}

// psBalanced checks that a PowerShell script's single- and double-quoted
// strings close, and that (), {} and @() balance outside them.
func psBalanced(src string) error {
	var stack []rune
	pairs := map[rune]rune{')': '(', '}': '{'}
	for i := 0; i < len(src); i++ {
		c := rune(src[i])
		switch c {
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case '\'':
			for i++; ; i++ {
				if i >= len(src) {
					return fmt.Errorf("a single-quoted string does not close")
				}
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
		case '"':
			for i++; ; i++ {
				if i >= len(src) {
					return fmt.Errorf("a double-quoted string does not close")
				}
				if src[i] == '`' {
					i++
					continue
				}
				if src[i] == '"' {
					break
				}
			}
		case '(', '{':
			stack = append(stack, c)
		case ')', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return fmt.Errorf("unbalanced %c at byte %d", c, i)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		return fmt.Errorf("%d brackets left open", len(stack))
	}
	return nil
}
