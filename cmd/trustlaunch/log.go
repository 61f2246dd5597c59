package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

const logUsage = `Show recent entries of the audit log: one per launch, with the server,
the decision and the step that decided it, the session, the exit status,
the duration and any error. Tokens and tickets are never recorded.

Usage:
  trustlaunch log [-n N] [--json | --timings]

The decision is the launch's outcome: launched, refused-whitelist,
refused-user, refused-policy, failed (at the step shown) or interrupted.
--timings shows how long each phase took instead: TRUST the trust
decision (PROMPT, the wait for your answer, is part of it), FETCH the
descriptor, POLICY the admin policy's check, PROXY the first tunnel (TCP,
TLS and REQUEST, the CONNECT or WebSocket request carrying the token, are
part of it), EMULATOR its preparation and start, SESSION the emulator
running, TOTAL the whole launch; "-" for a phase not reached.

The log is audit.log in your state directory ($XDG_STATE_HOME/trustlaunch
on Linux); it is rotated at 10 MiB, keeping one old file (audit.log.1).

Examples:
  trustlaunch log
  trustlaunch log --timings -n 5
  trustlaunch log -n 100 --json
`

// maxLogEntries bounds -n: the log holds a few tens of thousands of
// records at most, and a typo should not read all of them.
const maxLogEntries = 100000

func cmdLog(_ context.Context, s *stdio, args []string) int {
	fs := newFlagSet("log", logUsage, s)
	n := fs.IntP("lines", "n", 20, "show the last `N` entries")
	asJSON := fs.Bool("json", false, "print JSON lines, as stored, instead of a table")
	timings := fs.Bool("timings", false, "show how long each phase of each launch took")
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 {
		s.errorf("log takes no arguments")
		s.hintf("run \"trustlaunch log --help\"")
		return exitUsage
	}
	if *asJSON && *timings {
		s.errorf("log: --json and --timings do not go together: the JSON lines hold the timings (timings_us)")
		return exitUsage
	}
	if *n < 1 || *n > maxLogEntries {
		s.errorf("log: -n must be between 1 and %d", maxLogEntries)
		return exitUsage
	}
	l, err := audit.New(audit.Options{})
	if err != nil {
		s.errorf("log: %v", err)
		return exitFailure
	}
	recs, err := l.ReadRecent(*n)
	if err != nil {
		s.errorf("log: %v", err)
		return exitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(s.stdout)
		enc.SetEscapeHTML(false)
		for _, r := range recs {
			// MarshalJSON sanitizes again: the file is the user's and
			// anything may have edited it.
			if err := enc.Encode(r); err != nil {
				s.errorf("log: %v", err)
				return exitFailure
			}
		}
		return exitOK
	}
	if len(recs) == 0 {
		fmt.Fprintf(s.stderr, "trustlaunch: the audit log %s has no entries yet\n", safetext.Sanitize(l.Path()))
		return exitOK
	}
	if *timings {
		printTimingsTable(s, recs)
	} else {
		printLogTable(s, recs)
	}
	return exitOK
}

// printLogTable writes one row per record. ReadRecent returns text that is
// sanitized already (tabs included, so no field can shift the columns);
// the cells are only cut to a width.
func printLogTable(s *stdio, recs []audit.Record) {
	tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDECISION\tSTEP\tORIGIN\tSESSION\tEXIT\tDURATION\tERROR")
	for _, r := range recs {
		exit := "-"
		if r.ExitStatus != nil {
			exit = strconv.Itoa(*r.ExitStatus)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Time.Local().Format("2006-01-02 15:04:05"),
			logCell(string(r.Decision), 17), logCell(r.Step, 20), logCell(r.Origin, 40), logCell(r.Session, 24),
			exit, logDuration(r.Duration), logCell(r.Error, 80))
	}
	tw.Flush()
}

// logCell cuts a field to max runes, ending in "…" when cut; an empty
// field shows as "-" so columns stay readable.
func logCell(v string, max int) string {
	if v == "" {
		return "-"
	}
	if r := []rune(v); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return v
}

// logDuration rounds a launch's duration for display.
func logDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// printTimingsTable writes one row per record with the time of each phase
// (audit.Timings, in its order).
func printTimingsTable(s *stdio, recs []audit.Record) {
	tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TIME\tDECISION\tTRUST\tPROMPT\tFETCH\tPOLICY\tPROXY\tTCP\tTLS\tREQUEST\tEMULATOR\tSESSION\tTOTAL\t")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t", r.Time.Local().Format("2006-01-02 15:04:05"), logCell(string(r.Decision), 17))
		for _, p := range r.Timings.Phases() {
			fmt.Fprintf(tw, "%s\t", logTiming(p.Took))
		}
		fmt.Fprintf(tw, "%s\t\n", logTiming(r.Duration))
	}
	tw.Flush()
}

// logTiming shows a phase's time to a precision that suits it; "-" for
// none.
func logTiming(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d.Microseconds())/1000)
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
