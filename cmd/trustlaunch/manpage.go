package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/platform"
)

// The manual page, trustlaunch(1), is made from the help pages
// (helpPages), so that it says what --help says: "trustlaunch help --man"
// prints it, and the release build installs it (scripts/manpage-completions.sh).

// writeManPage writes trustlaunch(1) in the man macros.
func writeManPage(w io.Writer, pages []helpPage, b buildInfo) {
	date := ""
	if len(b.Date) >= len("2006-01-02") {
		date = b.Date[:len("2006-01-02")] // the commit's: the page stays reproducible
	}
	fmt.Fprintf(w, `.\" trustlaunch(1), made by "trustlaunch help --man" from the commands' help:
.\" regenerate it rather than edit it.
.TH TRUSTLAUNCH 1 %s %s "User Commands"
.\" Paths, flags and links are not to be hyphenated or stretched.
.nh
.ad l
.SH NAME
trustlaunch \- open terminal sessions from trusted company portals
.SH SYNOPSIS
.B trustlaunch
.I command
.RI [ flags ]
.RI [ arguments ]
.br
.B trustlaunch open \-\-
.I link
.br
.B trustlaunch help
.RI [ command ]
`, roffQuote(date), roffQuote("trustlaunch "+b.Version))
	var top helpPage
	for _, p := range pages {
		if p.path == "" {
			top = p
		}
	}
	topText := helpSections(top.text)
	fmt.Fprint(w, ".SH DESCRIPTION\n")
	writeRoffProse(w, topText.about)
	fmt.Fprint(w, ".SH COMMANDS\n")
	for _, p := range pages {
		if p.path == "" {
			continue
		}
		writeManCommand(w, p)
	}
	for _, b := range splitHelp(top.text) {
		if b.heading == "Exit codes" {
			fmt.Fprint(w, ".SH \"EXIT STATUS\"\n")
			writeRoffLines(w, b.lines)
		}
	}
	writeManFiles(w)
}

// writeManFiles writes the sections after the commands: the files, the
// environment, and where to read more.
func writeManFiles(w io.Writer) {
	fmt.Fprint(w, ".SH FILES\n")
	for _, f := range [][2]string{
		{platform.AdminWhitelistPath(), "The administrator's whitelist. Its first line may say AllowAdminListOnly. It must be owned by root and writable by nobody else, or every launch stops."},
		{platform.AdminPolicyPath(), "The administrator's policy: which proxies and destinations a descriptor may name, and which keys may sign descriptors. Under the same rule."},
		{"/etc/trustlaunch/ca.pem", "CA certificates trusted on top of the system roots. Under the same rule."},
		{"/etc/trustlaunch/profiles.toml", "The administrator's emulator profiles."},
		{"~/.config/trustlaunch/whitelist.txt", "Your whitelist, written by Always and \"trustlaunch whitelist add\" ($XDG_CONFIG_HOME when set)."},
		{"~/.config/trustlaunch/profiles.toml", "Your emulator profiles."},
		{"~/.local/state/trustlaunch/audit.log", "The audit log, one JSON line per launch ($XDG_STATE_HOME when set); \"trustlaunch log\" reads it."},
	} {
		fmt.Fprintf(w, ".TP\n.I %s\n%s\n", roffEscape(f[0]), roffEscape(f[1]))
	}
	fmt.Fprint(w, `.SH ENVIRONMENT
.TP
.B HTTPS_PROXY\fR, \fBNO_PROXY
The outbound proxy for the descriptor fetch and the tunnel, unless
\-\-outbound\-proxy is given.
.TP
.B TRUSTLAUNCH_TOKEN
The session token for
.BR "trustlaunch connect" ,
when no \-\-token\-file is given. There is no \-\-token flag: a command line
is visible to every user of the machine.
.TP
.B TERMINAL
The terminal program a launch started by a browser opens for an emulator
that needs one.
.TP
.B NO_COLOR
When set, nothing is drawn in colour.
.SH "SEE ALSO"
.BR xdg\-mime (1),
.BR c3270 (1)
.PP
The user guide, the troubleshooting guide by audit step, and the
administrator, portal and descriptor guides are in the docs directory of
trustlaunch's source repository.
`)
}

