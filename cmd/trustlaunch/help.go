package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// A command's help is hand-written text in one shape, which the man page
// and the shell completions read as well as --help:
//
//	One or more paragraphs saying what the command does.
//
//	Usage:
//	  trustlaunch COMMAND [flags] ARGUMENTS
//
//	Paragraphs with the details.
//
//	Examples:
//	  trustlaunch COMMAND ...
//
// The flags are not in the text: --help appends them from the command's
// flag set (flagUsages), so that they cannot drift from what it parses. A
// paragraph that starts with machineNote says what this machine will do
// (demo's c3270); the man page, made on another machine, leaves it out.

// machineNote starts a paragraph about the machine --help runs on.
const machineNote = "On this machine:"

// helpPage is one command's help, as --help prints it.
type helpPage struct {
	path  string         // "whitelist explain"; "" for trustlaunch itself
	text  string         // the hand-written help
	flags *pflag.FlagSet // nil for a group, which only dispatches
	subs  []helpEntry    // a group's subcommands (trustlaunch's: its commands)
}

// helpEntry names a subcommand in its group's page.
type helpEntry struct{ name, summary string }

// helpCollector gathers the help pages instead of printing them (see
// helpPages): a stdio that carries one records each page it is asked to
// print.
type helpCollector struct{ pages []helpPage }

// showHelp prints a help page to w, or records it when s collects pages.
func (s *stdio) showHelp(w io.Writer, p helpPage) {
	if s.collect != nil {
		s.collect.pages = append(s.collect.pages, p)
		return
	}
	fmt.Fprint(w, p.text)
	if p.flags != nil && p.flags.HasAvailableFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", flagUsages(p.flags))
	}
}

// helpPages returns the help page of trustlaunch and of every command and
// subcommand, parents first, by asking each for --help: the same code path
// that prints it. A command that prints its help some other way is an
// error naming it, so that the man page and the completions cannot miss
// one.
func helpPages(ctx context.Context) ([]helpPage, error) {
	c := &helpCollector{}
	var out strings.Builder
	s := &stdio{
		stdin:   strings.NewReader(""),
		stdout:  &out,
		stderr:  &out,
		getenv:  func(string) string { return "" },
		collect: c,
	}
	var walk func(path []string) error
	walk = func(path []string) error {
		n := len(c.pages)
		out.Reset()
		args := append(append([]string{}, path...), "--help")
		if code := run(ctx, args, s); code != exitOK || len(c.pages) != n+1 || out.Len() != 0 {
			return fmt.Errorf("trustlaunch %s: gave no help page (exit %d, printed %q): print help with newFlagSet's usage or a group", strings.Join(args, " "), code, out.String())
		}
		p := c.pages[n]
		if want := strings.Join(path, " "); p.path != want {
			return fmt.Errorf("trustlaunch %s --help: the page is named %q", want, p.path)
		}
		for _, sub := range p.subs {
			if err := walk(append(path[:len(path):len(path)], sub.name)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(nil); err != nil {
		return nil, err
	}
	return c.pages, nil
}

// helpWidth is the width help text is wrapped to: a terminal's 80 columns.
const helpWidth = 80

// flagUsages lists a flag set's flags, one per entry: "-n, --lines N",
// "--no-tui" (a switch shows no "[=true|false]": it is given or not), the
// meaning wrapped at helpWidth, and the default when it is not the zero
// value.
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ name, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name := flagSynopsis(f)
		_, usage := pflag.UnquoteUsage(f)
		if d := flagDefault(f); d != "" {
			usage += " (default " + d + ")"
		}
		rows = append(rows, row{name, usage})
		width = max(width, len(name))
	})
	// Names longer than this put their meaning on the next line, so that
	// one long flag does not squeeze every meaning into a narrow column.
	const maxNameWidth = 30
	width = min(width, maxNameWidth)
	var b strings.Builder
	for _, r := range rows {
		indent := 2 + width + 2
		lines := wrapText(r.usage, helpWidth-indent)
		if len(r.name) > width {
			fmt.Fprintf(&b, "  %s\n", r.name)
		} else if len(lines) > 0 {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, r.name, lines[0])
			lines = lines[1:]
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "%s%s\n", strings.Repeat(" ", indent), l)
		}
	}
	return b.String()
}

// flagSynopsis returns how a flag is written: "--proxy HOST:PORT",
// "-n, --lines N", "--no-tui".
func flagSynopsis(f *pflag.Flag) string {
	name := "    --" + f.Name
	if f.Shorthand != "" {
		name = "-" + f.Shorthand + ", --" + f.Name
	}
	if v := flagValueName(f); v != "" {
		name += " " + v
	}
	return name
}

// flagValueName returns the name of a flag's value ("FILE"), or "" for a
// switch. A value named in the usage text (`FILE`) wins; otherwise its
// type, in capitals.
func flagValueName(f *pflag.Flag) string {
	if f.Value.Type() == "bool" {
		return ""
	}
	name, _ := pflag.UnquoteUsage(f)
	if strings.Contains(f.Usage, "`") {
		return name // named by the usage text, as written
	}
	switch name {
	case "int", "int64", "uint":
		return "N"
	case "strings":
		return "VALUE"
	}
	return strings.ToUpper(name)
}

