package sessiontoken

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// Claims are the claims of a session token, contract v1 (see the package
// documentation). Every one is required.
type Claims struct {
	// Issuer (iss) names the portal that issued the token, as the proxy's
	// configuration lists it: its origin, "https://portal.example.com".
	Issuer string `json:"iss"`
	// Subject (sub) is the user the portal issued the token to; the proxy
	// logs it.
	Subject string `json:"sub"`
	// Audience (aud) names the proxy the token is for, as the proxy's
	// configuration names itself; v1 tokens carry one audience.
	Audience string `json:"aud"`
	// Destination (dst) is the one "host:port" the token admits, compared
	// in the form NormalizeDestination gives.
	Destination string `json:"dst"`
	// IssuedAt (iat) and Expires (exp) are NumericDate seconds; exp is at
	// most MaxLifetime after iat.
	IssuedAt int64 `json:"iat"`
	Expires  int64 `json:"exp"`
	// ID (jti) names this token for the single-use rule: 1 to MaxIDBytes
	// visible ASCII characters, unique per issuer (NewID makes one).
	ID string `json:"jti"`
}

// Limits on claim values, so that what a proxy logs and remembers is
// bounded.
const (
	MaxIDBytes    = 128 // jti
	maxNameBytes  = 256 // iss, aud, sub
	maxClaimBytes = 1024
)

// claimsJSON is a payload as read, before its types are checked.
type claimsJSON struct {
	Iss json.RawMessage `json:"iss"`
	Sub json.RawMessage `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Dst json.RawMessage `json:"dst"`
	Iat json.RawMessage `json:"iat"`
	Exp json.RawMessage `json:"exp"`
	Nbf json.RawMessage `json:"nbf"`
	Jti json.RawMessage `json:"jti"`
	Cnf json.RawMessage `json:"cnf"`
}

// parsedClaims are the claims with the audiences as given (aud may be a
// string or an array of strings, RFC 7519 section 4.1.3) and the optional
// nbf.
type parsedClaims struct {
	Claims
	audiences []string
	notBefore int64 // 0 when absent
}

// parseClaims decodes a verified payload; its errors are plain errors (bad
// claims) or a *Refusal for a claim this version does not support. Every claim of v1 must be present
// with its type; other claims are ignored, except cnf, which binds a token
// to a key or a device (RFC 7800) and is reserved for a later version of
// the contract: a token that carries it expects a check this version does
// not make, so it is refused rather than taken without the binding.
func parseClaims(payload []byte) (*parsedClaims, error) {
	var raw claimsJSON
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, fmt.Errorf("the payload is not a JSON object of claims")
	}
	if raw.Cnf != nil {
		return nil, refuse(Unsupported, "the token carries cnf (a key or device binding), which this version does not check")
	}
	var c parsedClaims
	var err error
	str := func(name string, r json.RawMessage, max int) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = stringClaim(name, r, max)
		return s
	}
	c.Issuer = str("iss", raw.Iss, maxNameBytes)
	c.Subject = str("sub", raw.Sub, maxNameBytes)
	c.Destination = str("dst", raw.Dst, maxClaimBytes)
	c.ID = str("jti", raw.Jti, MaxIDBytes)
	if err != nil {
		return nil, err
	}
	if !visibleASCII(c.ID) {
		return nil, fmt.Errorf("jti is not visible ASCII")
	}
	if c.audiences, err = audienceClaim(raw.Aud); err != nil {
		return nil, err
	}
	c.Audience = c.audiences[0]
	if c.IssuedAt, err = dateClaim("iat", raw.Iat); err != nil {
		return nil, err
	}
	if c.Expires, err = dateClaim("exp", raw.Exp); err != nil {
		return nil, err
	}
	if raw.Nbf != nil {
		if c.notBefore, err = dateClaim("nbf", raw.Nbf); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func stringClaim(name string, r json.RawMessage, max int) (string, error) {
	if r == nil {
		return "", fmt.Errorf("the token has no %s claim", name)
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", name)
	}
	switch {
	case s == "":
		return "", fmt.Errorf("%s is empty", name)
	case len(s) > max:
		return "", fmt.Errorf("%s is longer than %d bytes", name, max)
	case !utf8.ValidString(s):
		return "", fmt.Errorf("%s is not UTF-8", name)
	}
	return s, nil
}

func audienceClaim(r json.RawMessage) ([]string, error) {
	if r == nil {
		return nil, fmt.Errorf("the token has no aud claim")
	}
	if bytes.HasPrefix(bytes.TrimSpace(r), []byte("[")) {
		var list []json.RawMessage
		if err := json.Unmarshal(r, &list); err != nil || len(list) == 0 || len(list) > 16 {
			return nil, fmt.Errorf("aud is not a string or an array of 1 to 16 strings")
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, err := stringClaim("aud", e, maxNameBytes)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := stringClaim("aud", r, maxNameBytes)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// dateClaim reads a NumericDate as v1 writes it: a positive integer number
// of seconds, in plain decimal.
func dateClaim(name string, r json.RawMessage) (int64, error) {
	if r == nil {
		return 0, fmt.Errorf("the token has no %s claim", name)
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(r)), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s is not a NumericDate in whole seconds: %s", name, safetext.QuoteExcerpt(string(r), 24))
	}
	return n, nil
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
