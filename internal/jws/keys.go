package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// GenerateKey makes a signing key: alg is "EdDSA" (Ed25519, the default
// when empty) or "ES256" (ECDSA P-256, for HSMs, clouds and proxies without
// Ed25519).
func GenerateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "", EdDSA, "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case ES256, "p256":
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

// MarshalPublicKeyPEM returns a PKIX "PUBLIC KEY" PEM block.
func MarshalPublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM parses what MarshalPrivateKeyPEM wrote: an Ed25519 or
// ECDSA P-256 key in a PKCS #8 "PRIVATE KEY" block.
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

// ParsePublicKeyPEM parses exactly one PEM "PUBLIC KEY" block (PKIX
// SubjectPublicKeyInfo) holding an Ed25519 or ECDSA P-256 key, and returns
// the key and the algorithm it verifies.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, string, error) {
	block, rest := pem.Decode(data)
	if block == nil || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, "", errors.New("key must be one PEM block, -----BEGIN PUBLIC KEY----- (what trustlaunch descriptor keygen writes to FILE.pub)")
	}
	return ParsePublicKeyBlock(block)
}

// ParsePublicKeyBlock parses one decoded PEM block as ParsePublicKeyPEM
// does.
func ParsePublicKeyBlock(block *pem.Block) (crypto.PublicKey, string, error) {
	if block.Type != "PUBLIC KEY" {
		return nil, "", fmt.Errorf("key is a PEM %s, want PUBLIC KEY", safetext.QuoteExcerpt(block.Type, 40))
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("key does not parse: %s", safetext.Excerpt(err.Error(), 120))
	}
	alg, err := AlgorithmOf(key)
	if err != nil {
		return nil, "", err
	}
	return key, alg, nil
}
