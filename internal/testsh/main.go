// Command testsh holds the parts of test.sh that are better written in Go
// than in shell: the install check and the filter of go test's output used
// when test.sh runs without root.
//
//	go run ./internal/testsh programs PACKAGE...
//	go run ./internal/testsh gotest SKIPS-FILE < go-test-json
//
// programs checks that every program the tests and scripts run
// (internal/debpkg) is provided by a Debian package in the closure of
// PACKAGE... (test.sh's DEBIAN_PACKAGES) over Depends and Pre-Depends, or by
// an Essential package, or, for go and gofmt, by the Go toolchain running
// the check. It exits 1 naming each program that is not, so a package that
// was installed by hand on one machine cannot hide a missing install step.
//
// gotest reads `go test -json` on its standard input and prints what go test
// prints without -v (the output of failed tests, the package lines, build
// errors); it writes the tests that skipped for want of root, one
// "package test" a line, to SKIPS-FILE, and exits 1 when a test or package
// failed.
//
// Test support only: nothing in the product imports it.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: go run ./internal/testsh programs PACKAGE...
       go run ./internal/testsh gotest SKIPS-FILE < go-test-json`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "programs":
		if len(args) < 2 {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		problems, err := checkPrograms(args[1:], systemDpkg{})
		if err != nil {
			fmt.Fprintf(stderr, "testsh: programs: %v\n", err)
			return 1
		}
		for _, p := range problems {
			fmt.Fprintf(stderr, "test.sh: install check: %s\n", p)
		}
		if len(problems) > 0 {
			fmt.Fprintf(stderr, "test.sh: install check: %d of the programs the tests run would be missing on a fresh machine\n", len(problems))
			return 1
		}
		fmt.Fprintf(stdout, "test.sh: install check: every program the tests run comes from DEBIAN_PACKAGES, an Essential package or the Go toolchain\n")
		return 0
	case "gotest":
		if len(args) != 2 {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		failed, err := filterGoTest(stdin, stdout, args[1])
		if err != nil {
			fmt.Fprintf(stderr, "testsh: gotest: %v\n", err)
			return 1
		}
		if failed {
			return 1
		}
		return 0
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
}
