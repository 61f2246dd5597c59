package main

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// The --json output of the commands that scripts read (Intune and SCCM
// detection scripts, compliance checks). Every document is one JSON
// object with the same head, so one parser serves them all:
//
//	{
//	  "schema": "trustlaunch.whitelist.check",  // which command wrote it
//	  "version": 1,                             // of that shape
//	  "ok": true,                               // what exit status 0 says
//	  "problems": [                             // never null
//	    {"file": "...", "line": 3, "severity": "error", "message": "...", "fix": "..."}
//	  ],
//	  ...                                       // the command's own fields
//	}
//
// The names are an interface (docs/admin.md "Output for scripts"):
// fields may be added within a version, never renamed, removed or given
// another meaning; that takes a new version. Tests pin each shape.

// jsonVersion is the version of every schema this build writes.
const jsonVersion = 1

// jsonHead starts every --json document; each command's document embeds
// it, so that its fields come first.
type jsonHead struct {
	Schema   string        `json:"schema"`
	Version  int           `json:"version"`
	OK       bool          `json:"ok"`
	Problems []jsonProblem `json:"problems"`
}

// newHead returns the head for the command path, "whitelist check".
func newHead(command string) jsonHead {
	return jsonHead{Schema: "trustlaunch." + strings.ReplaceAll(command, " ", "."), Version: jsonVersion, Problems: []jsonProblem{}}
}

// Severities of a jsonProblem.
const (
	severityError   = "error"   // the file or check fails: exit status 1
	severityWarning = "warning" // valid, but probably not what was meant
)

// jsonProblem is one finding: where (a file and line, when it has one),
// how bad, what, and the fix when one is known.
type jsonProblem struct {
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Key      string `json:"key,omitempty"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// add appends a problem, made inert: messages quote files and the network.
func (h *jsonHead) add(p jsonProblem) {
	p.Message = safetext.Inert(p.Message)
	p.Fix = safetext.Inert(p.Fix)
	h.Problems = append(h.Problems, p)
}

// addJSONFlag registers --json on fs.
func addJSONFlag(fs *pflag.FlagSet) *bool {
	return fs.Bool("json", false, "print one JSON object for scripts instead of text (docs/admin.md, \"Output for scripts\")")
}

// writeJSON prints doc on stdout, indented, with the process's secrets
// scrubbed as every line on stderr is. It returns the exit status doc's
// ok field stands for, or failure when stdout cannot be written.
func writeJSON(s *stdio, doc any, ok bool) int {
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		s.errorf("json: %v", err)
		return exitFailure
	}
	out := s.secrets.Scrub(string(data))
	if _, err := io.WriteString(s.stdout, out+"\n"); err != nil {
		s.errorf("json: %v", err)
		return exitFailure
	}
	if !ok {
		return exitFailure
	}
	return exitOK
}
