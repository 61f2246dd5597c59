//go:build linux

package peers

import (
	"crypto/rand"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers/hs256"
)

// DefaultTokenTTL is the lifetime of tokens from TokenKey.Token.
const DefaultTokenTTL = 10 * time.Minute

// TokenKey is an HS256 key that signs session tokens for Squid (through the
// squidtoken helper) and websockify (through its JWTTokenApi plugin).
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
