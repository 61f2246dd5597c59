package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at release time with -ldflags "-X main.version=...".
var version = ""

// versionString returns the ldflags version, else the module version from the
// build info (go install), else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func cmdVersion(_ context.Context, s *stdio, args []string) int {
	fs := newFlagSet("version", "Print the version.\n\nUsage:\n  trustlaunch version\n", s)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 {
		s.errorf("version takes no arguments")
		return exitUsage
	}
	fmt.Fprintf(s.stdout, "trustlaunch %s\n", versionString())
	return exitOK
}
