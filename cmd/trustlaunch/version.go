package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the release build, goreleaser.yaml's ldflags:
// -X main.version=... -X main.commit=... -X main.date=...
// A build from a clone (go install, go build) leaves them empty, and Go's
// own build information fills in what it knows (buildInfoFrom).
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo is what "trustlaunch version" reports, the fields a bug report
// needs. The JSON names are an interface: scripts read them.
type buildInfo struct {
	Version string `json:"version"`
	// Commit is the full commit hash; Modified says the tree had changes
	// the commit does not hold (a build from a clone with local edits).
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// Date is the commit's time (RFC 3339). Release builds are
	// reproducible, so they carry no clock time of their own: the build
	// date is the commit's.
	Date string `json:"date,omitempty"`
	Go   string `json:"go"`
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// currentBuild reports this binary.
func currentBuild() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return buildInfoFrom(bi, version, commit, date)
}

// buildInfoFrom merges the release build's ldflags values (which win) with
// Go's build information (bi may be nil): the main module's version
// (a tag, or for a build from a clone a pseudo-version), and the VCS
// settings go build stamps into a binary built inside a git checkout.
func buildInfoFrom(bi *debug.BuildInfo, ldVersion, ldCommit, ldDate string) buildInfo {
	// goreleaser fills in "none" and the zero time when it finds no git
	// repository (a snapshot built from a tarball): nothing is known then.
	if ldCommit == "none" {
		ldCommit = ""
	}
	if strings.HasPrefix(ldDate, "0001-01-01") {
		ldDate = ""
	}
	b := buildInfo{Version: ldVersion, Commit: ldCommit, Date: ldDate, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi == nil {
		if b.Version == "" {
			b.Version = "devel"
		}
		return b
	}
	b.Go = bi.GoVersion
	if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	var revision, vcsTime string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			vcsTime = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if b.Commit == "" {
		// The stamp describes the checkout this binary was built from;
		// a release's commit came from its ldflags and stands alone.
		b.Commit, b.Modified = revision, modified
	}
	if b.Date == "" {
		b.Date = vcsTime
	}
	return b
}

const versionHelp = `Print the version of trustlaunch, the commit it was built from, the commit's
date, the Go version and the OS and architecture it was built for.

Usage:
  trustlaunch version [--json]

Paste it into a bug report. A build from a clone (go install) shows Go's
pseudo-version and the checkout's commit, with "(modified)" when the tree
had local changes.

Examples:
  trustlaunch version
  trustlaunch version --json
`

func cmdVersion(_ context.Context, s *stdio, args []string) int {
	fs := newFlagSet("version", versionHelp, s)
	asJSON := fs.Bool("json", false, "print one JSON object (version, commit, modified, date, go, os, arch)")
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 {
		s.errorf("version takes no arguments")
		return exitUsage
	}
	b := currentBuild()
	if *asJSON {
		out, err := json.Marshal(b)
		if err != nil {
			s.errorf("version: %v", err)
			return exitFailure
		}
		fmt.Fprintf(s.stdout, "%s\n", out)
		return exitOK
	}
	// The first line stays "trustlaunch VERSION": what scripts and the
	// package test read.
	fmt.Fprintf(s.stdout, "trustlaunch %s\n", b.Version)
	if b.Commit != "" {
		mod := ""
		if b.Modified {
			mod = " (modified)"
		}
		fmt.Fprintf(s.stdout, "commit:  %s%s\n", b.Commit, mod)
	}
	if b.Date != "" {
		fmt.Fprintf(s.stdout, "date:    %s\n", b.Date)
	}
	fmt.Fprintf(s.stdout, "go:      %s\n", b.Go)
	fmt.Fprintf(s.stdout, "os/arch: %s/%s\n", b.OS, b.Arch)
	return exitOK
}

// versionString is this binary's version: the release's, else Go's
// version of the main module, else "devel". The user agent, the detection
// POST and a descriptor's min_version check use it.
func versionString() string { return currentBuild().Version }
