package sessiontoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/jws"
	"github.com/trustlaunch/trustlaunch/internal/jws/jwstest"
)

// now is the clock of these tests.
var now = time.Unix(1_900_000_000, 0)

const (
	testIssuer   = "https://portal.example.com"
	testAudience = "proxy.example.com:8443"
	testDest     = "mainframe.example.com:23"
)

type fixture struct {
	key, p256, other crypto.Signer
	keys             *KeySet
	issuer           *Issuer
	replay           *MemoryReplay
	verifier         *Verifier
	clock            time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clock: now}
	f.key, _ = jws.GenerateKey(jws.EdDSA)
	f.p256, _ = jws.GenerateKey(jws.ES256)
	f.other, _ = jws.GenerateKey(jws.EdDSA)
	var err error
	if f.keys, err = NewKeySet(f.key.Public(), f.p256.Public()); err != nil {
		t.Fatal(err)
	}
	if f.issuer, err = NewIssuer(IssuerConfig{Key: f.key, Issuer: testIssuer, Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	f.replay = NewMemoryReplay(0)
	f.verifier, err = NewVerifier(VerifierConfig{
		Keys: f.keys, Issuers: []string{"https://other-portal.example.com", testIssuer}, Audience: testAudience,
		Replay: f.replay, Now: func() time.Time { return f.clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) issue(t testing.TB, g Grant) string {
	t.Helper()
	if g.Audience == "" {
		g.Audience = testAudience
	}
	if g.Destination == "" {
		g.Destination = testDest
	}
	if g.Subject == "" {
		g.Subject = "alice"
	}
	tok, _, err := f.issuer.Issue(g)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signClaims signs any header and claims with key, so that a test can
// make what no Issuer would: the refusal then comes from what is
// signed, not from the signature.
func signClaims(t testing.TB, key crypto.Signer, header map[string]any, claims map[string]any) string {
	t.Helper()
	kid, _ := jws.KeyID(key.Public())
	h := map[string]any{"alg": "EdDSA", "typ": Type, "kid": kid}
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		h["alg"] = "ES256"
	}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	c := map[string]any{"iss": testIssuer, "sub": "alice", "aud": testAudience, "dst": testDest,
		"iat": now.Unix(), "exp": now.Unix() + 120, "jti": NewID()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	return jwstest.Sign(t, key, hb, cb)
}

func b64(b []byte) string { return jwstest.B64(b) }

func TestIssueVerify(t *testing.T) {
	f := newFixture(t)
	tok, claims, err := f.issuer.Issue(Grant{Audience: testAudience, Destination: "Mainframe.Example.COM.:23", Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if claims.Destination != testDest || claims.Expires-claims.IssuedAt != 120 || len(claims.ID) != 22 {
		t.Fatalf("claims %+v", claims)
	}
	got, err := f.verifier.Verify(t.Context(), tok, Request{Destination: "mainframe.example.com:23", Source: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if *got != claims {
		t.Fatalf("verified %+v, issued %+v", *got, claims)
	}

	// The payload is the contract's: these claims and no others.
	var payload map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"iss", "sub", "aud", "dst", "iat", "exp", "jti"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("payload lacks %s: %s", k, raw)
		}
	}
	if len(payload) != 7 {
		t.Errorf("payload has %d claims: %s", len(payload), raw)
	}

	t.Run("ES256", func(t *testing.T) {
		iss, err := NewIssuer(IssuerConfig{Key: f.p256, Issuer: testIssuer, Lifetime: 300 * time.Second, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := iss.Issue(Grant{Audience: testAudience, Destination: "[2001:DB8::1]:992", Subject: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.verifier.Verify(t.Context(), tok, Request{Destination: "[2001:db8:0::1]:992", Source: "2001:db8::99"}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestVerifyRefusals is every refusal a reviewer would try, each with its
// reason, none with the token in its message.
func TestVerifyRefusals(t *testing.T) {
	f := newFixture(t)
	good := f.issue(t, Grant{})
	parts := strings.Split(good, ".")
	kid, _ := jws.KeyID(f.key.Public())
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// HS256 keyed with the portal's public key.
	hsHead := b64(fmt.Appendf(nil, `{"alg":"HS256","kid":%q,"typ":%q}`, kid, Type))
	mac := hmac.New(sha256.New, f.key.Public().(ed25519.PublicKey))
	mac.Write([]byte(hsHead + "." + parts[1]))
	hs256 := hsHead + "." + parts[1] + "." + b64(mac.Sum(nil))
	noneTok := b64(fmt.Appendf(nil, `{"alg":"none","kid":%q,"typ":%q}`, kid, Type)) + "." + parts[1] + "."
	tampered := func() string {
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		return parts[0] + "." + b64([]byte(strings.Replace(string(raw), testDest, "payroll.example.com:23", 1))) + "." + parts[2]
	}()
	desc, err := jws.Sign([]byte(`{"version":1}`), f.key, "trustlaunch-descriptor+jws")
	if err != nil {
		t.Fatal(err)
	}
	notObject, err := jws.Sign([]byte(`[1]`), f.key, Type)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		token  string
		dest   string
		shift  time.Duration
		reason Reason
	}{
		{"no token", "", testDest, 0, Missing},
		{"oversized", good + strings.Repeat("A", MaxBytes), testDest, 0, Oversized},
		{"not a JWS", "opaque-session-token", testDest, 0, Malformed},
		{"alg none", noneTok, testDest, 0, Malformed}, // empty signature part
		{"alg none, signed anyway", signClaims(t, f.key, map[string]any{"alg": "none"}, nil), testDest, 0, Algorithm},
		{"alg HS256 keyed with the public key", hs256, testDest, 0, Algorithm},
		{"alg RS256", signClaims(t, rsaKey, map[string]any{"alg": "RS256", "kid": kid}, nil), testDest, 0, Algorithm},
		{"alg ES256 on the Ed25519 key", signClaims(t, f.key, map[string]any{"alg": "ES256"}, nil), testDest, 0, Algorithm},
		{"typ JWT", signClaims(t, f.key, map[string]any{"typ": "JWT"}, nil), testDest, 0, WrongType},
		{"a signed descriptor", desc, testDest, 0, WrongType},
		{"unknown kid", signClaims(t, f.other, nil, nil), testDest, 0, UnknownKey},
		{"kid of a trusted key, signed by another", signClaims(t, f.other, map[string]any{"kid": kid}, nil), testDest, 0, Signature},
		{"tampered dst", tampered, "payroll.example.com:23", 0, Signature},
		{"wrong iss", signClaims(t, f.key, nil, map[string]any{"iss": "https://evil.example"}), testDest, 0, WrongIssuer},
		{"wrong aud", signClaims(t, f.key, nil, map[string]any{"aud": "other-proxy.example.com:8443"}), testDest, 0, WrongAud},
		{"aud array without this proxy", signClaims(t, f.key, nil, map[string]any{"aud": []string{"a", "b"}}), testDest, 0, WrongAud},
		{"wrong dst host", good, "payroll.example.com:23", 0, WrongDest},
		{"wrong dst port", good, "mainframe.example.com:22", 0, WrongDest},
		{"dst an ambiguous IPv4", good, "0x7f.1:23", 0, WrongDest},
		{"expired", good, testDest, 120*time.Second + ClockSkew, Expired},
		{"not yet valid", good, testDest, -ClockSkew - time.Second, NotYetValid},
		{"nbf ahead", signClaims(t, f.key, nil, map[string]any{"nbf": now.Unix() + 60}), testDest, 0, NotYetValid},
		{"lifetime over 300 s", signClaims(t, f.key, nil, map[string]any{"exp": now.Unix() + 301}), testDest, 0, Lifetime},
		{"exp before iat", signClaims(t, f.key, nil, map[string]any{"exp": now.Unix() - 1}), testDest, 0, Lifetime},
		{"no jti", signClaims(t, f.key, nil, map[string]any{"jti": nil}), testDest, 0, BadClaims},
		{"no sub", signClaims(t, f.key, nil, map[string]any{"sub": nil}), testDest, 0, BadClaims},
		{"no dst", signClaims(t, f.key, nil, map[string]any{"dst": nil}), testDest, 0, BadClaims},
		{"exp as a string", signClaims(t, f.key, nil, map[string]any{"exp": fmt.Sprint(now.Unix() + 60)}), testDest, 0, BadClaims},
		{"exp fractional", signClaims(t, f.key, nil, map[string]any{"exp": float64(now.Unix()) + 60.5}), testDest, 0, BadClaims},
		{"jti with a space", signClaims(t, f.key, nil, map[string]any{"jti": "a b"}), testDest, 0, BadClaims},
		{"jti too long", signClaims(t, f.key, nil, map[string]any{"jti": strings.Repeat("j", MaxIDBytes+1)}), testDest, 0, BadClaims},
		{"dst with a path", signClaims(t, f.key, nil, map[string]any{"dst": "mainframe.example.com:23/x"}), testDest, 0, BadClaims},
		{"cnf, reserved", signClaims(t, f.key, nil, map[string]any{"cnf": map[string]any{"jkt": "x"}}), testDest, 0, Unsupported},
		{"payload not an object", notObject, testDest, 0, BadClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock = now.Add(tt.shift)
			defer func() { f.clock = now }()
			_, err := f.verifier.Verify(t.Context(), tt.token, Request{Destination: tt.dest, Source: "192.0.2.7"})
			var rf *Refusal
			if !errors.As(err, &rf) || rf.Reason != tt.reason {
				t.Fatalf("err = %v, want a refusal for %s", err, tt.reason)
			}
			if tt.token != "" && strings.Contains(err.Error()+rf.Detail, tt.token) {
				t.Errorf("the refusal shows the token: %v", err)
			}
			if len(tt.token) > 40 && strings.Contains(err.Error(), tt.token[len(tt.token)-40:]) {
				t.Errorf("the refusal shows the token's signature: %v", err)
			}
		})
	}

	t.Run("accepted at the edges of the skew", func(t *testing.T) {
		for _, shift := range []time.Duration{-ClockSkew, 120*time.Second + ClockSkew - time.Second} {
			f.clock = now.Add(shift)
			tok := f.issue(t, Grant{})
			if _, err := f.verifier.Verify(t.Context(), tok, Request{Destination: testDest, Source: "192.0.2.7"}); err != nil {
				t.Errorf("shift %v: %v", shift, err)
			}
		}
		f.clock = now
	})
	t.Run("aud array with this proxy", func(t *testing.T) {
		tok := signClaims(t, f.key, nil, map[string]any{"aud": []string{"other", testAudience}})
		if _, err := f.verifier.Verify(t.Context(), tok, Request{Destination: testDest, Source: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown claims are ignored", func(t *testing.T) {
		tok := signClaims(t, f.key, nil, map[string]any{"session": "payroll", "nbf": now.Unix()})
		if _, err := f.verifier.Verify(t.Context(), tok, Request{Destination: testDest, Source: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSingleUse is the reconnect rule: the first use binds the token to
// its client address; that address may reconnect until exp, any other is
// refused, and the record goes once the token could no longer be used.
func TestSingleUse(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, Grant{})
	verify := func(src string) error {
		_, err := f.verifier.Verify(t.Context(), tok, Request{Destination: testDest, Source: src})
		return err
	}
	if err := verify("192.0.2.7"); err != nil {
		t.Fatalf("first use: %v", err)
	}
	f.clock = now.Add(119 * time.Second)
	if err := verify("192.0.2.7"); err != nil {
		t.Fatalf("reconnect from the same address: %v", err)
	}
	if err := verify("::ffff:192.0.2.7"); err != nil {
		t.Fatalf("the same address through an IPv6 socket: %v", err)
	}
	err := verify("192.0.2.8")
	var rf *Refusal
	if !errors.As(err, &rf) || rf.Reason != Replayed || rf.Detail != "first used from 192.0.2.7" || rf.Claims == nil || rf.Claims.Subject != "alice" {
		t.Fatalf("another address: %v (%+v)", err, rf)
	}
	if strings.Contains(err.Error(), "192.0.2.7") {
		t.Errorf("the refusal tells the client the first address: %v", err)
	}

	// A refused use records nothing: a token for another destination does
	// not bind its jti.
	other := f.issue(t, Grant{})
	f.clock = now
	if err := func() error {
		_, err := f.verifier.Verify(t.Context(), other, Request{Destination: "payroll.example.com:23", Source: "198.51.100.1"})
		return err
	}(); err == nil {
		t.Fatal("wrong destination admitted")
	}
	if _, err := f.verifier.Verify(t.Context(), other, Request{Destination: testDest, Source: "192.0.2.9"}); err != nil {
		t.Fatalf("after a refused use from elsewhere: %v", err)
	}

	// Same jti, another issuer: another token.
	iss2, _ := NewIssuer(IssuerConfig{Key: f.key, Issuer: "https://other-portal.example.com", Now: func() time.Time { return now }})
	same, _, err := iss2.Issue(Grant{Audience: testAudience, Destination: testDest, Subject: "carol", ID: rf.Claims.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifier.Verify(t.Context(), same, Request{Destination: testDest, Source: "203.0.113.5"}); err != nil {
		t.Fatalf("the same jti from another issuer: %v", err)
	}

	// The records expire with the tokens.
	f.clock = now.Add(120*time.Second + ClockSkew)
	f.issue(t, Grant{})
	fresh, _, _ := (&Issuer{cfg: IssuerConfig{Key: f.key, Issuer: testIssuer, Lifetime: DefaultLifetime, Now: func() time.Time { return f.clock }}}).Issue(Grant{Audience: testAudience, Destination: testDest, Subject: "dave"})
	if _, err := f.verifier.Verify(t.Context(), fresh, Request{Destination: testDest, Source: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if n := f.replay.Len(); n != 1 {
		t.Errorf("the replay memory holds %d records after the first tokens expired, want 1", n)
	}
}

// TestReplayFull: a full memory admits no new token (fail closed) and
// says so as an error, not a refusal of the token.
func TestReplayFull(t *testing.T) {
	f := newFixture(t)
	f.replay = NewMemoryReplay(2)
	f.verifier.replay = f.replay
	for i := range 2 {
		if _, err := f.verifier.Verify(t.Context(), f.issue(t, Grant{}), Request{Destination: testDest, Source: "192.0.2.7"}); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	_, err := f.verifier.Verify(t.Context(), f.issue(t, Grant{}), Request{Destination: testDest, Source: "192.0.2.7"})
	var rf *Refusal
	if !errors.Is(err, ErrReplayFull) || errors.As(err, &rf) {
		t.Fatalf("err = %v, want ErrReplayFull", err)
	}
	f.clock = now.Add(MaxLifetime)
	if _, err := f.verifier.Verify(t.Context(), f.issueAt(t, f.clock), Request{Destination: testDest, Source: "192.0.2.7"}); err != nil {
		t.Fatalf("after the first tokens expired: %v", err)
	}
}

func (f *fixture) issueAt(t testing.TB, at time.Time) string {
	iss, err := NewIssuer(IssuerConfig{Key: f.key, Issuer: testIssuer, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Issue(Grant{Audience: testAudience, Destination: testDest, Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyNeedsSource(t *testing.T) {
	f := newFixture(t)
	for _, src := range []string{"", "-", "host.example"} {
		_, err := f.verifier.Verify(context.Background(), f.issue(t, Grant{}), Request{Destination: testDest, Source: src})
		var rf *Refusal
		if err == nil || errors.As(err, &rf) {
			t.Errorf("source %q: err = %v, want an error that is not a refusal", src, err)
		}
	}
}

func TestNewVerifierNeedsEverything(t *testing.T) {
	f := newFixture(t)
	full := VerifierConfig{Keys: f.keys, Issuers: []string{testIssuer}, Audience: testAudience, Replay: NewMemoryReplay(0)}
	for name, mutate := range map[string]func(*VerifierConfig){
		"keys":     func(c *VerifierConfig) { c.Keys = nil },
		"issuers":  func(c *VerifierConfig) { c.Issuers = nil },
		"empty":    func(c *VerifierConfig) { c.Issuers = []string{""} },
		"audience": func(c *VerifierConfig) { c.Audience = "" },
		"replay":   func(c *VerifierConfig) { c.Replay = nil },
	} {
		c := full
		mutate(&c)
		if _, err := NewVerifier(c); err == nil {
			t.Errorf("without %s: accepted", name)
		}
	}
	if _, err := NewVerifier(full); err != nil {
		t.Fatal(err)
	}
}

func TestIssueRefuses(t *testing.T) {
	f := newFixture(t)
	for _, g := range []Grant{
		{Audience: "", Destination: testDest, Subject: "a"},
		{Audience: testAudience, Destination: "mainframe.example.com", Subject: "a"},
		{Audience: testAudience, Destination: "127.1:23", Subject: "a"},
		{Audience: testAudience, Destination: testDest, Subject: ""},
		{Audience: testAudience, Destination: testDest, Subject: "a", ID: "with space"},
	} {
		if _, _, err := f.issuer.Issue(g); err == nil {
			t.Errorf("Issue(%+v) succeeded", g)
		}
	}
	for _, c := range []IssuerConfig{
		{Issuer: testIssuer},
		{Key: f.key},
		{Key: f.key, Issuer: testIssuer, Lifetime: MaxLifetime + time.Second},
	} {
		if _, err := NewIssuer(c); err == nil {
			t.Errorf("NewIssuer(%+v) succeeded", c)
		}
	}
}

func TestFromAuthorization(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		reason   Reason
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", ""},
		{"bearer abc", "abc", ""},
		{"BEARER   abc", "abc", ""},
		{"", "", Missing},
		{"Bearer ", "", Missing},
		{"Bearer", "", Malformed},
		{"Basic dXNlcjpwYXNz", "", Malformed},
		{"Bearer a, Bearer b", "", Malformed},
		{"Bearer a b", "", Malformed},
		{"Bearer a\x01b", "", Malformed},
		{"Bearer " + strings.Repeat("a", MaxBytes+1), "", Oversized},
	} {
		got, err := FromAuthorization(tt.in)
		var rf *Refusal
		switch {
		case tt.reason == "" && (err != nil || got != tt.want):
			t.Errorf("FromAuthorization(%.30q) = %q, %v", tt.in, got, err)
		case tt.reason != "" && (!errors.As(err, &rf) || rf.Reason != tt.reason):
			t.Errorf("FromAuthorization(%.30q): err = %v, want %s", tt.in, err, tt.reason)
		case tt.reason != "" && len(tt.in) > 8 && strings.Contains(err.Error(), tt.in[7:]):
			t.Errorf("FromAuthorization(%.30q): the error shows the value", tt.in)
		}
	}
}

func TestNormalizeDestination(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"mainframe.example.com:23", "mainframe.example.com:23"},
		{"Mainframe.Example.COM.:23", "mainframe.example.com:23"},
		{"host_1.example:992", "host_1.example:992"},
		{"10.0.0.1:23", "10.0.0.1:23"},
		{"[2001:DB8:0:0::1]:23", "[2001:db8::1]:23"},
		{"[::ffff:10.0.0.1]:23", "[::ffff:10.0.0.1]:23"},
		{"localhost:1", "localhost:1"},
		{"a.b:65535", "a.b:65535"},
		{"mainframe.example.com", ""},
		{"mainframe.example.com:0", ""},
		{"mainframe.example.com:65536", ""},
		{"mainframe.example.com:023", ""},
		{"mainframe.example.com:+23", ""},
		{"2001:db8::1:23", ""},
		{"[fe80::1%eth0]:23", ""},
		{"[10.0.0.1]:23", "10.0.0.1:23"}, // net.SplitHostPort takes brackets off any host
		{"0x7f.1:23", ""},
		{"0177.0.0.1:23", ""},
		{"2130706433:23", ""},
		{"127.1:23", ""},
		{"010.0.0.1:23", ""},
		{"a..b:23", ""},
		{".:23", ""},
		{":23", ""},
		{"bücher.example:23", ""},
		{"a b:23", ""},
		{"a%2eb:23", ""},
		{strings.Repeat("a", 64) + ".example:23", ""},
	} {
		got, err := NormalizeDestination(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeDestination(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeDestination(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// Squid gives %DST without brackets.
	if got, err := JoinDestination("2001:db8::1", "23"); err != nil || got != "[2001:db8::1]:23" {
		t.Errorf("JoinDestination = %q, %v", got, err)
	}
}

func TestParseKeySet(t *testing.T) {
	a, _ := jws.GenerateKey(jws.EdDSA)
	b, _ := jws.GenerateKey(jws.ES256)
	pa, _ := jws.MarshalPublicKeyPEM(a.Public())
	pb, _ := jws.MarshalPublicKeyPEM(b.Public())
	priv, _ := jws.MarshalPrivateKeyPEM(a)
	ka, _ := jws.KeyID(a.Public())
	kb, _ := jws.KeyID(b.Public())

	set, err := ParseKeySet([]byte("# the portal's key since March\n" + string(pa) + "\n# the next key\n" + string(pb)))
	if err != nil {
		t.Fatal(err)
	}
	if ids := set.KeyIDs(); len(ids) != 2 || ids[0] != ka || ids[1] != kb {
		t.Fatalf("KeyIDs = %v", ids)
	}
	damaged := strings.Replace(string(pa), "MC", "M!C", 1)
	for name, data := range map[string]string{
		"empty":                  "",
		"comments only":          "# nothing\n",
		"the same key twice":     string(pa) + string(pa),
		"a private key":          string(priv),
		"a damaged block first":  damaged + string(pb),
		"a damaged block last":   string(pb) + damaged,
		"truncated":              string(pa)[:len(pa)-20],
		"a certificate, not key": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	} {
		if _, err := ParseKeySet([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
