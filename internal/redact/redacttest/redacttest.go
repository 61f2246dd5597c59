// Package redacttest is test support for the scrubbing of secrets
// (internal/redact): a check that a text holds no spelling of a secret,
// written without the redact.Set's index, so that the tests of every
// package whose output is scrubbed (connector, launcher, the CLI) measure
// against one reference. Only tests import it.
package redacttest

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Run is redact.MinRun, the shortest cut of a secret that must not
// survive: this package does not import redact, so that redact's own
// tests can use it; they check that the two agree.
const Run = 16

// EncodedAt is the encoding by enc of secret between other bytes, with k
// (0, 1 or 2) of them before it: how a secret looks inside a longer
// encoded message (a Basic credential, a JWS payload) at each of the three
// byte alignments.
func EncodedAt(enc *base64.Encoding, secret string, k int) string {
	return enc.EncodeToString([]byte("{p:"[:k] + secret + `"}`))
}

// Inner returns an encoding from EncodedAt without its padding and the 4
// characters at either end, which can hold bits of the bytes around the
// secret (2 bytes are 16 bits, over at most 4 characters of 6 bits).
func Inner(encoded string) string {
	e := strings.TrimRight(encoded, "=")
	if len(e) < 8 {
		return ""
	}
	return e[4 : len(e)-4]
}

// Leak finds in text a run of Run characters of a spelling of secret: as
// it is, query-escaped, every byte percent-encoded, or the base64 of it at
// any of the three byte alignments. Spellings are compared in ASCII lower
// case, with "-" and " " as "+" and "_" as "/" (so base64url and a form's
// spaces count too).
func Leak(text, secret string) (run string, found bool) {
	norm := strings.NewReplacer("-", "+", " ", "+", "_", "/").Replace
	t := norm(strings.ToLower(text))
	var pct strings.Builder
	for i := 0; i < len(secret); i++ {
		pct.WriteByte('%')
		pct.WriteString(hex2(secret[i]))
	}
	spellings := []string{secret, url.QueryEscape(secret), pct.String()}
	for k := range 3 {
		spellings = append(spellings, Inner(EncodedAt(base64.StdEncoding, secret, k)))
	}
	for _, s := range spellings {
		s = norm(strings.ToLower(s))
		for i := 0; i+Run <= len(s); i++ {
			if w := s[i : i+Run]; strings.Contains(t, w) {
				return w, true
			}
		}
	}
	return "", false
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}
