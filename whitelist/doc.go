// Package whitelist decides whether a server may launch anything on this
// machine: the trusted-server list of Pulse Secure / Ivanti Connect Secure,
// made exact (docs/design.md "The decision flow").
//
// ParseOrigin normalizes the descriptor URL's host through the pipeline of
// docs/design.md "Origins and matching"; Parse reads a whitelist file; Decide
// runs the flow as a pure function of (descriptor URL, admin list, user list,
// Prompter); AddToUserList records an Always answer under a lock.
//
// Matching is exact on the normalized host, never by substring or suffix: an
// entry "example.com" does not admit "www.example.com". An entry without a
// port admits every port of its host; "host:port" admits that port only.
package whitelist