// writeManCommand writes one command's section: its synopsis, what it
// does, its flags and its examples.
func writeManCommand(w io.Writer, p helpPage) {
	h := helpSections(p.text)
	fmt.Fprintf(w, ".SS %s\n", roffQuote("trustlaunch "+p.path))
	fmt.Fprint(w, ".nf\n")
	for _, l := range strings.Split(strings.TrimRight(h.usage, "\n"), "\n") {
		fmt.Fprintf(w, "%s\n", roffLine(l))
	}
	fmt.Fprint(w, ".fi\n")
	writeRoffProse(w, h.about)
	for _, b := range splitHelp(h.details) {
		switch b.heading {
		case "Subcommands", "Commands":
			continue // each has its own section below
		case "":
			writeRoffBlock(w, b.lines)
		default:
			fmt.Fprintf(w, ".PP\n%s:\n", roffEscape(b.heading))
			writeRoffLines(w, b.lines)
		}
	}
	if p.flags != nil && p.flags.HasAvailableFlags() {
		fmt.Fprint(w, ".PP\nFlags:\n.RS 4\n")
		p.flags.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			name := `\fB\-\-` + roffEscape(f.Name) + `\fR`
			if f.Shorthand != "" {
				name = `\fB\-` + roffEscape(f.Shorthand) + `\fR, ` + name
			}
			if v := flagValueName(f); v != "" {
				name += ` \fI` + roffEscape(v) + `\fR`
			}
			_, usage := pflag.UnquoteUsage(f)
			if d := flagDefault(f); d != "" {
				usage += " (default " + d + ")"
			}
			fmt.Fprintf(w, ".TP\n%s\n%s\n", name, roffEscape(usage))
		})
		fmt.Fprint(w, ".RE\n")
	}
	if h.examples != "" {
		fmt.Fprint(w, ".PP\nExamples:\n")
		writeRoffLines(w, strings.Split(strings.TrimRight(h.examples, "\n"), "\n"))
	}
}

// writeRoffProse writes paragraphs of help text.
func writeRoffProse(w io.Writer, text string) {
	for _, b := range splitHelp(text) {
		if b.heading != "" {
			fmt.Fprintf(w, ".PP\n%s:\n", roffEscape(b.heading))
			writeRoffLines(w, b.lines)
			continue
		}
		writeRoffBlock(w, b.lines)
	}
}

// writeRoffBlock writes one paragraph: its lines filled, but for runs of
// indented lines (a list laid out by hand), which keep their lines.
func writeRoffBlock(w io.Writer, lines []string) {
	if len(lines) > 0 && strings.HasPrefix(lines[0], machineNote) {
		return // true of the machine that made the page, not of the reader's
	}
	fmt.Fprint(w, ".PP\n")
	for i := 0; i < len(lines); {
		j := i
		indented := strings.HasPrefix(lines[i], " ")
		for j < len(lines) && strings.HasPrefix(lines[j], " ") == indented {
			j++
		}
		if indented {
			fmt.Fprint(w, ".RS 2\n.nf\n")
			for _, l := range lines[i:j] {
				fmt.Fprintf(w, "%s\n", roffLine(strings.TrimPrefix(l, "  ")))
			}
			fmt.Fprint(w, ".fi\n.RE\n")
		} else {
			for _, l := range lines[i:j] {
				fmt.Fprintf(w, "%s\n", roffLine(l))
			}
		}
		i = j
	}
}

// writeRoffLines writes lines as they are, indented, without filling.
func writeRoffLines(w io.Writer, lines []string) {
	fmt.Fprint(w, ".RS 4\n.nf\n")
	for _, l := range lines {
		fmt.Fprintf(w, "%s\n", roffLine(l))
	}
	fmt.Fprint(w, ".fi\n.RE\n")
}

// roffEscape makes text literal for roff: backslashes and hyphens (which
// are minus signs in options and commands people copy).
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, `-`, `\-`).Replace(s)
}

// roffLine escapes a line of text, and a line that roff would read as a
// request (a leading . or ').
func roffLine(l string) string {
	l = roffEscape(l)
	if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
		l = `\&` + l
	}
	if l == "" {
		return ".sp" // a blank line inside a laid-out block
	}
	return l
}

// roffQuote quotes a macro argument.
func roffQuote(s string) string {
	return `"` + strings.ReplaceAll(roffEscape(s), `"`, `\(dq`) + `"`
}

// cmdHelpMan is "trustlaunch help --man".
func cmdHelpMan(ctx context.Context, s *stdio) int {
	pages, err := helpPages(ctx)
	if err != nil {
		s.errorf("help --man: %v", err)
		return exitFailure
	}
	writeManPage(s.stdout, pages, currentBuild())
	return exitOK
}
