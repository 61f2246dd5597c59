package testtmp

import "testing"

// dir is the walk: see the package comment for why t.TempDir is not used.
func dir(tb testing.TB) string {
	tb.Helper()
	return walkedDir(tb)
}
