package descriptor

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Signed descriptors (docs/descriptor.md "Signed descriptors"): a JWS in compact serialization (RFC 7515
// section 7.1), served as Content-Type application/jose, whose payload is a
// descriptor v1 object with iat and exp, signed by a publisher key of the
// admin policy, named by kid.
//
// The JOSE parsing and the signature checks are github.com/go-jose/go-jose/v4's,
// told to accept exactly EdDSA and ES256 (RFC 8725 section 3.1: the
// verifier, not the token, chooses the algorithm), so "none", HMAC (the
// public key used as a shared secret) and RSA never reach a verifier.
const (
	// JWSContentType is the media type of a signed descriptor (RFC 7515
	// section 9.2.1).
	JWSContentType = "application/jose"
	// JWSType is the typ header a signed descriptor carries (RFC 8725
	// section 3.11, explicit typing): a JWS the same key signed for another
	// purpose is not a descriptor.
	JWSType = "trustlaunch-descriptor+jws"
	// ClockSkew is how far the local clock may be from the portal's.
	ClockSkew = 60 * time.Second
	// maxJWSBytes bounds a signed descriptor before it is parsed.
	maxJWSBytes = DefaultMaxBytes * 2
)

// allowedAlgs are the only JWS algorithms a signed descriptor may use.
var allowedAlgs = []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256}

// StepSignature is the step at which a signed descriptor whose
// signature the admin policy does not accept is refused.
const StepSignature = "descriptor-signature"

// SignatureError is a signed descriptor that was refused: not a compact
// JWS, an algorithm other than EdDSA and ES256, a kid that names no
// publisher, a signature that does not verify, times out of range, or an
// origin the publisher is not bound to. The message is sanitized.
type SignatureError struct {
	KeyID string // the kid of the header, when it was read (sanitized)
	msg   string
}

func (e *SignatureError) Error() string { return "signed descriptor: " + e.msg }

func sigErr(kid, format string, args ...any) error {
	return &SignatureError{KeyID: kid, msg: fmt.Sprintf(format, args...)}
}

// VerifyOptions configure VerifySigned.
type VerifyOptions struct {
	// Publishers holds the publisher keys (the admin policy); nil refuses
	// every signed descriptor, since no key is trusted.
	Publishers Publishers
	// Origin is the origin the descriptor was fetched from; a publisher
	// bound to origins signs only for those. Zero: an origin-bound key
	// refuses.
	Origin whitelist.Origin
	// Now is the time to check iat and exp against; time.Now when zero.
	Now time.Time
}

