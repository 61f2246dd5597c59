// Package hs256 signs and verifies the compact JWS (RFC 7515) HS256 tokens
// that the real-peer tests hand to websockify.
//
// websockify 0.10's JWTTokenApi plugin reads the claims "host", "port" and
// "exp" from an HS256 JWT (RFC 7519) with a shared key. This is that peer's
// format, not trustlaunch's token contract (package sessiontoken, EdDSA or
// ES256, which Squid checks through trustlaunch-tokencheck): a proxy
// holding a key that mints tokens is what the contract rules out.
// Hand-rolled on crypto/hmac because only HS256 is needed: a JOSE library
// would bring algorithm negotiation the tests do not want.
package hs256

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Claims is the payload of a session token.
type Claims struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Exp is the expiry as seconds since the epoch (RFC 7519 NumericDate);
	// zero means the token never expires.
	Exp int64 `json:"exp,omitempty"`
}

// Errors returned by Verify. They never contain the token.
var (
	ErrMalformed = errors.New("token is not a compact HS256 JWS")
	ErrSignature = errors.New("token signature does not verify")
	ErrExpired   = errors.New("token expired")
)

var b64 = base64.RawURLEncoding

// header is fixed: Verify accepts only this exact header, so "alg":"none" and
// algorithm confusion (RFC 8725 section 2.1) cannot arise.
var header = b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// Sign returns the compact serialization of an HS256 JWS carrying c.
func Sign(key []byte, c Claims) string {
	payload, err := json.Marshal(c)
	if err != nil {
		panic(err) // Claims always marshals
	}
	signingInput := header + "." + b64.EncodeToString(payload)
	return signingInput + "." + b64.EncodeToString(mac(key, signingInput))
}

// Verify checks token's header and signature with key and its expiry against
// now, and returns its claims.
func Verify(key []byte, token string, now time.Time) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != header {
		return Claims{}, ErrMalformed
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return Claims{}, ErrMalformed
	}
	if !hmac.Equal(sig, mac(key, parts[0]+"."+parts[1])) {
		return Claims{}, ErrSignature
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, ErrMalformed
	}
	if c.Exp != 0 && now.Unix() >= c.Exp {
		return Claims{}, ErrExpired
	}
	return c, nil
}

func mac(key []byte, signingInput string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(signingInput))
	return h.Sum(nil)
}

// EncodeKey returns key the way websockify's JWTTokenApi reads a symmetric
// key file: base64url without padding (a JWK "k" value), no trailing newline
// (jwcrypto would reject the newline).
func EncodeKey(key []byte) []byte {
	return []byte(b64.EncodeToString(key))
}

// ReadKeyFile reads a key file written in EncodeKey's format.
func ReadKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := b64.DecodeString(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a base64url key without padding: %w", path, err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("%s: key is %d bytes, want at least 32", path, len(key))
	}
	return key, nil
}
