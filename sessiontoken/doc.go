// Package sessiontoken issues and verifies trustlaunch session tokens:
// the token a portal puts in a launch descriptor, which trustlaunch sends
// to the security proxy (Proxy-Authorization: Bearer, or ?token= over
// WebSocket) and which the proxy checks before it opens the tunnel.
// Portals import it to issue tokens (Issuer); proxies run its Verifier,
// through trustlaunch-tokencheck (a Squid helper, or an HTTP endpoint for
// nginx's auth_request). docs/proxy.md is the same contract for
// administrators.
//
// # The token contract, version 1
//
// A token is a JWS in compact serialization (RFC 7515), signed with EdDSA
// (Ed25519) or ES256 (ECDSA P-256) and nothing else: a proxy holds public
// keys only, never a secret that could mint tokens. Its protected header
// carries
//
//   - alg: "EdDSA" or "ES256", which must fit the key;
//   - typ: "trustlaunch-token+jwt" (Type), so that a JWS the same key
//     signed for another purpose (a signed descriptor) is no token;
//   - kid: the key's RFC 7638 JWK thumbprint (SHA-256, base64url), as for
//     descriptor keys; and no jwk, jku, x5c, x5u or crit.
//
// Its payload is a JSON object with these claims, all required:
//
//   - iss: the portal, as the proxy's configuration lists it (its origin,
//     "https://portal.example.com");
//   - aud: the proxy, as it names itself (its address, as the descriptor's
//     proxy.address gives it, "proxy.example.com:8443"); a string, or an
//     array of strings one of which names the proxy;
//   - dst: the one destination, "host:port", compared in the spelling
//     NormalizeDestination gives on both sides (host name case, one
//     trailing dot, IPv6 brackets and zeros), against the CONNECT request's
//     destination;
//   - iat, exp: NumericDate, whole seconds. exp is at most MaxLifetime (300
//     s) after iat; DefaultLifetime (120 s) is what Issuer gives. A proxy
//     accepts them ClockSkew (30 s) either way of its clock;
//   - jti: the token's name for the single-use rule, 1 to 128 visible
//     ASCII characters, unique per issuer (NewID: 128 random bits);
//   - sub: the user, which the proxy logs.
//
// Other claims are ignored, except nbf, which is checked when present, and
// cnf (RFC 7800, confirmation: binding the token to a key the client holds
// or to a device), which is reserved for a later version: a token that
// carries it is refused, since this version cannot make the check it
// asks for.
//
// A token is at most MaxBytes (16 KiB), the descriptor's bound for its
// token field.
//
// # Single use, and reconnects
//
// A launch opens a tunnel when the emulator connects, and again whenever
// the emulator reconnects within the session, with the same token. So
// "single use" is single client: the first CONNECT that a token admits
// binds its jti to that client's IP address; later CONNECTs with the same
// token from that address are admitted until exp, and from any other
// address refused (Replayed), until exp too. After exp a reconnect is
// refused as Expired and the user starts the session again from the
// portal; tunnels that are already open are not cut at exp, since the
// proxy checks a token only when a tunnel opens.
//
// What this does not stop: a second client behind the same NAT address as
// the first, within the token's lifetime. Binding a token to the client
// itself (cnf) is what the reserved claim is for.
//
// The record of a jti lives until exp plus ClockSkew. MemoryReplay keeps it
// in the verifying process: a proxy host runs one verifier (Squid's
// children-max=1), and a restart of it (squid -k reconfigure restarts
// helpers) forgets every record, which lets a token used before the
// restart be used once more from another address until its exp, at most
// 300 s after it was issued.
//
// Several proxies (hosts behind a load balancer, Squid SMP workers) share
// the records in Redis instead: package redisreplay, a Replay that fails
// closed when Redis cannot answer.
package sessiontoken

import "time"

// The constants of the contract.
const (
	// Type is the typ header of a session token (RFC 8725 section 3.11).
	Type = "trustlaunch-token+jwt"
	// MaxBytes bounds a token: what fits an HTTP header on common proxies.
	// The launch descriptor's token field has the same bound.
	MaxBytes = 16 << 10
	// MaxLifetime bounds exp - iat. A token lives from the descriptor's
	// fetch to the tunnel's first CONNECT (a second) and through the
	// reconnects that the single-use rule admits; five minutes is the
	// signed descriptor's bound too.
	MaxLifetime = 300 * time.Second
	// DefaultLifetime is exp - iat of an Issuer's tokens when not set.
	DefaultLifetime = 120 * time.Second
	// ClockSkew is how far a proxy's clock may be from the portal's: both
	// are servers that keep time.
	ClockSkew = 30 * time.Second
)
