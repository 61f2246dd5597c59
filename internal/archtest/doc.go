// Package archtest guards the architecture of docs/design.md "Package layout"
// and the conventions that keep it safe, and checks that the documents the
// code cites exist (docs_test.go); it has tests only, built on every GOOS but
// Windows (see arch_test.go for why).
package archtest
