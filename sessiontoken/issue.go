package sessiontoken

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/jws"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// IssuerConfig configures NewIssuer.
type IssuerConfig struct {
	// Key signs the tokens: an ed25519.PrivateKey (EdDSA) or an
	// *ecdsa.PrivateKey on P-256 (ES256), as ParsePrivateKeyPEM reads
	// from `trustlaunch descriptor keygen`'s file. Required.
	Key crypto.Signer
	// Issuer is the iss of every token: the portal's origin,
	// "https://portal.example.com", as the proxies list it. Required.
	Issuer string
	// Lifetime is exp - iat: DefaultLifetime when zero, at most
	// MaxLifetime.
	Lifetime time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Issuer mints session tokens for a portal. It is safe for concurrent use.
type Issuer struct {
	cfg IssuerConfig
}

// NewIssuer returns an Issuer, or an error naming what the configuration
// lacks.
func NewIssuer(c IssuerConfig) (*Issuer, error) {
	switch {
	case c.Key == nil:
		return nil, errors.New("sessiontoken: no signing key")
	case c.Issuer == "" || len(c.Issuer) > maxNameBytes:
		return nil, fmt.Errorf("sessiontoken: the issuer (iss) must be 1 to %d bytes", maxNameBytes)
	case c.Lifetime < 0 || c.Lifetime > MaxLifetime:
		return nil, fmt.Errorf("sessiontoken: lifetime %v: want at most %v", c.Lifetime, MaxLifetime)
	case c.Lifetime != 0 && c.Lifetime < time.Second:
		return nil, fmt.Errorf("sessiontoken: lifetime %v: want at least 1s", c.Lifetime)
	}
	if _, err := jws.AlgorithmOf(c.Key.Public()); err != nil {
		return nil, fmt.Errorf("sessiontoken: %w", err)
	}
	if c.Lifetime == 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Issuer{cfg: c}, nil
}

// Grant is what one token admits: one destination through one proxy, for
// one user.
type Grant struct {
	// Audience is the proxy's name, as the proxy's configuration gives
	// it (its --audience).
	Audience string
	// Destination is the "host:port" the session reaches, as the
	// descriptor's destination names it; it is normalized
	// (NormalizeDestination).
	Destination string
	// Subject is the user, as the portal knows them; the proxy logs it.
	Subject string
	// ID is the jti; a new NewID when empty. Give one only to record it
	// before the token is made; never use one twice.
	ID string
}

// Issue mints a token for g and returns it with its claims. The token is
// a secret until it expires: hand it only to the user's trustlaunch, in
// the descriptor, and never log it (its ID is what to log).
func (i *Issuer) Issue(g Grant) (string, Claims, error) {
	dst, err := NormalizeDestination(g.Destination)
	if err != nil {
		return "", Claims{}, fmt.Errorf("sessiontoken: %w", err)
	}
	if g.ID == "" {
		g.ID = NewID()
	}
	now := i.cfg.Now().Unix()
	c := Claims{
		Issuer:      i.cfg.Issuer,
		Subject:     g.Subject,
		Audience:    g.Audience,
		Destination: dst,
		IssuedAt:    now,
		Expires:     now + int64(i.cfg.Lifetime/time.Second),
		ID:          g.ID,
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"aud", c.Audience, maxNameBytes}, {"sub", c.Subject, maxNameBytes}, {"jti", c.ID, MaxIDBytes}} {
		if f.v == "" || len(f.v) > f.max {
			return "", Claims{}, fmt.Errorf("sessiontoken: %s must be 1 to %d bytes", f.name, f.max)
		}
	}
	if !visibleASCII(c.ID) {
		return "", Claims{}, fmt.Errorf("sessiontoken: jti %s is not visible ASCII", safetext.QuoteExcerpt(c.ID, 40))
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, fmt.Errorf("sessiontoken: %w", err)
	}
	tok, err := jws.Sign(payload, i.cfg.Key, Type)
	if err != nil {
		return "", Claims{}, fmt.Errorf("sessiontoken: %w", err)
	}
	if len(tok) > MaxBytes {
		return "", Claims{}, fmt.Errorf("sessiontoken: the token would be %d bytes, more than %d", len(tok), MaxBytes)
	}
	return tok, c, nil
}

// NewID returns a new jti: 128 random bits, base64url (22 characters).
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// FromAuthorization returns the token of a "Bearer <token>" credential
// (RFC 6750 section 2.1; the scheme in any case), the value of a
// Proxy-Authorization or Authorization header. An empty value is a
// Missing refusal, another scheme or a token with a space, a comma or a
// character other than visible ASCII a Malformed one; neither message
// shows the value.
func FromAuthorization(value string) (string, error) {
	if value == "" {
		return "", refuse(Missing, "no Proxy-Authorization header")
	}
	scheme, token, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", refuse(Malformed, "the credential is not a Bearer token")
	}
	token = strings.TrimLeft(token, " ")
	if token == "" {
		return "", refuse(Missing, "the Bearer credential is empty")
	}
	if len(token) > MaxBytes {
		return "", refuse(Oversized, "the token is %d bytes, more than %d", len(token), MaxBytes)
	}
	if !visibleASCII(token) || strings.ContainsRune(token, ',') {
		return "", refuse(Malformed, "the Bearer credential is not one token (a space, a comma or a character other than visible ASCII)")
	}
	return token, nil
}

// ParsePrivateKeyPEM reads a signing key as `trustlaunch descriptor keygen`
// writes it: PKCS #8 PEM, Ed25519 or ECDSA P-256.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) { return jws.ParsePrivateKeyPEM(data) }

// KeyID returns the kid tokens signed by the key carry, and that the
// proxy's log names: the public key's RFC 7638 JWK thumbprint (SHA-256,
// base64url).
func KeyID(pub crypto.PublicKey) (string, error) { return jws.KeyID(pub) }
