package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// The shell completions are made from the help pages (helpPages): the
// commands and subcommands from the tables, the flags from each command's
// flag set, and whether arguments are files from its Usage: line. A new
// command or flag is completed without anyone editing a script.

const completionHelp = `Print a shell completion script for trustlaunch: its commands, subcommands
and flags, and file names where a command takes a file.

Usage:
  trustlaunch completion bash|zsh|fish|powershell

The packages install the bash, zsh and fish scripts where those shells
look for them. Without a package, load one in the shell's startup file:

  bash (~/.bashrc):
    source <(trustlaunch completion bash)
  zsh (~/.zshrc, after compinit):
    source <(trustlaunch completion zsh)
  fish (~/.config/fish/config.fish):
    trustlaunch completion fish | source
  PowerShell ($PROFILE):
    trustlaunch completion powershell | Out-String | Invoke-Expression

Examples:
  trustlaunch completion bash > /etc/bash_completion.d/trustlaunch
  trustlaunch completion fish > ~/.config/fish/completions/trustlaunch.fish
`

// shells maps a shell's name to its script's writer.
var shells = map[string]func(w io.Writer, nodes []compNode){
	"bash":       writeBash,
	"zsh":        writeZsh,
	"fish":       writeFish,
	"powershell": writePowerShell,
}

func cmdCompletion(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("completion", completionHelp, s)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 1 {
		s.errorf("completion: want one shell: bash, zsh, fish or powershell")
		return exitUsage
	}
	write, ok := shells[fs.Arg(0)]
	if !ok {
		s.errorf("completion: no completion for %q; want bash, zsh, fish or powershell", fs.Arg(0))
		return exitUsage
	}
	nodes, err := completionNodes(ctx)
	if err != nil {
		s.errorf("completion: %v", err)
		return exitFailure
	}
	write(s.stdout, nodes)
	return exitOK
}

// compNode is what a shell completes after one command path.
type compNode struct {
	key   string      // the path joined with "/": "whitelist/explain"; "" for trustlaunch itself
	subs  []helpEntry // its subcommands
	flags []compFlag
	files bool // its arguments are file names
}

// compFlag is one flag as a shell completes it.
type compFlag struct {
	name, short, usage string
	value              bool // takes a value (the next word)
	file               bool // the value is a file name
}

// completionNodes turns the help pages into what the shells complete.
func completionNodes(ctx context.Context) ([]compNode, error) {
	pages, err := helpPages(ctx)
	if err != nil {
		return nil, err
	}
	nodes := make([]compNode, 0, len(pages))
	for _, p := range pages {
		n := compNode{key: strings.ReplaceAll(p.path, " ", "/"), subs: p.subs}
		if p.flags != nil {
			p.flags.VisitAll(func(f *pflag.Flag) {
				if f.Hidden {
					return
				}
				v := flagValueName(f)
				_, usage := pflag.UnquoteUsage(f)
				n.flags = append(n.flags, compFlag{name: f.Name, short: f.Shorthand, usage: firstClause(usage), value: v != "", file: isFileValue(v)})
			})
		}
		n.flags = append(n.flags, compFlag{name: "help", short: "h", usage: "show this command's help"})
		n.files = takesFiles(p)
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// isFileValue reports whether a flag's value, by its name in the help
// ("FILE", "PATH"), is a file name.
func isFileValue(name string) bool { return name == "FILE" || name == "PATH" || name == "DIR" }

// takesFiles reports whether a command's arguments are files: its Usage:
// line names FILE as an argument, not as a flag's value.
func takesFiles(p helpPage) bool {
	if p.flags == nil {
		return false
	}
	usage := helpSections(p.text).usage
	first, _, _ := strings.Cut(usage, "\n")
	words := strings.Fields(strings.TrimPrefix(first, strings.TrimSpace("trustlaunch "+p.path)))
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case strings.HasPrefix(w, "[") || strings.HasPrefix(w, "-"):
			if !strings.Contains(w, "]") && strings.HasPrefix(w, "-") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") && !strings.HasPrefix(words[i+1], "[") {
				i++ // --key FILE: the flag's value
			}
		case w == "<" || w == ">":
			i++ // a redirection and its file
		case strings.Contains(w, "FILE"):
			return true
		}
	}
	return false
}

// firstClause cuts a flag's meaning to what fits a completion menu: up to
// the first "(" or ";".
func firstClause(s string) string {
	if i := strings.IndexAny(s, "(;"); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

const completionHeader = `trustlaunch %s completion, made by "trustlaunch completion %s" from the
commands' help: regenerate it rather than edit it.`

// comment prefixes each line of text with marker.
func comment(marker, text string) string {
	return marker + " " + strings.ReplaceAll(text, "\n", "\n"+marker+" ") + "\n"
}

// shQuote quotes s for bash and zsh: in single quotes, each quote in s
// closed, escaped and reopened. fish reads a backslash before a quote
// inside single quotes as an escape, so fish strings use fishQuote.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// psQuote quotes s for PowerShell: single quotes, each ' doubled.
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// flagWords returns the words that name a node's flags: --name, -x.
func (n compNode) flagWords() []string {
	var out []string
	for _, f := range n.flags {
		out = append(out, "--"+f.name)
		if f.short != "" {
			out = append(out, "-"+f.short)
		}
	}
	return out
}

// valueFlags returns the words of the flags that take a value, file
// names or others.
func (n compNode) valueFlags(file bool) []string {
	var out []string
	for _, f := range n.flags {
		if f.value && f.file == file {
			out = append(out, "--"+f.name)
			if f.short != "" {
				out = append(out, "-"+f.short)
			}
		}
	}
	return out
}

func subNames(subs []helpEntry) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.name
	}
	return out
}

