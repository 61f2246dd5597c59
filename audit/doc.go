// Package audit is the record of every launch: one JSON line per launch in
// the user's audit log (Log: private, locked, rotated at 10 MiB, read back
// by `trustlaunch log`). A Record has no field for the token, its
// descriptor URL loses its query and fragment (the ticket) when written,
// and every text field is scrubbed of the run's secrets and sanitized
// first (docs/design.md "Secrets and text from the network").
//
// It imports neither the launcher nor any user interface: launcher.Launch
// and launcher.Detect fill a Record and append it; cmd/trustlaunch reads it
// back.
package audit
