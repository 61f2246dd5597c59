// Package archtest guards the architecture of DESIGN.md ("Layout") and the
// conventions that keep it safe; it has tests only, built on every GOOS but
// Windows (see arch_test.go for why).
package archtest
