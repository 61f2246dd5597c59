// Package redact is the one scrubber of secrets from text. A Set is the
// registry of every secret a process holds: the session token, the
// outbound proxy's password, the ticket in the query of a descriptor or
// detect URL. Whoever learns a secret adds it (the launch, the connector,
// the descriptor fetch), and every text on its way to a terminal, a log
// line or the audit record passes through Set.Scrub, which replaces each
// spelling of each secret with "[redacted]".
//
// A peer that refuses a credential often quotes it back, and not always as
// it was sent: a proxy may decode the query it was given, re-escape it with
// lower-case hex, upper-case it, quote it as a Go or JSON string, base64 it
// (a Basic credential, a JWS that embeds it) at any offset, or cut it
// short. So a secret is not looked for as bytes but as a spelling:
//
//   - the forms of a secret are its views (as it is, and after each of
//     maxDecode rounds of decoding: every %XX in either case of hex, and
//     every \xXX and \u00XX of Go and JSON strings), its query escaping,
//     and its standard base64 encodings at each of the three byte
//     alignments it can have in a longer encoded message (only the
//     characters that depend on the secret's bytes alone), plus its own
//     padded encoding;
//   - a text is looked at in the same views;
//   - bytes are compared after fold: ASCII case is ignored; "+", "-" and
//     " " are one character, and so are "/" and "_" (base64, base64url, a
//     form's space); backslashes are left out, so the quoting of Go and
//     JSON (\\ \" \/) changes nothing;
//   - a run of a form is any MinRun consecutive characters of it (the
//     whole form when it is shorter); a text holds a secret wherever one
//     of its views holds such a run, and the bytes of the text behind
//     every such run are replaced.
//
// MinRun is 16. A cut of a secret shorter than that is not caught, on
// purpose: 16 characters of a base64 token or ticket carry 80 bits or more
// even with case folded, so no ordinary text shares such a run with a
// secret by chance, while runs of 8 to 12 characters of a base64 alphabet
// turn up in words, host names and paths, and scrubbing them would garble
// messages. A form shorter than MinRun is caught whole. An encoded form
// shorter than minEncoded (8) characters is not looked for at all: that
// short a fragment of base64 matches ordinary text, and it comes from a
// secret of a few bytes, which is still caught as written.
//
// Matching every window of length MinRun finds every longer run too (each
// of its windows is a window of the secret), in time linear in the text:
// the windows of every form are indexed once, in a map, the first time the
// Set scrubs after a secret was added.
package redact
