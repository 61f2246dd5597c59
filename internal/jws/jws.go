package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// The only algorithms a trustlaunch JWS may use, as the alg header spells
// them.
const (
	EdDSA = "EdDSA" // Ed25519 (RFC 8037)
	ES256 = "ES256" // ECDSA P-256 with SHA-256 (RFC 7518 section 3.4)
)

// allowedAlgs is the allow-list given to go-jose.
var allowedAlgs = []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256}

// Reason classifies a refused JWS, so that callers decide on a kind of
// failure without reading its text.
type Reason int

// The reasons Verify refuses a JWS for. A kid that names no key is the
// caller's own error, returned by its key lookup.
const (
	// Malformed: not three base64url parts, a header that is not a JSON
	// object, no kid, or a JWS go-jose does not parse.
	Malformed Reason = iota + 1
	// Oversized: longer than the caller's bound, checked before decoding.
	Oversized
	// BadAlgorithm: alg is neither EdDSA nor ES256, or does not fit the
	// key the kid names.
	BadAlgorithm
	// BadType: typ is not the one the caller expects.
	BadType
	// CarriedKey: the header carries a key or a pointer to one (jwk, jku,
	// x5c, x5u), or crit.
	CarriedKey
	// BadSignature: the signature does not verify with the key.
	BadSignature
)

// Error is a refused JWS. Its message never holds the JWS, and whatever
// it quotes of the header is sanitized.
type Error struct {
	Reason Reason
	KeyID  string // the header's kid, sanitized, once it was read
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(r Reason, kid, format string, args ...any) *Error {
	return &Error{Reason: r, KeyID: kid, Msg: fmt.Sprintf(format, args...)}
}

// Header is the protected header as Verify read it. Kid and Typ are as
// the signer wrote them: sanitize them before showing them.
type Header struct {
	Alg string // EdDSA or ES256
	Kid string
	Typ string
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Type is the typ the header must carry.
	Type string
	// Kind names what is verified in messages: "a signed descriptor",
	// "a session token".
	Kind string
	// MaxBytes bounds the compact JWS; it is checked first.
	MaxBytes int
	// Key returns the public key kid names, which must sign with alg. Its
	// error is returned by Verify as it is: the caller words "no such
	// key" for its own trust store.
	Key func(kid, alg string) (crypto.PublicKey, error)
}

// Verified is what a JWS that passed Verify says.
type Verified struct {
	Header  Header
	Payload []byte
}

// headerJSON is the protected header as read before go-jose parses it.
type headerJSON struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	JWK  json.RawMessage `json:"jwk"`
	JKU  json.RawMessage `json:"jku"`
	X5C  json.RawMessage `json:"x5c"`
	X5U  json.RawMessage `json:"x5u"`
	Crit json.RawMessage `json:"crit"`
}

const b64urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Verify checks a JWS in compact serialization (RFC 7515 section 7.1) and
// returns its header and payload. The checks, in order: the size, three
// non-empty base64url parts, the header (a JSON object; alg EdDSA or
// ES256; the expected typ; a kid; no jwk, jku, x5c, x5u or crit), the key
// the kid names (o.Key), that key's algorithm against alg, and the
// signature. Errors are *Error, or o.Key's.
func Verify(compact string, o VerifyOptions) (*Verified, error) {
	if len(compact) > o.MaxBytes {
		return nil, errorf(Oversized, "", "larger than %s", sizeName(o.MaxBytes))
	}
	var parts [3]string
	n := 0
	for i, rest := 0, compact; ; i++ {
		before, after, more := strings.Cut(rest, ".")
		if i < 3 {
			parts[i] = before
		}
		n++
		if !more {
			break
		}
		rest = after
	}
	if n != 3 {
		return nil, errorf(Malformed, "", "not a JWS in compact form (want three base64url parts separated by dots, got %d)", n)
	}
	for i, p := range parts {
		if p == "" {
			return nil, errorf(Malformed, "", "part %d of 3 is empty (truncated?)", i+1)
		}
		if strings.Trim(p, b64urlAlphabet) != "" {
			return nil, errorf(Malformed, "", "part %d of 3 is not base64url", i+1)
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errorf(Malformed, "", "the header is not base64url")
	}
	var h headerJSON
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, errorf(Malformed, "", "the header is not a JSON object")
	}
	kid := safetext.Excerpt(h.Kid, 80)
	if !allowed(h.Alg) {
		return nil, errorf(BadAlgorithm, kid, "alg %s is not allowed; %s uses EdDSA or ES256", safetext.QuoteExcerpt(h.Alg, 40), o.Kind)
	}
	if h.Typ != o.Type {
		return nil, errorf(BadType, kid, "typ %s is not %q", safetext.QuoteExcerpt(h.Typ, 60), o.Type)
	}
	if h.Kid == "" {
		return nil, errorf(Malformed, "", "the header has no kid naming the key")
	}
	for _, c := range []struct {
		name string
		set  bool
	}{{"jwk", h.JWK != nil}, {"jku", h.JKU != nil}, {"x5c", h.X5C != nil}, {"x5u", h.X5U != nil}, {"crit", h.Crit != nil}} {
		if c.set {
			// A key that comes with the message is no trust anchor.
			return nil, errorf(CarriedKey, kid, "the header carries %s, which trustlaunch does not accept; the key is the verifier's", c.name)
		}
	}
	key, err := o.Key(h.Kid, h.Alg)
	if err != nil {
		return nil, err
	}
	if alg, err := AlgorithmOf(key); err != nil || alg != h.Alg {
		return nil, errorf(BadAlgorithm, kid, "alg %s does not fit the key kid %s names", h.Alg, safetext.Quote(kid))
	}
	sig, err := jose.ParseSignedCompact(compact, allowedAlgs)
	if err != nil {
		return nil, errorf(Malformed, kid, "not a valid JWS: %s", safetext.Excerpt(strings.TrimPrefix(err.Error(), "go-jose/go-jose: "), 120))
	}
	if len(sig.Signatures) != 1 {
		return nil, errorf(Malformed, kid, "want exactly one signature, got %d", len(sig.Signatures))
	}
	payload, err := sig.Verify(key)
	if err != nil {
		return nil, errorf(BadSignature, kid, "the signature does not verify (forged, or altered after signing)")
	}
	return &Verified{Header: Header{Alg: h.Alg, Kid: h.Kid, Typ: h.Typ}, Payload: payload}, nil
}

func allowed(alg string) bool {
	for _, a := range allowedAlgs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// Sign signs payload with key (Ed25519 or ECDSA P-256) and returns the
// compact JWS, its header carrying alg, typ and kid (KeyID of the public
// key).
func Sign(payload []byte, key crypto.Signer, typ string) (string, error) {
	pub := key.Public()
	alg, err := AlgorithmOf(pub)
	if err != nil {
		return "", err
	}
	kid, err := KeyID(pub)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	sig, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	out, err := sig.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return out, nil
}

// AlgorithmOf returns the JWS algorithm a public key verifies: EdDSA for
// Ed25519, ES256 for ECDSA P-256; any other key is an error.
func AlgorithmOf(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return EdDSA, nil
		}
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
		return "", fmt.Errorf("the key is ECDSA on %s; want P-256 (ES256) or Ed25519", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("the key is %T; want Ed25519 or ECDSA P-256", pub)
}

// KeyID returns the kid of a public key: its RFC 7638 JWK thumbprint with
// SHA-256, base64url without padding.
func KeyID(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// sizeName writes a byte count the way limits are documented: "16 KiB".
func sizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
