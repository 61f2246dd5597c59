//go:build linux

package peers

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers/hs256"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// DefaultTokenTTL is the lifetime of tokens from TokenKey.Token.
const DefaultTokenTTL = 10 * time.Minute

// PortalIssuer is what the tests' portals issue session tokens as, and
// what a Squid of this package accepts as iss.
const PortalIssuer = "https://portal.test"

// TokenIssuer issues session tokens for Squid as a portal does
// (package sessiontoken: EdDSA, the contract's claims), with a key of its
// own whose public half is in KeyFile, the file the Squid's
// trustlaunch-tokencheck reads.
type TokenIssuer struct {
	Key      crypto.Signer
	KeyFile  string // the public key, PEM
	Issuer   *sessiontoken.Issuer
	Audience string // the aud its tokens carry; the Squid's --audience
}

// NewTokenIssuer returns a TokenIssuer with a new Ed25519 key (ES256 when
// alg is "ES256"), for audience, with tokens of sessiontoken's default
// lifetime.
func NewTokenIssuer(t testing.TB, audience, alg string) *TokenIssuer {
	t.Helper()
	key, err := descriptorKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return NewTokenIssuerWithKey(t, key, audience)
}

// NewTokenIssuerWithKey returns a TokenIssuer signing with key, for
// audience: the same portal issuing for another proxy.
func NewTokenIssuerWithKey(t testing.TB, key crypto.Signer, audience string) *TokenIssuer {
	t.Helper()
	ti := &TokenIssuer{Key: key, Audience: audience}
	var err error
	if ti.Issuer, err = sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: key, Issuer: PortalIssuer}); err != nil {
		t.Fatal(err)
	}
	pub, err := publicKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	ti.KeyFile = filepath.Join(t.TempDir(), "portal.pub")
	writeFile(t, ti.KeyFile, pub, 0o644)
	return ti
}

// Token returns a new token admitting dest ("host:port") through the
// audience's proxy, for user "alice".
func (ti *TokenIssuer) Token(t testing.TB, dest string) string {
	t.Helper()
	tok, _, err := ti.Issuer.Issue(sessiontoken.Grant{Audience: ti.Audience, Destination: dest, Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TokenKey is an HS256 key that signs session tokens for websockify
// (through its JWTTokenApi plugin).
type TokenKey struct {
	// File holds the key as both peers read it: base64url, no padding, no
	// trailing newline.
	File string
	key  []byte
}

// NewTokenKey returns a random 256-bit key written to a file in a t.TempDir().
func NewTokenKey(t testing.TB) *TokenKey {
	t.Helper()
	k := &TokenKey{key: make([]byte, 32)}
	rand.Read(k.key)
	k.File = filepath.Join(t.TempDir(), "token.key")
	writeFile(t, k.File, hs256.EncodeKey(k.key), 0o600)
	return k
}

// Token returns a token for dest ("host:port") that expires after
// DefaultTokenTTL.
func (k *TokenKey) Token(t testing.TB, dest string) string {
	t.Helper()
	return k.TokenExpiring(t, dest, time.Now().Add(DefaultTokenTTL))
}

// TokenExpiring returns a token for dest that expires at exp; a time in the
// past makes an expired token. jwcrypto, which websockify uses, allows 60 s of
// clock skew, so an expired token for websockify needs exp at least a minute
// ago.
func (k *TokenKey) TokenExpiring(t testing.TB, dest string, exp time.Time) string {
	t.Helper()
	host, portStr, err := net.SplitHostPort(dest)
	if err != nil {
		t.Fatalf("token destination %q: %v", dest, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("token destination %q: bad port", dest)
	}
	return hs256.Sign(k.key, hs256.Claims{Host: host, Port: port, Exp: exp.Unix()})
}

// descriptorKey makes a signing key as `trustlaunch descriptor keygen`
// does.
func descriptorKey(alg string) (crypto.Signer, error) {
	if alg == "ES256" {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return k, err
}

// publicKeyPEM is the PEM PUBLIC KEY of key, as keygen writes FILE.pub.
func publicKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// TokenAt returns a token for dest issued at iat, which expires
// sessiontoken.DefaultLifetime later: an iat far enough in the past makes
// an expired token, one in the future a token not valid yet.
func (ti *TokenIssuer) TokenAt(t testing.TB, dest string, iat time.Time) string {
	t.Helper()
	iss, err := sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: ti.Key, Issuer: PortalIssuer, Now: func() time.Time { return iat }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue(sessiontoken.Grant{Audience: ti.Audience, Destination: dest, Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