// flagDefault returns a flag's default as --help shows it, or "" when it
// is the zero value (nothing worth saying).
func flagDefault(f *pflag.Flag) string {
	switch d := f.DefValue; {
	case d == "" || d == "0" || d == "false" || d == "[]" || d == "0s":
		return ""
	case f.Value.Type() == "duration":
		if v, err := time.ParseDuration(d); err == nil {
			return shortDuration(v)
		}
		return d
	default:
		return d
	}
}

// shortDuration writes 60s as "1m", not Go's "1m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// wrapText splits text into lines of at most width bytes at spaces; a word
// longer than width gets a line of its own.
func wrapText(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// group is a command made of subcommands (whitelist, descriptor, policy).
// Its page is about, the usage line and the subcommands from subs, then
// more (the details and examples).
type group struct {
	name  string // as typed after trustlaunch
	about string // what the group is for: the page's first paragraphs
	more  string // what follows the subcommands: details, then examples
	subs  []subcommand
}

// subcommand is one row of a group's table. Its run parses its own flags
// with newFlagSet, named "GROUP NAME", and so has its own --help.
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, s *stdio, args []string) int
}

func (g group) page() helpPage {
	p := helpPage{path: g.name}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nUsage:\n  trustlaunch %s SUBCOMMAND [flags] [arguments]\n\nSubcommands:\n", g.about, g.name)
	width := 0
	for _, sub := range g.subs {
		width = max(width, len(sub.name))
	}
	for _, sub := range g.subs {
		p.subs = append(p.subs, helpEntry{sub.name, sub.summary})
		for i, l := range wrapText(sub.summary, helpWidth-width-4) {
			name := ""
			if i == 0 {
				name = sub.name
			}
			fmt.Fprintf(&b, "  %-*s  %s\n", width, name, l)
		}
	}
	fmt.Fprintf(&b, "\nRun \"trustlaunch %s SUBCOMMAND --help\" for its flags and examples.\n", g.name)
	if g.more != "" {
		fmt.Fprintf(&b, "\n%s", g.more)
	}
	p.text = b.String()
	return p
}

// run dispatches to a subcommand. "GROUP help SUB" is "GROUP SUB --help".
func (g group) run(ctx context.Context, s *stdio, args []string) int {
	if len(args) == 0 {
		s.showHelp(s.stderr, g.page())
		return exitUsage
	}
	switch {
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help" && len(args) == 1:
		s.showHelp(s.stdout, g.page())
		return exitOK
	case args[0] == "help":
		return g.run(ctx, s, []string{args[1], "--help"})
	case strings.HasPrefix(args[0], "-"):
		s.errorf("%s: the subcommand comes first, then its flags: trustlaunch %s SUBCOMMAND [flags]", g.name, g.name)
		s.hintf("run \"trustlaunch %s --help\" for the subcommands", g.name)
		return exitUsage
	}
	names := make([]string, len(g.subs))
	for i, sub := range g.subs {
		if sub.name == args[0] {
			return sub.run(ctx, s, args[1:])
		}
		names[i] = sub.name
	}
	s.errorf("%s: unknown subcommand %s", g.name, safetext.Quote(args[0]))
	if m := suggest(args[0], names); len(m) > 0 {
		s.hintf("did you mean %s?", orList(prefixed("trustlaunch "+g.name+" ", m)))
	} else {
		s.hintf("run \"trustlaunch %s --help\" for the subcommands", g.name)
	}
	return exitUsage
}

// cmdHelp is "trustlaunch help [COMMAND...]": the page of trustlaunch, or
// of a command, as COMMAND --help prints it; "help --man" prints them all
// as the manual page.
func cmdHelp(ctx context.Context, s *stdio, args []string) int {
	switch {
	case len(args) == 0:
		s.showHelp(s.stdout, topPage())
		return exitOK
	case args[0] == "--man":
		if len(args) != 1 {
			s.errorf("help --man takes no arguments: it prints the manual page of every command")
			return exitUsage
		}
		return cmdHelpMan(ctx, s)
	}
	return run(ctx, append(append([]string{}, args...), "--help"), s)
}

// suggest returns the candidates a mistyped word was probably meant to be:
// those at the smallest edit distance, if it is small for the word's length
// (1 up to 5 letters, else 2; a swapped pair counts as one edit: "opne"),
// or else those it is the start of ("reg" for "register"). Case is ignored.
func suggest(word string, candidates []string) []string {
	w := strings.ToLower(word)
	limit := 1
	if len([]rune(w)) > 5 {
		limit = 2
	}
	best, out := limit+1, []string(nil)
	for _, c := range candidates {
		d := editDistance(w, strings.ToLower(c))
		switch {
		case d < best:
			best, out = d, []string{c}
		case d == best && d <= limit:
			out = append(out, c)
		}
	}
	if out != nil || len(w) < 2 {
		return out
	}
	for _, c := range candidates {
		if strings.HasPrefix(strings.ToLower(c), w) {
			out = append(out, c)
		}
	}
	return out
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of neighbours, one edit
// each.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// prefixed puts p before each of names, quoted: `"p name"`.
func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = `"` + p + n + `"`
	}
	return out
}

