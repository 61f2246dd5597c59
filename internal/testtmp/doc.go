// Package testtmp gives tests temporary directories whose cleanup works on
// every OS the Windows tests run on, Wine 8.0 included. Only tests import it.
//
// Dir(t) is a drop-in for t.TempDir(). On Linux and macOS it is t.TempDir.
// On Windows it makes the directory with os.MkdirTemp and removes it at
// cleanup by walking the tree and calling os.Remove on every entry, deepest
// first, failing the test on the first error.
//
// Why not t.TempDir on Windows: Go 1.26's os.RemoveAll deletes through
// NtSetInformationFile(FileDispositionInformationEx), which Wine 8.0 answers
// with STATUS_NOT_IMPLEMENTED, an error Go's delete does not fall back on
// (internal/syscall/windows/at_windows.go), so every t.TempDir cleanup fails
// there with "unlinkat ...: Invalid function" while os.Remove works. The walk
// is used on real Windows too rather than only when Wine is detected, so that
// the code the Wine run exercises is the code Windows runs. It never ignores
// an error: a file that cannot be removed (a handle a test left open) fails
// the test, as a leak should. Unlike testing's own cleanup it does not retry
// on a sharing violation, which on real Windows comes from an open handle or
// an antivirus scanner.
package testtmp
