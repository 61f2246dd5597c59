package sessiontoken

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/jws"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// VerifierConfig configures NewVerifier.
type VerifierConfig struct {
	// Keys are the portals' public keys; required.
	Keys *KeySet
	// Issuers lists the iss values accepted (the portals' origins);
	// required. The keys are trusted for each of them.
	Issuers []string
	// Audience is this proxy's name, which aud must hold; required.
	Audience string
	// Replay enforces single use; required (NewMemoryReplay for one
	// proxy host).
	Replay Replay
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Verifier checks session tokens for a proxy. It is safe for concurrent
// use.
type Verifier struct {
	keys     *KeySet
	issuers  map[string]bool
	audience string
	replay   Replay
	now      func() time.Time
}

// NewVerifier returns a Verifier, or an error naming what the
// configuration lacks.
func NewVerifier(c VerifierConfig) (*Verifier, error) {
	switch {
	case c.Keys == nil || len(c.Keys.order) == 0:
		return nil, errors.New("sessiontoken: no keys to verify tokens with")
	case len(c.Issuers) == 0:
		return nil, errors.New("sessiontoken: no accepted issuer (iss)")
	case c.Audience == "":
		return nil, errors.New("sessiontoken: no audience (aud): the name of this proxy")
	case c.Replay == nil:
		return nil, errors.New("sessiontoken: no replay store for the single-use rule")
	}
	v := &Verifier{keys: c.Keys, issuers: map[string]bool{}, audience: c.Audience, replay: c.Replay, now: c.Now}
	for _, iss := range c.Issuers {
		if iss == "" {
			return nil, errors.New("sessiontoken: an empty issuer")
		}
		v.issuers[iss] = true
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// Request is what a client asks of the proxy with a token.
type Request struct {
	// Destination is the "host:port" the client asks to reach, in any
	// spelling NormalizeDestination accepts.
	Destination string
	// Source is the client's IP address, as the proxy sees it (Squid's
	// %SRC): the single-use rule binds a token to it.
	Source string
}

// Verify checks a token for a request and returns its claims. The checks,
// in order: the size; the JWS (compact form, alg EdDSA or ES256, typ Type,
// a kid naming a key of the set that signs with that alg, no key in the
// header, the signature); the claims (each of v1 present with its type, no
// cnf); iss; aud; iat and nbf not in the future, exp not past (both with
// ClockSkew), exp after iat by at most MaxLifetime; dst against the
// request's destination; and last, only for a token that passed
// everything else, the single-use rule. A token refused for any reason is
// a *Refusal; any other error (a replay store that cannot answer, a
// request without a source) means the check could not be made, and the
// caller must refuse the request too.
func (v *Verifier) Verify(ctx context.Context, token string, r Request) (*Claims, error) {
	c, err := v.check(token)
	if err != nil {
		return nil, err
	}
	want, err := NormalizeDestination(r.Destination)
	if err != nil {
		// The proxy's own request, not the token's: the client asked for
		// something no token can name.
		rf := refuse(WrongDest, "the requested destination is not a host:port a token can name: %s", err)
		rf.Claims = &c.Claims
		return nil, rf
	}
	if c.Destination != want {
		rf := refuse(WrongDest, "the token is for %s, not %s", safetext.Quote(c.Destination), safetext.Quote(want))
		rf.Claims = &c.Claims
		return nil, rf
	}
	src, err := normalizeSource(r.Source)
	if err != nil {
		return nil, err
	}
	err = v.replay.Admit(ctx, Entry{
		Key:    c.Issuer + "\x00" + c.ID,
		Source: src,
		Until:  time.Unix(c.Expires, 0).Add(ClockSkew),
		Now:    v.now(),
	})
	if err != nil {
		var rf *Refusal
		if errors.As(err, &rf) {
			rf.Claims = &c.Claims
		}
		return nil, err
	}
	return &c.Claims, nil
}

// Check verifies a token without a request: the signature and every claim
// but dst, and no single-use record. It is for tools that inspect a
// token (`trustlaunch token verify`), never for admitting a connection.
func (v *Verifier) Check(token string) (*Claims, error) {
	c, err := v.check(token)
	if err != nil {
		return nil, err
	}
	return &c.Claims, nil
}

func (v *Verifier) check(token string) (*parsedClaims, error) {
	if token == "" {
		return nil, refuse(Missing, "no token")
	}
	if len(token) > MaxBytes {
		return nil, refuse(Oversized, "the token is %d bytes, more than %d", len(token), MaxBytes)
	}
	verified, err := jws.Verify(token, jws.VerifyOptions{
		Type: Type, Kind: "a session token", MaxBytes: MaxBytes, Key: v.keys.lookup,
	})
	if err != nil {
		return nil, jwsRefusal(err)
	}
	kid := safetext.Excerpt(verified.Header.Kid, 80)
	c, err := parseClaims(verified.Payload)
	if err != nil {
		rf, ok := err.(*Refusal)
		if !ok {
			rf = &Refusal{Reason: BadClaims, Msg: err.Error()}
		}
		rf.KeyID = kid
		return nil, rf
	}
	fail := func(reason Reason, format string, args ...any) (*parsedClaims, error) {
		rf := refuse(reason, format, args...)
		rf.KeyID, rf.Claims = kid, &c.Claims
		return nil, rf
	}
	if !v.issuers[c.Issuer] {
		return fail(WrongIssuer, "iss %s is not a portal this proxy accepts", safetext.QuoteExcerpt(c.Issuer, 80))
	}
	aud := false
	for _, a := range c.audiences {
		aud = aud || a == v.audience
	}
	if !aud {
		return fail(WrongAud, "aud %s does not name this proxy (%s)", safetext.QuoteExcerpt(strings.Join(c.audiences, ", "), 80), safetext.Quote(v.audience))
	}
	now := v.now().Unix()
	skew := int64(ClockSkew / time.Second)
	switch {
	case c.IssuedAt > now+skew:
		return fail(NotYetValid, "iat is %d s ahead of the proxy's clock (check the portal's and the proxy's time)", c.IssuedAt-now)
	case c.notBefore > now+skew:
		return fail(NotYetValid, "nbf is %d s ahead of the proxy's clock", c.notBefore-now)
	case c.Expires <= c.IssuedAt:
		return fail(Lifetime, "exp is not after iat")
	case c.Expires-c.IssuedAt > int64(MaxLifetime/time.Second):
		return fail(Lifetime, "exp is %d s after iat, more than %d s", c.Expires-c.IssuedAt, int64(MaxLifetime/time.Second))
	case now-skew >= c.Expires:
		return fail(Expired, "expired %d s ago", now-c.Expires)
	}
	dst, err := NormalizeDestination(c.Destination)
	if err != nil {
		return fail(BadClaims, "dst: %s", err)
	}
	c.Destination = dst
	return c, nil
}

// jwsRefusal turns the JWS core's errors into refusals.
func jwsRefusal(err error) error {
	var rf *Refusal
	if errors.As(err, &rf) {
		return rf // the key set's own: unknown kid, alg against the key
	}
	var je *jws.Error
	if !errors.As(err, &je) {
		return refuse(Malformed, "%s", safetext.Excerpt(err.Error(), 160))
	}
	reason := map[jws.Reason]Reason{
		jws.Malformed:    Malformed,
		jws.Oversized:    Oversized,
		jws.BadAlgorithm: Algorithm,
		jws.BadType:      WrongType,
		jws.CarriedKey:   Malformed,
		jws.BadSignature: Signature,
	}[je.Reason]
	if reason == "" {
		reason = Malformed
	}
	return &Refusal{Reason: reason, Msg: je.Msg, KeyID: je.KeyID}
}

// normalizeSource spells a client address one way: an IPv4 client seen
// on an IPv6 socket ("::ffff:192.0.2.1") is the IPv4 client.
func normalizeSource(src string) (string, error) {
	if src == "" || src == "-" {
		return "", errors.New("sessiontoken: the request has no client address, which the single-use rule needs")
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(src, "["), "]"))
	if err != nil {
		return "", fmt.Errorf("sessiontoken: the client address %s is not an IP address", safetext.QuoteExcerpt(src, 60))
	}
	return a.Unmap().WithZone("").String(), nil
}

// quoteKid quotes a kid from a header for a message.
func quoteKid(kid string) string { return safetext.QuoteExcerpt(kid, 80) }
