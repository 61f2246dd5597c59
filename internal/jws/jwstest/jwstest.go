// Package jwstest signs compact JWS by hand for tests: any header and
// payload, with an Ed25519, ECDSA P-256 or RSA key, so that a test can put
// under a valid signature what no issuer would write (alg none or RS256, a
// wrong kid, a forged claim) and see a refusal come from what the token
// says, not from its signature. Only tests import it.
package jwstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// B64 is the unpadded base64url of a JWS part.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Sign returns header.payload.signature with header and payload encoded as
// given: EdDSA for an Ed25519 key, ES256 (r||s) for ECDSA, RS256 for RSA,
// whatever the header's alg says.
func Sign(t testing.TB, key crypto.Signer, header, payload []byte) string {
	t.Helper()
	input := B64(header) + "." + B64(payload)
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case *ecdsa.PrivateKey:
		sum := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case *rsa.PrivateKey:
		sum := sha256.Sum256([]byte(input))
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("jwstest: key %T", key)
	}
	return input + "." + B64(sig)
}
