package sessiontoken

import (
	"fmt"
	"strings"
)

// Reason classifies a refused token. The names are stable: a proxy logs
// them, and administrators search for them.
type Reason string

// The reasons a token is refused for.
const (
	Missing     Reason = "missing"       // no token, or no Proxy-Authorization header
	Malformed   Reason = "malformed"     // not a Bearer credential, not a compact JWS, a header or payload that does not parse
	Oversized   Reason = "oversized"     // longer than MaxBytes
	Algorithm   Reason = "algorithm"     // alg other than EdDSA or ES256, or one the key does not sign with
	WrongType   Reason = "type"          // typ is not Type
	UnknownKey  Reason = "unknown-key"   // kid names no key of the proxy
	Signature   Reason = "signature"     // the signature does not verify: forged or tampered
	BadClaims   Reason = "claims"        // a claim missing, of the wrong type, or too long
	Unsupported Reason = "unsupported"   // a claim reserved for a later version (cnf)
	WrongIssuer Reason = "issuer"        // iss is not a portal the proxy accepts
	WrongAud    Reason = "audience"      // aud does not name this proxy
	NotYetValid Reason = "not-yet-valid" // iat (or nbf) is in the future, past the clock skew
	Expired     Reason = "expired"       // exp has passed, past the clock skew
	Lifetime    Reason = "lifetime"      // exp is not after iat, or more than MaxLifetime after it
	WrongDest   Reason = "destination"   // dst is not the destination asked for
	Replayed    Reason = "replayed"      // the jti was used before, from another client address
)

// Refusal is a token the verifier refused, with the reason. Its message
// never holds the token, and whatever it quotes of the token's header or
// claims is sanitized; it is what a proxy may tell the client (Squid's
// ERR message=). Detail adds what only the proxy's log should show.
type Refusal struct {
	Reason Reason
	Msg    string
	// KeyID is the header's kid (sanitized) once it was read.
	KeyID string
	// Claims are the token's claims once its signature verified; nil
	// before. Show them through internal/safetext or an escaping encoder.
	Claims *Claims
	// Detail is for the proxy's log only (the address a replayed token
	// was first used from); "" when there is none.
	Detail string
}

func (r *Refusal) Error() string {
	var b strings.Builder
	b.WriteString("session token refused (")
	b.WriteString(string(r.Reason))
	b.WriteString("): ")
	b.WriteString(r.Msg)
	return b.String()
}

func refuse(reason Reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}
