package sessiontoken

import (
	"bytes"
	"crypto"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/trustlaunch/trustlaunch/internal/jws"
)

// MaxKeys bounds a key set: a few keys rotate, hundreds are a mistake.
const MaxKeys = 64

// KeySet holds the public keys a proxy accepts tokens from, named by kid
// (RFC 7638 thumbprints, computed here, never read from a file). Keys
// rotate by listing several: the portal's next key is added before the
// portal signs with it, the old one removed once its last token expired
// (MaxLifetime plus ClockSkew later).
type KeySet struct {
	byID  map[string]setKey
	order []string
}

type setKey struct {
	key crypto.PublicKey
	alg string
}

// NewKeySet returns a set of the given Ed25519 or ECDSA P-256 public keys.
func NewKeySet(keys ...crypto.PublicKey) (*KeySet, error) {
	s := &KeySet{byID: map[string]setKey{}}
	for i, k := range keys {
		if err := s.add(k); err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
	}
	return s, nil
}

func (s *KeySet) add(k crypto.PublicKey) error {
	alg, err := jws.AlgorithmOf(k)
	if err != nil {
		return err
	}
	kid, err := jws.KeyID(k)
	if err != nil {
		return err
	}
	if _, dup := s.byID[kid]; dup {
		return fmt.Errorf("the key %s is listed twice", kid)
	}
	if len(s.order) >= MaxKeys {
		return fmt.Errorf("more than %d keys", MaxKeys)
	}
	s.byID[kid] = setKey{key: k, alg: alg}
	s.order = append(s.order, kid)
	return nil
}

// ParseKeySet reads one or more PEM "PUBLIC KEY" blocks (what `trustlaunch
// descriptor keygen` writes to FILE.pub; concatenate several files to
// list several keys). Text outside the blocks is ignored, so a file may
// carry comments; a block that starts and does not end is an error, so a
// truncated file never loses a key silently. It returns an error for a
// file without a key.
func ParseKeySet(data []byte) (*KeySet, error) {
	s := &KeySet{byID: map[string]setKey{}}
	for n, rest := 1, data; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		k, _, err := jws.ParsePublicKeyBlock(block)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		if err := s.add(k); err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
	}
	// pem.Decode skips a block it cannot decode and goes on with the next:
	// count the beginnings so that a damaged block is an error, not a key
	// silently missing.
	if begun := bytes.Count(data, []byte("-----BEGIN")); begun != len(s.order) {
		return nil, fmt.Errorf("%d PEM blocks begin, %d parse: one is truncated or its base64 damaged", begun, len(s.order))
	}
	if len(s.order) == 0 {
		return nil, errors.New("no PEM PUBLIC KEY block (what trustlaunch descriptor keygen writes to FILE.pub)")
	}
	return s, nil
}

// KeyIDs returns the kid of each key, in the order they were given.
func (s *KeySet) KeyIDs() []string { return append([]string(nil), s.order...) }

// lookup is the JWS core's key lookup.
func (s *KeySet) lookup(kid, alg string) (crypto.PublicKey, error) {
	k, ok := s.byID[kid]
	if !ok {
		return nil, refuse(UnknownKey, "kid %s names no key this proxy accepts", quoteKid(kid))
	}
	if k.alg != alg {
		return nil, refuse(Algorithm, "alg %s does not fit the key kid %s names, which signs with %s", alg, quoteKid(kid), k.alg)
	}
	return k.key, nil
}
