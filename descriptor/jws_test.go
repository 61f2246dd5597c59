package descriptor

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/whitelist"
)

// jwsNow is the clock of the JWS tests: descriptors are signed at it.
var jwsNow = time.Unix(1_900_000_000, 0)

const jwsDescriptor = `{"version":1,"session":"Payroll","profile":"c3270","proxy":{"address":"proxy.example.com:8443","transport":"connect"},"destination":{"host":"mainframe.example.com","port":23},"token":"tok-7f3a9c"}`

type jwsFixture struct {
	key, other crypto.Signer
	pub        []crypto.Signer // the private keys of the policy's publishers, in order
	policy     publisherList
	origin     whitelist.Origin
}

// publisherList is the Publishers of these tests: the keys, without the
// admin policy file around them (package policy parses that, and its tests
// verify a signed descriptor against a parsed policy).
type publisherList []Publisher

func (l publisherList) Publisher(kid string) (*Publisher, bool) {
	for i := range l {
		if l[i].KeyID == kid {
			return &l[i], true
		}
	}
	return nil, false
}

func (l publisherList) PublishersSource() string { return "policy.toml" }

// newPublisher makes the publisher a [[publishers]] table of the key would
// be: the key goes through its PEM form, as an administrator gives it.
func newPublisher(t testing.TB, name string, key crypto.Signer, origins ...string) Publisher {
	t.Helper()
	pemKey, err := MarshalPublicKeyPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub := Publisher{Name: name, Line: 1}
	if pub.Key, pub.Alg, err = ParsePublicKeyPEM(pemKey); err != nil {
		t.Fatal(err)
	}
	if pub.KeyID, err = KeyID(pub.Key); err != nil {
		t.Fatal(err)
	}
	for _, o := range origins {
		e, err := whitelist.ParseEntry(o)
		if err != nil {
			t.Fatal(err)
		}
		pub.Origins = append(pub.Origins, e)
	}
	return pub
}

