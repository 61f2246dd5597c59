// Package xnu reads what the macOS kernel (XNU) says about TCP sockets and
// processes, for the owner check of the tunnel's local end
// (docs/design.md "Connector": the local end admits only the emulator and
// its descendants).
//
// Two sources, both private to Apple and so both parsed defensively:
//
//   - the sysctl net.inet.tcp.pcblist_n, the kernel's list of TCP protocol
//     control blocks with the socket of each (netstat's source): it names
//     the uid that created the client end of a connection;
//   - libproc's proc_pidinfo(PROC_PIDLISTFDS) and
//     proc_pidfdinfo(PROC_PIDFDSOCKETINFO) (lsof's source): they say which
//     process holds that socket.
//
// The parsers are pure Go and run on every OS, so they are tested and
// fuzzed on Linux against records built from the published layouts; only
// the calls that fetch the bytes are darwin-only (pcblist_darwin.go,
// libproc_darwin.go). Every record describes its own length and kind, and
// each is checked against the layouts below: a length or kind this package
// does not know is an error, so a macOS release that changes a structure
// refuses launches with a message saying so instead of misreading a uid or
// a port. Nothing here ever falls back to "owner unknown, admit".
package xnu