// pathCases returns the case patterns "PARENT/NAME" of every path below
// trustlaunch, for the walk over the words already typed.
func pathCases(nodes []compNode) []string {
	var out []string
	for _, n := range nodes {
		if n.key == "" {
			continue
		}
		parent, name := "", n.key
		if i := strings.LastIndex(n.key, "/"); i >= 0 {
			parent, name = n.key[:i], n.key[i+1:]
		}
		out = append(out, parent+"/"+name)
	}
	return out
}

func writeBash(w io.Writer, nodes []compNode) {
	fmt.Fprint(w, comment("#", fmt.Sprintf(completionHeader, "bash", "bash")))
	fmt.Fprint(w, `
_trustlaunch() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd= word i
	# The command path so far: the words that name a subcommand of it.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		[[ $word == -- ]] && return 0 # open's link: nothing to complete
		case "$cmd/$word" in
`)
	fmt.Fprintf(w, "\t\t%s) cmd=${cmd:+$cmd/}$word ;;\n", strings.Join(pathCases(nodes), " | "))
	fmt.Fprint(w, `		esac
	done
	local subs= flags= fileflags= valueflags= files=
	case $cmd in
`)
	for _, n := range nodes {
		fmt.Fprintf(w, "\t%s)\n", shQuote(n.key))
		fmt.Fprintf(w, "\t\tsubs=%s\n", shQuote(strings.Join(subNames(n.subs), " ")))
		fmt.Fprintf(w, "\t\tflags=%s\n", shQuote(strings.Join(n.flagWords(), " ")))
		fmt.Fprintf(w, "\t\tfileflags=%s\n", shQuote(strings.Join(n.valueFlags(true), " ")))
		fmt.Fprintf(w, "\t\tvalueflags=%s\n", shQuote(strings.Join(n.valueFlags(false), " ")))
		if n.files {
			fmt.Fprintf(w, "\t\tfiles=1\n")
		}
		fmt.Fprintf(w, "\t\t;;\n")
	}
	fmt.Fprint(w, `	esac
	if [[ $prev == -* && " $fileflags " == *" $prev "* ]]; then
		compopt -o filenames
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	elif [[ $prev == -* && " $valueflags " == *" $prev "* ]]; then
		COMPREPLY=() # a value only its user knows
	elif [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
	elif [[ -n $subs ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
	elif [[ -n $files ]]; then
		compopt -o filenames
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
	return 0
}
complete -F _trustlaunch trustlaunch
`)
}

func writeZsh(w io.Writer, nodes []compNode) {
	fmt.Fprint(w, "#compdef trustlaunch\n")
	fmt.Fprint(w, comment("#", fmt.Sprintf(completionHeader, "zsh", "zsh")))
	fmt.Fprint(w, `
_trustlaunch() {
	local cmd= word i
	# The command path so far: the words that name a subcommand of it.
	for ((i = 2; i < CURRENT; i++)); do
		word=${words[i]}
		[[ $word == -- ]] && return 1 # open's link: nothing to complete
		case "$cmd/$word" in
`)
	fmt.Fprintf(w, "\t\t(%s) cmd=${cmd:+$cmd/}$word ;;\n", strings.Join(pathCases(nodes), "|"))
	fmt.Fprint(w, `		esac
	done
	local -a subs flags
	local fileflags= valueflags= files=
	case $cmd in
`)
	for _, n := range nodes {
		fmt.Fprintf(w, "\t(%s)\n", shQuote(n.key))
		var subs, flags []string
		for _, s := range n.subs {
			subs = append(subs, shQuote(s.name+":"+s.summary))
		}
		for _, f := range n.flags {
			flags = append(flags, shQuote("--"+f.name+":"+f.usage))
			if f.short != "" {
				flags = append(flags, shQuote("-"+f.short+":"+f.usage))
			}
		}
		fmt.Fprintf(w, "\t\tsubs=(%s)\n", strings.Join(subs, " "))
		fmt.Fprintf(w, "\t\tflags=(%s)\n", strings.Join(flags, " "))
		fmt.Fprintf(w, "\t\tfileflags=%s\n", shQuote(" "+strings.Join(n.valueFlags(true), " ")+" "))
		fmt.Fprintf(w, "\t\tvalueflags=%s\n", shQuote(" "+strings.Join(n.valueFlags(false), " ")+" "))
		if n.files {
			fmt.Fprintf(w, "\t\tfiles=1\n")
		}
		fmt.Fprintf(w, "\t\t;;\n")
	}
	fmt.Fprint(w, `	esac
	local prev=${words[CURRENT-1]}
	if [[ $prev == -* && $fileflags == *" $prev "* ]]; then
		_files
	elif [[ $prev == -* && $valueflags == *" $prev "* ]]; then
		_message 'a value'
	elif [[ $PREFIX == -* ]]; then
		_describe -t flags 'flag' flags
	elif (( ${#subs} )); then
		_describe -t commands 'command' subs
	elif [[ -n $files ]]; then
		_files
	else
		return 1
	fi
}

# Autoloaded from $fpath, this file is _trustlaunch's body: define it, then
# complete. Sourced, register it.
if [[ $funcstack[1] == _trustlaunch ]]; then
	_trustlaunch "$@"
else
	compdef _trustlaunch trustlaunch
fi
`)
}

