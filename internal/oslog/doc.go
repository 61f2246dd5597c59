// Package oslog writes one entry to the operating system's log, where an
// administrator's collector (a SIEM, journald's remote upload, rsyslog
// forwarding, Windows Event Forwarding) picks it up (docs/admin.md
// "Launch records"):
//
//   - Linux: journald's native protocol, a datagram of structured fields to
//     /run/systemd/journal/socket (a sealed memfd when the entry is too big
//     for one), where journald runs; otherwise RFC 5424 with structured
//     data to /dev/log (rsyslog, syslog-ng);
//   - Windows: the Application event log, under the event source
//     "trustlaunch" that the MSI registers, one event ID per kind of entry;
//   - elsewhere: nothing yet (ErrNoLog).
//
// It knows nothing of launches: the caller (package audit) gives it an
// Entry whose text is already scrubbed of secrets and sanitized. It
// imports nothing of ours.
package oslog