// VerifySigned verifies a signed descriptor and returns the descriptor,
// with Publisher and PublisherKeyID set. The checks, in order: the compact
// form, the header (alg EdDSA or ES256, typ JWSType, a kid, no embedded key
// or certificate), the kid naming a publisher of the policy with a key of
// that alg, the signature, the payload as a strict descriptor v1 with iat
// and exp, the times with ClockSkew, and the publisher's origin binding.
// Errors are *SignatureError, or *Error for the payload.
func VerifySigned(data []byte, o VerifyOptions) (*Descriptor, error) {
	if len(data) > maxJWSBytes {
		return nil, sigErr("", "larger than %s", platform.SizeName(maxJWSBytes))
	}
	// A portal's template may end the body with a newline; nothing else
	// may surround the three parts.
	s := string(bytes.TrimRight(data, "\r\n"))
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, sigErr("", "not a JWS in compact form (want three base64url parts separated by dots, got %d)", len(parts))
	}
	for i, p := range parts {
		if p == "" {
			return nil, sigErr("", "part %d of 3 is empty (truncated?)", i+1)
		}
		if strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return nil, sigErr("", "part %d of 3 is not base64url", i+1)
		}
	}
	hdr, err := readHeader(parts[0])
	if err != nil {
		return nil, err
	}
	kid := safetext.Excerpt(hdr.Kid, 80)
	if !isAllowedAlg(hdr.Alg) {
		return nil, sigErr(kid, "alg %s is not allowed; a signed descriptor uses EdDSA or ES256", safetext.QuoteExcerpt(hdr.Alg, 40))
	}
	if hdr.Typ != JWSType {
		return nil, sigErr(kid, "typ %s is not %q", safetext.QuoteExcerpt(hdr.Typ, 60), JWSType)
	}
	if hdr.Kid == "" {
		return nil, sigErr("", "the header has no kid naming the publisher key")
	}
	for _, h := range []struct {
		name string
		set  bool
	}{{"jwk", hdr.JWK != nil}, {"jku", hdr.JKU != ""}, {"x5c", hdr.X5C != nil}, {"x5u", hdr.X5U != ""}, {"crit", hdr.Crit != nil}} {
		if h.set {
			// A key that comes with the message is no trust anchor.
			return nil, sigErr(kid, "the header carries %s, which trustlaunch does not accept; the key comes from the admin policy", h.name)
		}
	}
	var pub *Publisher
	ok, src := false, ""
	if o.Publishers != nil {
		pub, ok = o.Publishers.Publisher(hdr.Kid)
		src = o.Publishers.PublishersSource()
	}
	if !ok {
		where := "there is no admin policy"
		if src != "" {
			where = "the admin policy " + src + " names no publisher with this key"
		}
		return nil, sigErr(kid, "kid %s: %s", safetext.Quote(kid), where)
	}
	if hdr.Alg != pub.Alg {
		return nil, sigErr(kid, "alg %s does not fit publisher %s's key, which signs with %s", hdr.Alg, safetext.Quote(pub.Name), pub.Alg)
	}
	jws, err := jose.ParseSignedCompact(s, allowedAlgs)
	if err != nil {
		return nil, sigErr(kid, "not a valid JWS: %s", safetext.Excerpt(strings.TrimPrefix(err.Error(), "go-jose/go-jose: "), 120))
	}
	if len(jws.Signatures) != 1 {
		return nil, sigErr(kid, "want exactly one signature, got %d", len(jws.Signatures))
	}
	payload, err := jws.Verify(pub.Key)
	if err != nil {
		return nil, sigErr(kid, "the signature does not verify with publisher %s's key (forged, or altered after signing)", safetext.Quote(pub.Name))
	}
	d, err := Decode(payload)
	if err != nil {
		return nil, err
	}
	if err := checkValidity(d, o.now(), true); err != nil {
		return nil, err
	}
	if len(pub.Origins) > 0 {
		bound := false
		for _, e := range pub.Origins {
			bound = bound || e.Matches(o.Origin)
		}
		if !bound {
			from := "an unknown origin"
			if !o.Origin.IsZero() {
				from = o.Origin.String()
			}
			return nil, sigErr(kid, "publisher %s signs only for %s (policy line %d), and this descriptor came from %s", safetext.Quote(pub.Name), originList(pub.Origins), pub.Line, from)
		}
	}
	d.Publisher, d.PublisherKeyID = pub.Name, pub.KeyID
	return d, nil
}

func (o VerifyOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func originList(es []whitelist.Entry) string {
	var ss []string
	for _, e := range es {
		ss = append(ss, e.String())
	}
	return strings.Join(ss, ", ")
}

// checkValidity checks iat and exp against now, with ClockSkew either
// way. A signed descriptor must carry both; an unsigned one is checked
// only for what it carries.
func checkValidity(d *Descriptor, now time.Time, signed bool) error {
	if signed && d.IssuedAt == 0 {
		return sigErr(d.PublisherKeyID, "the payload has no iat; a signed descriptor carries iat and exp")
	}
	if signed && d.Expires == 0 {
		return sigErr(d.PublisherKeyID, "the payload has no exp; a signed descriptor carries iat and exp")
	}
	skew := int64(ClockSkew / time.Second)
	t := now.Unix()
	if d.IssuedAt != 0 && t+skew < d.IssuedAt {
		return &SignatureError{msg: fmt.Sprintf("not valid yet: iat is %s, %d s ahead of this computer's clock (check the date and time)", time.Unix(d.IssuedAt, 0).UTC().Format(time.RFC3339), d.IssuedAt-t)}
	}
	if d.Expires != 0 && t-skew >= d.Expires {
		return &SignatureError{msg: fmt.Sprintf("expired at %s, %d s ago (start the session again from the portal)", time.Unix(d.Expires, 0).UTC().Format(time.RFC3339), t-d.Expires)}
	}
	return nil
}

// jwsHeader is the protected header as read before go-jose parses it, so
// that each refusal can say what was wrong.
type jwsHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	JWK  json.RawMessage `json:"jwk"`
	JKU  string          `json:"jku"`
	X5C  json.RawMessage `json:"x5c"`
	X5U  string          `json:"x5u"`
	Crit json.RawMessage `json:"crit"`
}