func writeFish(w io.Writer, nodes []compNode) {
	fmt.Fprint(w, comment("#", fmt.Sprintf(completionHeader, "fish", "fish")))
	fmt.Fprint(w, `
# __trustlaunch_at PATH: the words before the cursor name the command PATH
# ("" for trustlaunch itself, "whitelist/explain"); after "--" nothing is
# completed.
function __trustlaunch_at
    set -l cmd ''
    set -l words (commandline -opc)
    set -e words[1] # trustlaunch
    for word in $words
        if test "$word" = --
            return 1
        end
        switch "$cmd/$word"
            case `)
	fmt.Fprintf(w, "%s\n", strings.Join(pathCases(nodes), " "))
	fmt.Fprint(w, `                if test -z "$cmd"
                    set cmd $word
                else
                    set cmd "$cmd/$word"
                end
        end
    end
    test "$cmd" = "$argv[1]"
end

complete -c trustlaunch -f
`)
	for _, n := range nodes {
		cond := fishQuote("__trustlaunch_at " + fishQuote(n.key))
		for _, s := range n.subs {
			fmt.Fprintf(w, "complete -c trustlaunch -n %s -a %s -d %s\n", cond, fishQuote(s.name), fishQuote(s.summary))
		}
		for _, f := range n.flags {
			line := fmt.Sprintf("complete -c trustlaunch -n %s -l %s", cond, fishQuote(f.name))
			if f.short != "" {
				line += " -s " + fishQuote(f.short)
			}
			switch {
			case f.file:
				line += " -r -F"
			case f.value:
				line += " -x"
			}
			fmt.Fprintf(w, "%s -d %s\n", line, fishQuote(f.usage))
		}
		if n.files {
			fmt.Fprintf(w, "complete -c trustlaunch -n %s -F\n", cond)
		}
	}
}

func writePowerShell(w io.Writer, nodes []compNode) {
	fmt.Fprint(w, comment("#", fmt.Sprintf(completionHeader, "PowerShell", "powershell")))
	fmt.Fprint(w, `
Register-ArgumentCompleter -Native -CommandName 'trustlaunch', 'trustlaunch.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    # Each command path ('whitelist/explain'; '' for trustlaunch itself):
    # its subcommands and flags as (word, meaning) pairs, and whether its
    # arguments are files.
    $commands = @{
`)
	for _, n := range nodes {
		var subs, flags []string
		for _, s := range n.subs {
			subs = append(subs, fmt.Sprintf("@(%s, %s)", psQuote(s.name), psQuote(s.summary)))
		}
		for _, f := range n.flags {
			flags = append(flags, fmt.Sprintf("@(%s, %s)", psQuote("--"+f.name), psQuote(f.usage)))
		}
		files := "$false"
		if n.files {
			files = "$true"
		}
		fmt.Fprintf(w, "        %s = @{\n            Subs = @(%s)\n            Flags = @(%s)\n            Files = %s\n        }\n",
			psQuote(n.key), strings.Join(subs, ", "), strings.Join(flags, ", "), files)
	}
	fmt.Fprint(w, `    }
    $cmd = ''
    foreach ($element in ($commandAst.CommandElements | Select-Object -Skip 1)) {
        # The words before the one being completed.
        if ($element.Extent.EndOffset -ge $cursorPosition) { break }
        $word = $element.ToString()
        if ($word -eq '--') { return }
        if ($cmd -eq '') { $next = $word } else { $next = "$cmd/$word" }
        if ($commands.ContainsKey($next)) { $cmd = $next }
    }
    $node = $commands[$cmd]
    if ($wordToComplete.StartsWith('-')) { $items = $node.Flags } else { $items = $node.Subs }
    foreach ($item in $items) {
        if ($item[0].StartsWith($wordToComplete)) {
            [System.Management.Automation.CompletionResult]::new($item[0], $item[0], 'ParameterValue', $item[1])
        }
    }
    if (-not $wordToComplete.StartsWith('-') -and $node.Subs.Count -eq 0 -and $node.Files) {
        Get-ChildItem -Path "$wordToComplete*" -ErrorAction SilentlyContinue | ForEach-Object {
            [System.Management.Automation.CompletionResult]::new($_.Name, $_.Name, 'ProviderItem', $_.FullName)
        }
    }
}
`)
}
