package descriptor

import (
	"crypto"

	"github.com/trustlaunch/trustlaunch/whitelist"
)

// Publisher is a named Ed25519 or ECDSA P-256 public key that may sign
// descriptors, optionally only for some origins: one [[publishers]] table of
// the admin policy, or one value of its Group Policy.
type Publisher struct {
	Name    string
	KeyID   string // the RFC 7638 JWK thumbprint (SHA-256, base64url) of Key: the JWS kid
	Alg     string // "EdDSA" or "ES256", from the key's type
	Key     crypto.PublicKey
	Origins []whitelist.Entry // empty: any origin
	Line    int
	Src     string // where it came from when not the file's line: a Group Policy value
}

// Publishers is where VerifySigned finds the key a signed descriptor names.
// The admin policy (package policy) is one. It is an interface so that the
// trust anchors stay the policy's and this package, which the policy imports
// to check descriptors, never imports the policy.
type Publishers interface {
	// Publisher returns the publisher whose key has the kid; false when
	// there is none. It must be safe on a nil receiver: a nil policy trusts
	// no key.
	Publisher(kid string) (*Publisher, bool)
	// PublishersSource names where the publishers came from, for messages;
	// "" when there is no policy.
	PublishersSource() string
}
