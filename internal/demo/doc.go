// Package demo is the embedded world of `trustlaunch demo`: an HTTPS portal
// that serves a (signed) launch descriptor, a TLS CONNECT proxy that checks
// the session token, and a host behind it (a TN3270 application for c3270,
// or a line host), all on 127.0.0.1. The launch itself then runs the real
// flow of launcher.Launch against them.
//
// It is the only production package that imports connector/proxytest (the
// in-process reference proxies), which is why it lives apart from the
// launch pipeline: internal/archtest checks that no other package of the
// binary does.
package demo