func readHeader(b64 string) (*jwsHeader, error) {
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return nil, sigErr("", "the header is not base64url")
	}
	var h jwsHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, sigErr("", "the header is not a JSON object")
	}
	return &h, nil
}

func isAllowedAlg(alg string) bool {
	for _, a := range allowedAlgs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// Sign signs a descriptor as a publisher: payload is descriptor
// JSON, checked with Decode first; iat and exp are set from now
// and ttl unless the payload has them. It returns the compact JWS.
func Sign(payload []byte, key crypto.Signer, now time.Time, ttl time.Duration) ([]byte, error) {
	if ttl <= 0 || ttl > MaxLifetime*time.Second {
		return nil, fmt.Errorf("lifetime %v: want more than 0 and at most %d s", ttl, MaxLifetime)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil {
		if _, err := Decode(payload); err != nil {
			return nil, err
		}
		return nil, errors.New("descriptor: not a JSON object")
	}
	if _, ok := obj["iat"]; !ok {
		obj["iat"] = json.RawMessage(fmt.Sprint(now.Unix()))
	}
	if _, ok := obj["exp"]; !ok {
		var iat int64
		_ = json.Unmarshal(obj["iat"], &iat)
		obj["exp"] = json.RawMessage(fmt.Sprint(iat + int64(ttl/time.Second)))
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if _, err := Decode(body); err != nil {
		return nil, err
	}
	pub := key.Public()
	kid, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	var alg jose.SignatureAlgorithm
	switch k := pub.(type) {
	case ed25519.PublicKey:
		alg = jose.EdDSA
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("the key is ECDSA but not P-256; want Ed25519 or P-256")
		}
		alg = jose.ES256
	default:
		return nil, fmt.Errorf("the key is %T; want Ed25519 or ECDSA P-256", pub)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(JWSType))
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	jws, err := signer.Sign(body)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return []byte(out), nil
}

// GenerateKey makes a publisher key: alg is "EdDSA" (Ed25519, the default)
// or "ES256" (ECDSA P-256, for HSMs and clouds without Ed25519).
func GenerateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "", string(jose.EdDSA), "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case string(jose.ES256), "p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unknown key type %s; want EdDSA (Ed25519) or ES256 (P-256)", safetext.Quote(alg))
}

// MarshalPrivateKeyPEM returns a PKCS #8 "PRIVATE KEY" PEM block.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKeyPEM returns a PKIX "PUBLIC KEY" PEM block, the form the
// policy's publishers.key takes.
func MarshalPublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM parses what MarshalPrivateKeyPEM wrote.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM PRIVATE KEY (PKCS #8), as trustlaunch descriptor keygen writes")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key does not parse: %w", err)
	}
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return k, nil
		}
	}
	return nil, fmt.Errorf("private key is %T; want Ed25519 or ECDSA P-256", k)
}

// ParsePublicKeyPEM parses a PEM "PUBLIC KEY" (PKIX SubjectPublicKeyInfo)
// holding an Ed25519 or ECDSA P-256 key, and returns the JWS algorithm that
// key signs with: EdDSA or ES256, the only two trustlaunch accepts.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, string, error) {
	block, rest := pem.Decode(data)
	if block == nil || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, "", errors.New("key must be one PEM block, -----BEGIN PUBLIC KEY----- (what trustlaunch descriptor keygen writes to FILE.pub)")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, "", fmt.Errorf("key is a PEM %s, want PUBLIC KEY", safetext.QuoteExcerpt(block.Type, 40))
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("key does not parse: %s", safetext.Excerpt(err.Error(), 120))
	}
	switch k := key.(type) {
	case ed25519.PublicKey:
		return k, string(jose.EdDSA), nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return k, string(jose.ES256), nil
		}
		return nil, "", fmt.Errorf("key is ECDSA on %s; want P-256 (ES256) or Ed25519", k.Curve.Params().Name)
	}
	return nil, "", fmt.Errorf("key is %T; want Ed25519 or ECDSA P-256", key)
}

// KeyID returns the kid of a publisher key: its RFC 7638 JWK thumbprint
// with SHA-256, base64url without padding. A thumbprint names exactly one
// key, so a portal and an administrator need agree on nothing but the key.
func KeyID(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}
