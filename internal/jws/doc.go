// Package jws is trustlaunch's one JWS core: the compact-serialization
// check, the algorithm allow-list, key identifiers and key files shared by
// signed launch descriptors (package descriptor) and session tokens
// (package sessiontoken).
//
// The rules it enforces for every caller:
//
//   - Only EdDSA (Ed25519) and ES256 (ECDSA P-256) verify. The verifier,
//     not the message, chooses the algorithm (RFC 8725 section 3.1): "none",
//     HMAC (a public key misused as a shared secret) and RSA never reach a
//     key. Both are asymmetric, so whoever verifies holds a public key and
//     never a secret that could sign.
//   - The protected header names its key with kid, the key's RFC 7638 JWK
//     thumbprint (SHA-256, base64url): a thumbprint names exactly one key,
//     so a signer and a verifier agree on nothing but the key itself.
//   - The header carries the typ the caller expects (RFC 8725 section
//     3.11, explicit typing), so a JWS signed for one purpose is never
//     taken for another by a key that signs both.
//   - A key that travels with the message (jwk, jku, x5c, x5u) is refused:
//     the trust anchor is the verifier's. So is crit: no extension is
//     understood.
//   - A size bound is checked before anything is decoded.
//
// The JOSE parsing and the signature checks are
// github.com/go-jose/go-jose/v4's, given the allow-list. The header is
// also read here first, so that each refusal can say what was wrong.
//
// It imports nothing of trustlaunch but the text sanitizer: the Squid helper
// that checks session tokens on a proxy host links it without the launcher,
// the descriptor's fetch code or a user interface.
package jws