// orList joins "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// absentFlag is a flag that trustlaunch does not have on purpose, and why:
// someone who looks for it meets the reason, not "unknown flag".
type absentFlag struct {
	why string
	// hint says what to do instead; fs is the command's flag set, to
	// point at the right alternative where it has one.
	hint func(fs *pflag.FlagSet) string
}

// absentFlags are the flags people reach for that would make trustlaunch
// unsafe. A secret on a command line is readable by every user of the
// machine (ps, /proc/PID/cmdline, Windows' process list), and a switch that
// skips certificate checks turns the proxy's TLS into theatre.
var absentFlags = map[string]absentFlag{
	"token": {
		why: "there is no --token flag: every user of this machine can read a command line (ps, /proc), so a token on it is no longer secret",
		hint: func(fs *pflag.FlagSet) string {
			if fs.Lookup("token-file") != nil {
				return "put the token in a file only you can read and give --token-file FILE (or set TRUSTLAUNCH_TOKEN, or pipe it on standard input)"
			}
			return "trustlaunch takes a session token from the launch descriptor (open) or from a file (connect --token-file FILE), never from its command line"
		},
	},
	"insecure": {
		why:  "there is no --insecure flag: certificates are always verified",
		hint: insecureHint,
	},
	"insecure-skip-verify": {
		why:  "there is no --insecure-skip-verify flag: certificates are always verified",
		hint: insecureHint,
	},
}

func insecureHint(fs *pflag.FlagSet) string {
	if fs.Lookup("ca") != nil {
		return "for a private CA, give its certificate with trustlaunch connect --ca FILE (and --pin to require its key)"
	}
	return "for a private CA, an administrator adds it to the admin CA bundle (docs/admin.md, \"The admin CA bundle: what this machine trusts\")"
}

// unknownFlag reports a flag that fs does not have: why, for a flag left
// out on purpose, or the flags that were probably meant.
func unknownFlag(s *stdio, fs *pflag.FlagSet, err *pflag.NotExistError) {
	name := err.GetSpecifiedName()
	if err.GetSpecifiedShortnames() != "" {
		// -x: one letter says too little to guess from.
		s.errorf("%s: %v", fs.Name(), err)
		s.hintf("run \"trustlaunch %s --help\" for its flags", fs.Name())
		return
	}
	if a, ok := absentFlags[name]; ok {
		s.errorf("%s: %s", fs.Name(), a.why)
		s.hintf("%s", a.hint(fs))
		return
	}
	s.errorf("%s: %v", fs.Name(), err)
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if m := suggest(name, names); len(m) > 0 {
		s.hintf("did you mean %s?", orList(prefixed("--", m)))
		return
	}
	s.hintf("run \"trustlaunch %s --help\" for its flags", fs.Name())
}

// helpBlock is a paragraph of a help page: prose, or a block under a
// heading ("Usage:", "Examples:") whose lines are indented.
type helpBlock struct {
	heading string   // "Usage", "Examples"; "" for prose
	lines   []string // as written; a heading's block without its indent
}

// splitHelp cuts a page's text at its blank lines into blocks.
func splitHelp(text string) []helpBlock {
	var blocks []helpBlock
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(strings.Trim(para, "\n"), "\n")
		if len(lines) == 0 || lines[0] == "" {
			continue
		}
		first := lines[0]
		if len(lines) > 1 && strings.HasSuffix(first, ":") && !strings.HasPrefix(first, " ") && !strings.Contains(first, ". ") {
			b := helpBlock{heading: strings.TrimSuffix(first, ":")}
			for _, l := range lines[1:] {
				b.lines = append(b.lines, strings.TrimPrefix(l, "  "))
			}
			blocks = append(blocks, b)
			continue
		}
		blocks = append(blocks, helpBlock{lines: lines})
	}
	return blocks
}

// helpText is a page's text in its parts (help.go's shape).
type helpText struct {
	about    string // the paragraphs before Usage:
	usage    string // the Usage: block
	details  string // what comes between Usage: and Examples:
	examples string // the Examples: (or Example:) block
}

func helpSections(text string) helpText {
	var h helpText
	seenUsage := false
	for _, b := range splitHelp(text) {
		body := strings.Join(b.lines, "\n") + "\n"
		switch {
		case b.heading == "Usage":
			h.usage, seenUsage = body, true
		case b.heading == "Examples" || b.heading == "Example":
			h.examples += body
		case !seenUsage:
			h.about += body + "\n"
		default:
			h.details += body + "\n"
		}
	}
	return h
}
