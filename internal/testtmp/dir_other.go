//go:build !windows

package testtmp

import "testing"

// dir is t.TempDir: its os.RemoveAll works wherever the tests run on a
// non-Windows OS.
func dir(tb testing.TB) string {
	tb.Helper()
	return tb.TempDir()
}
