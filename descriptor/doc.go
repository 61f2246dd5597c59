// Package descriptor is the launch descriptor: the JSON a portal serves for
// one session (docs/design.md "The descriptor"), how it is fetched, and how a
// signed one is verified.
//
//   - Decode is the strict descriptor v1 decoder: unknown, duplicate and
//     case-variant fields are errors naming their path, and every value is
//     checked before a Descriptor exists. A Descriptor never prints its
//     token.
//   - Fetch gets a descriptor over HTTPS from the origin the whitelist
//     decided, and from nowhere else: redirects stay on that origin, the
//     certificate is always verified (system roots and the admin CA
//     bundle), the size and the content type are bounded, and no error
//     shows the URL's single-use ticket. Post sends a body the same way.
//   - VerifySigned checks a signed descriptor (a compact JWS, EdDSA or
//     ES256 only) against publisher keys it is given; Sign, GenerateKey
//     and the PEM functions are the portal's side, for `trustlaunch
//     descriptor`.
//
// It is a package of its own because it is what the network says, and all
// of it must be checked before anything else reads it: the code that parses
// and fetches untrusted input stays small and reviewable apart from the
// launch it feeds. It decides nothing about trust: the keys come in through
// the Publishers interface, which the admin policy (package policy)
// satisfies, so this package never imports the policy, the launcher or a
// user interface.
package descriptor
