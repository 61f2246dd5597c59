//go:build unix

// Command trustlaunch-tokencheck checks trustlaunch session tokens on a
// proxy host: as Squid's external ACL helper, it admits a CONNECT only when
// its Proxy-Authorization carries a token that a portal's key signed for
// this proxy, this destination and this client; as an HTTP endpoint for
// nginx's auth_request (in front of websockify) and other forward-auth
// proxies, it makes the same check of a WebSocket upgrade (docs/proxy.md).
// Its single-use records live in its memory (one proxy host) or in Redis
// (several).
//
// It is a binary of its own, not a trustlaunch subcommand, because it runs
// beside Squid on a server that runs no launcher: it links the token
// verifier and Squid's protocol and nothing of the client (its launcher,
// descriptor fetch, admin policy or terminal UI), which keeps what a proxy
// host runs small and reviewable.
//
// It builds for Unix only: proxy hosts run it beside Squid, and its check
// of the key file's permissions is the Unix mode's (a check Windows would
// need its access lists for is not made there as a no-op: there is no
// Windows build).
package main

import (
	"context"
	"os"
)

func main() {
	// No signal handling: Squid stops its helpers by closing their stdin,
	// and neither the helper nor the HTTP endpoint holds anything that a
	// SIGTERM could leave half done.
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