func newJWSFixture(t testing.TB) *jwsFixture {
	t.Helper()
	f := &jwsFixture{}
	f.key, _ = GenerateKey("EdDSA")
	f.other, _ = GenerateKey("EdDSA")
	p256, _ := GenerateKey("ES256")
	bound, _ := GenerateKey("EdDSA")
	f.pub = []crypto.Signer{f.key, p256, bound}
	f.policy = publisherList{newPublisher(t, "Payroll portal", f.key), newPublisher(t, "P-256 portal", p256), newPublisher(t, "Bound portal", bound, "portal.example.com")}
	var err error
	if f.origin, err = whitelist.ParseOrigin("https://portal.example.com/"); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *jwsFixture) sign(t testing.TB, key crypto.Signer, payload string) string {
	t.Helper()
	out, err := Sign([]byte(payload), key, jwsNow, 120*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func unb64(t testing.TB, s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVerifySigned is the table of the issue: forged, altered, re-signed,
// alg-swapped, expired, wrong-kid, wrong-origin and truncated descriptors,
// each refused with its reason, and the good ones accepted.
func TestVerifySigned(t *testing.T) {
	f := newJWSFixture(t)
	good := f.sign(t, f.key, jwsDescriptor)
	parts := strings.Split(good, ".")
	kid, _ := KeyID(f.key.Public())
	hdr := func(h string) string { return b64(h) + "." + parts[1] + "." + parts[2] }
	p256 := f.policy[1]

	// HS256 with the publisher's public key as the HMAC secret: the
	// classic algorithm-confusion forgery.
	pubBytes := []byte(f.key.Public().(ed25519.PublicKey))
	hsHead := b64(fmt.Sprintf(`{"alg":"HS256","kid":%q,"typ":"trustlaunch-descriptor+jws"}`, kid))
	mac := hmac.New(sha256.New, pubBytes)
	mac.Write([]byte(hsHead + "." + parts[1]))
	hs256 := hsHead + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	altered := b64(strings.Replace(unb64(t, parts[1]), "proxy.example.com", "proxy.evil.example", 1))
	// Re-signed: the altered payload signed with the attacker's key, under
	// the publisher's header and kid.
	resigned := parts[0] + "." + altered + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(f.other.(ed25519.PrivateKey), []byte(parts[0]+"."+altered)))

	tests := []struct {
		name   string
		jws    string
		now    time.Time
		origin *whitelist.Origin
		want   string // "" accepted
	}{
		{"good", good, jwsNow, nil, ""},
		{"good with a final newline", good + "\n", jwsNow, nil, ""},
		{"good at the edge of the skew", good, jwsNow.Add(120*time.Second + ClockSkew - time.Second), nil, ""},
		{"forged signature", parts[0] + "." + parts[1] + "." + b64(strings.Repeat("x", 64)), jwsNow, nil, "does not verify"},
		{"altered payload", parts[0] + "." + altered + "." + parts[2], jwsNow, nil, "does not verify"},
		{"re-signed by another key under the kid", resigned, jwsNow, nil, "does not verify"},
		{"signed by a key not in the policy", f.sign(t, f.other, jwsDescriptor), jwsNow, nil, "names no publisher"},
		{"alg none", hdr(fmt.Sprintf(`{"alg":"none","kid":%q,"typ":"trustlaunch-descriptor+jws"}`, kid)), jwsNow, nil, `alg "none" is not allowed`},
		{"alg none, empty signature", b64(fmt.Sprintf(`{"alg":"none","kid":%q}`, kid)) + "." + parts[1] + ".", jwsNow, nil, "part 3 of 3 is empty"},
		{"alg HS256 with the public key as secret", hs256, jwsNow, nil, `alg "HS256" is not allowed`},
		{"alg RS256", hdr(fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"trustlaunch-descriptor+jws"}`, kid)), jwsNow, nil, `alg "RS256" is not allowed`},
		{"alg swapped to ES256 on an Ed25519 key", hdr(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":"trustlaunch-descriptor+jws"}`, kid)), jwsNow, nil, "does not fit"},
		{"alg swapped to EdDSA on a P-256 key", hdr(fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"trustlaunch-descriptor+jws"}`, p256.KeyID)), jwsNow, nil, "does not fit"},
		{"expired", good, jwsNow.Add(120*time.Second + ClockSkew), nil, "expired"},
		{"not valid yet", good, jwsNow.Add(-ClockSkew - time.Second), nil, "not valid yet"},
		{"wrong kid", hdr(`{"alg":"EdDSA","kid":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","typ":"trustlaunch-descriptor+jws"}`), jwsNow, nil, "names no publisher"},
		{"no kid", hdr(`{"alg":"EdDSA","typ":"trustlaunch-descriptor+jws"}`), jwsNow, nil, "no kid"},
		{"wrong typ", hdr(fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"JWT"}`, kid)), jwsNow, nil, `typ "JWT"`},
		{"embedded jwk", hdr(fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"trustlaunch-descriptor+jws","jwk":{"kty":"OKP"}}`, kid)), jwsNow, nil, "carries jwk"},
		{"wrong origin", f.sign(t, f.pub[2], jwsDescriptor), jwsNow, &whitelist.Origin{}, "signs only for portal.example.com"},
		{"truncated", good[:len(good)-10], jwsNow, nil, "does not verify"},
		{"truncated to two parts", parts[0] + "." + parts[1], jwsNow, nil, "compact form"},
		{"JSON serialization", `{"payload":"` + parts[1] + `"}`, jwsNow, nil, "compact form"},
		{"not base64url", parts[0] + "." + parts[1] + "+/." + parts[2], jwsNow, nil, "not base64url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := VerifyOptions{Publishers: f.policy, Origin: f.origin, Now: tt.now}
			if tt.origin != nil {
				other, _ := whitelist.ParseOrigin("https://other.example.com/")
				o.Origin = other
			}
			d, err := VerifySigned([]byte(tt.jws), o)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if d.Publisher != "Payroll portal" || d.PublisherKeyID != kid || d.IssuedAt != jwsNow.Unix() || d.Expires != jwsNow.Unix()+120 {
					t.Errorf("descriptor %+v publisher %q", d, d.Publisher)
				}
				return
			}
			var se *SignatureError
			if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want a *SignatureError containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "tok-7f3a9c") {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
	t.Run("bound key from its origin", func(t *testing.T) {
		d, err := VerifySigned([]byte(f.sign(t, f.pub[2], jwsDescriptor)), VerifyOptions{Publishers: f.policy, Origin: f.origin, Now: jwsNow})
		if err != nil || d.Publisher != "Bound portal" {
			t.Fatalf("%v %+v", err, d)
		}
	})
	t.Run("ES256", func(t *testing.T) {
		d, err := VerifySigned([]byte(f.sign(t, f.pub[1], jwsDescriptor)), VerifyOptions{Publishers: f.policy, Origin: f.origin, Now: jwsNow})
		if err != nil || d.Publisher != "P-256 portal" {
			t.Fatalf("%v %+v", err, d)
		}
	})
	t.Run("no policy", func(t *testing.T) {
		_, err := VerifySigned([]byte(good), VerifyOptions{Origin: f.origin, Now: jwsNow})
		if err == nil || !strings.Contains(err.Error(), "there is no admin policy") {
			t.Fatal(err)
		}
	})
	t.Run("payload without iat and exp", func(t *testing.T) {
		// Signed by hand, since Sign adds them.
		payload := b64(jwsDescriptor)
		sig := ed25519.Sign(f.key.(ed25519.PrivateKey), []byte(parts[0]+"."+payload))
		_, err := VerifySigned([]byte(parts[0]+"."+payload+"."+base64.RawURLEncoding.EncodeToString(sig)), VerifyOptions{Publishers: f.policy, Now: jwsNow})
		if err == nil || !strings.Contains(err.Error(), "no iat") {
			t.Fatal(err)
		}
	})
	t.Run("lifetime over 300 s", func(t *testing.T) {
		long := strings.Replace(jwsDescriptor, `"version":1`, fmt.Sprintf(`"version":1,"iat":%d,"exp":%d`, jwsNow.Unix(), jwsNow.Unix()+301), 1)
		if _, err := Sign([]byte(long), f.key, jwsNow, time.Minute); err == nil || !strings.Contains(err.Error(), "more than 300 s") {
			t.Fatal(err)
		}
	})
}

// FuzzVerifySigned feeds arbitrary bytes to VerifySigned. Invariants: it
// never panics; whatever it accepts verifies under a publisher of the
// policy, is a valid descriptor, and prints no token.
func FuzzVerifySigned(f *testing.F) {
	fx := newJWSFixture(f)
	good := fx.sign(f, fx.key, jwsDescriptor)
	f.Add([]byte(good))
	seeds, _ := filepath.Glob(filepath.Join("testdata", "jws", "*.jws"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := VerifySigned(data, VerifyOptions{Publishers: fx.policy, Origin: fx.origin, Now: jwsNow})
		if err != nil {
			if d != nil {
				t.Fatal("a descriptor with an error")
			}
			return
		}
		if _, ok := fx.policy.Publisher(d.PublisherKeyID); !ok || d.Publisher == "" {
			t.Fatalf("accepted without a publisher: %+v", d)
		}
		if out := fmt.Sprintf("%v %+v %#v %s", d, d, d, d); strings.Contains(out, "tok-7f3a9c") {
			t.Fatalf("the descriptor prints its token: %s", out)
		}
	})
}

// BenchmarkVerifySigned measures what a signature adds to a launch: verify
// a signed descriptor against decoding the same descriptor unsigned.
func BenchmarkVerifySigned(b *testing.B) {
	fx := newJWSFixture(b)
	for _, alg := range []string{"EdDSA", "ES256"} {
		key := fx.pub[map[string]int{"EdDSA": 0, "ES256": 1}[alg]]
		jws := []byte(fx.sign(b, key, jwsDescriptor))
		b.Run("signed-"+alg, func(b *testing.B) {
			o := VerifyOptions{Publishers: fx.policy, Origin: fx.origin, Now: jwsNow}
			for b.Loop() {
				if _, err := VerifySigned(jws, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("unsigned", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode([]byte(jwsDescriptor)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
