// Package launcher takes a session from the browser's trustlaunch:// link to
// a running emulator: it parses the launch URL, runs the whitelist decision,
// and (with the launch issue) fetches the descriptor, starts the tunnel and
// the emulator from a local profile, and records an audit log.
package launcher
