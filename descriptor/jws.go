package descriptor

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/jws"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Signed descriptors (docs/descriptor.md "Signed descriptors"): a JWS in compact serialization (RFC 7515
// section 7.1), served as Content-Type application/jose, whose payload is a
// descriptor v1 object with iat and exp, signed by a publisher key of the
// admin policy, named by kid.
//
// The compact form, the header rules (EdDSA and ES256 only, chosen by the
// verifier as RFC 8725 section 3.1 asks, explicit typ, kid, no key carried
// in the header) and the signature check are the JWS core's
// (internal/jws), which session tokens share.
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
// that alg, the signature (all of these by the JWS core, internal/jws), the
// payload as a strict descriptor v1 with iat and exp, the times with
// ClockSkew, and the publisher's origin binding. Errors are
// *SignatureError, or *Error for the payload.
func VerifySigned(data []byte, o VerifyOptions) (*Descriptor, error) {
	if len(data) > maxJWSBytes {
		return nil, sigErr("", "larger than %s", platform.SizeName(maxJWSBytes))
	}
	// A portal's template may end the body with a newline; nothing else
	// may surround the three parts.
	s := string(bytes.TrimRight(data, "\r\n"))
	var pub *Publisher
	v, err := jws.Verify(s, jws.VerifyOptions{
		Type: JWSType, Kind: "a signed descriptor", MaxBytes: maxJWSBytes,
		Key: func(kid, alg string) (crypto.PublicKey, error) {
			ok, src := false, ""
			if o.Publishers != nil {
				pub, ok = o.Publishers.Publisher(kid)
				src = o.Publishers.PublishersSource()
			}
			qkid := safetext.Excerpt(kid, 80)
			if !ok {
				where := "there is no admin policy"
				if src != "" {
					where = "the admin policy " + src + " names no publisher with this key"
				}
				return nil, sigErr(qkid, "kid %s: %s", safetext.Quote(qkid), where)
			}
			if alg != pub.Alg {
				return nil, sigErr(qkid, "alg %s does not fit publisher %s's key, which signs with %s", alg, safetext.Quote(pub.Name), pub.Alg)
			}
			return pub.Key, nil
		},
	})
	if err != nil {
		var je *jws.Error
		if errors.As(err, &je) {
			if je.Reason == jws.BadSignature && pub != nil {
				return nil, sigErr(je.KeyID, "the signature does not verify with publisher %s's key (forged, or altered after signing)", safetext.Quote(pub.Name))
			}
			return nil, sigErr(je.KeyID, "%s", je.Msg)
		}
		return nil, err
	}
	d, err := Decode(v.Payload)
	if err != nil {
		return nil, err
	}
	if err := checkValidity(d, o.now(), true); err != nil {
		return nil, err
	}
	kid := safetext.Excerpt(v.Header.Kid, 80)
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
	out, err := jws.Sign(body, key, JWSType)
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// GenerateKey makes a publisher key: alg is "EdDSA" (Ed25519, the default)
// or "ES256" (ECDSA P-256, for HSMs and clouds without Ed25519).
func GenerateKey(alg string) (crypto.Signer, error) { return jws.GenerateKey(alg) }

// MarshalPrivateKeyPEM returns a PKCS #8 "PRIVATE KEY" PEM block.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) { return jws.MarshalPrivateKeyPEM(key) }

// MarshalPublicKeyPEM returns a PKIX "PUBLIC KEY" PEM block, the form the
// policy's publishers.key takes.
func MarshalPublicKeyPEM(pub crypto.PublicKey) ([]byte, error) { return jws.MarshalPublicKeyPEM(pub) }

// ParsePrivateKeyPEM parses what MarshalPrivateKeyPEM wrote.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) { return jws.ParsePrivateKeyPEM(data) }

// ParsePublicKeyPEM parses a PEM "PUBLIC KEY" (PKIX SubjectPublicKeyInfo)
// holding an Ed25519 or ECDSA P-256 key, and returns the JWS algorithm that
// key signs with: EdDSA or ES256, the only two trustlaunch accepts.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, string, error) {
	return jws.ParsePublicKeyPEM(data)
}

// KeyID returns the kid of a publisher key: its RFC 7638 JWK thumbprint
// with SHA-256, base64url without padding. A thumbprint names exactly one
// key, so a portal and an administrator need agree on nothing but the key.
func KeyID(pub crypto.PublicKey) (string, error) { return jws.KeyID(pub) }
