// Package platform holds the operating-system specific parts of trustlaunch:
// where its files live, whether an administrator's file can be trusted, and
// how files are locked and replaced without ever being seen half written.
//
// Every exported function exists on Linux, macOS and Windows. The exported
// wrapper lives in a neutral file (paths.go, adminfile.go, lock.go,
// atomic.go, mkdir.go) and calls an unexported function that each OS file
// (x_linux.go, x_darwin.go, x_windows.go, or x_unix.go where Linux and macOS
// share the code) defines. A port that forgets one fails to compile instead
// of silently skipping a security check.
//
// The admin paths are fixed per OS and never derived from environment
// variables, because the admin whitelist decides what may launch without a
// prompt (docs/design.md "Whitelist files"): a user who could move it could
// whitelist any server. CheckAdminFile then makes sure that only an
// administrator could have written the file, walking every directory on the
// way to it as OpenSSH's safe_path does.
//
// The user's own files are updated under Lock, with WriteFileAtomic, inside a
// directory made by MkdirPrivate, so concurrent launches lose no update and a
// crash never leaves a torn file. CheckUserFile is the one rule, for reader
// and writer alike, that no one but the user could have written them, and
// ReadUserFile reads them under it, checking the very file it reads.
//
// Every other file that a user or an administrator names is read with
// ReadRegularFile: capped, and refusing a named pipe or a device before
// it is opened, so that no read waits for a writer that never comes.
//
// This package imports nothing else from trustlaunch, never prints and never
// exits; it reports everything as errors.
package platform
