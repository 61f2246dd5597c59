package jws

import (
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
	"math/big"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/jws/jwstest"
)

const testType = "test+jwt"

// b64 and signRaw sign by hand (jwstest), so that a test can put any
// header under a valid signature: a refusal then comes from the header,
// not from the signature.
func b64(b []byte) string { return jwstest.B64(b) }

func signRaw(t testing.TB, key crypto.Signer, header, payload string) string {
	t.Helper()
	return jwstest.Sign(t, key, []byte(header), []byte(payload))
}

func lookupOnly(kid string, pub crypto.PublicKey) func(string, string) (crypto.PublicKey, error) {
	return func(k, alg string) (crypto.PublicKey, error) {
		if k != kid {
			return nil, fmt.Errorf("no key %q", k)
		}
		return pub, nil
	}
}

func TestVerify(t *testing.T) {
	ed, _ := GenerateKey(EdDSA)
	p256, _ := GenerateKey(ES256)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := KeyID(ed.Public())
	pkid, _ := KeyID(p256.Public())
	good, err := Sign([]byte(`{"x":1}`), ed, testType)
	if err != nil {
		t.Fatal(err)
	}
	goodP256, err := Sign([]byte(`{"x":1}`), p256, testType)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	hdr := func(alg string, extra string) string {
		return fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":%q%s}`, alg, kid, testType, extra)
	}
	// HS256 keyed with the Ed25519 public key: the algorithm-confusion
	// forgery (RFC 8725 section 2.1).
	hsInput := b64([]byte(hdr("HS256", ""))) + "." + parts[1]
	mac := hmac.New(sha256.New, ed.Public().(ed25519.PublicKey))
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + b64(mac.Sum(nil))

	tests := []struct {
		name, jws string
		key       func(string, string) (crypto.PublicKey, error)
		want      Reason // 0: accepted
		msg       string
	}{
		{"good EdDSA", good, nil, 0, ""},
		{"good ES256", goodP256, lookupOnly(pkid, p256.Public()), 0, ""},
		{"oversized", good + strings.Repeat("A", 4096), nil, Oversized, "larger than 4 KiB"},
		{"two parts", parts[0] + "." + parts[1], nil, Malformed, "compact form"},
		{"four parts", good + ".x", nil, Malformed, "got 4"},
		{"empty signature", parts[0] + "." + parts[1] + ".", nil, Malformed, "part 3 of 3 is empty"},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], nil, Malformed, "part 1 of 3 is not base64url"},
		{"header not JSON", b64([]byte("not json")) + "." + parts[1] + "." + parts[2], nil, Malformed, "not a JSON object"},
		{"alg none", signRaw(t, ed, hdr("none", ""), `{}`), nil, BadAlgorithm, `alg "none" is not allowed`},
		{"alg HS256 keyed with the public key", hs256, nil, BadAlgorithm, `alg "HS256" is not allowed`},
		{"alg RS256, signed with RSA", signRaw(t, rsaKey, hdr("RS256", ""), `{}`), lookupOnly(kid, &rsaKey.PublicKey), BadAlgorithm, `alg "RS256" is not allowed`},
		{"alg ES256 on an Ed25519 key", signRaw(t, ed, hdr("ES256", ""), `{}`), nil, BadAlgorithm, "does not fit"},
		{"typ of another purpose", signRaw(t, ed, fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"JWT"}`, kid), `{}`), nil, BadType, `typ "JWT" is not "test+jwt"`},
		{"no typ", signRaw(t, ed, fmt.Sprintf(`{"alg":"EdDSA","kid":%q}`, kid), `{}`), nil, BadType, `typ ""`},
		{"no kid", signRaw(t, ed, fmt.Sprintf(`{"alg":"EdDSA","typ":%q}`, testType), `{}`), nil, Malformed, "no kid"},
		{"jwk", signRaw(t, ed, hdr("EdDSA", `,"jwk":{"kty":"OKP"}`), `{}`), nil, CarriedKey, "carries jwk"},
		{"jku", signRaw(t, ed, hdr("EdDSA", `,"jku":"https://evil.example/k"`), `{}`), nil, CarriedKey, "carries jku"},
		{"x5c", signRaw(t, ed, hdr("EdDSA", `,"x5c":[]`), `{}`), nil, CarriedKey, "carries x5c"},
		{"x5u null", signRaw(t, ed, hdr("EdDSA", `,"x5u":null`), `{}`), nil, CarriedKey, "carries x5u"},
		{"crit", signRaw(t, ed, hdr("EdDSA", `,"crit":["exp"]`), `{}`), nil, CarriedKey, "carries crit"},
		{"tampered payload", parts[0] + "." + b64([]byte(`{"x":2}`)) + "." + parts[2], nil, BadSignature, "does not verify"},
		{"signature of another key", signRaw(t, mustKey(t), hdr("EdDSA", ""), `{"x":1}`), nil, BadSignature, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			if key == nil {
				key = lookupOnly(kid, ed.Public())
			}
			v, err := Verify(tt.jws, VerifyOptions{Type: testType, Kind: "a test token", MaxBytes: 4 << 10, Key: key})
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if string(v.Payload) != `{"x":1}` || v.Header.Typ != testType {
					t.Fatalf("verified %+v %q", v.Header, v.Payload)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != tt.want || !strings.Contains(e.Msg, tt.msg) {
				t.Fatalf("err = %v (%#v), want reason %d with %q", err, err, tt.want, tt.msg)
			}
			if strings.Contains(err.Error(), tt.jws) {
				t.Errorf("the message holds the JWS")
			}
		})
	}

	t.Run("the lookup's error is returned as it is", func(t *testing.T) {
		mine := errors.New("no such key in my store")
		_, err := Verify(good, VerifyOptions{Type: testType, MaxBytes: 4 << 10, Key: func(string, string) (crypto.PublicKey, error) { return nil, mine }})
		if err != mine {
			t.Fatalf("err = %v", err)
		}
	})
}

func mustKey(t testing.TB) crypto.Signer {
	k, err := GenerateKey(EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyIDVector checks the thumbprint against RFC 8037 appendix A.3.
func TestKeyIDVector(t *testing.T) {
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	kid, err := KeyID(ed25519.PublicKey(x))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; kid != want {
		t.Fatalf("KeyID = %s, want %s (RFC 8037 A.3)", kid, want)
	}
}

// TestSignHeader: what Sign writes is what Verify and the contract
// expect, and ES256 signatures are the 64-byte R||S of RFC 7518, not
// ASN.1.
func TestSignHeader(t *testing.T) {
	p256, _ := GenerateKey(ES256)
	tok, err := Sign([]byte(`{}`), p256, testType)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	kid, _ := KeyID(p256.Public())
	if h["alg"] != ES256 || h["typ"] != testType || h["kid"] != kid || len(h) != 3 {
		t.Fatalf("header %s", raw)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if len(sig) != 64 {
		t.Fatalf("ES256 signature is %d bytes, want 64", len(sig))
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub := p256.Public().(*ecdsa.PublicKey)
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("ES256 signature does not verify as R||S")
	}
}

func TestKeyPEM(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256} {
		k, err := GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		priv, _ := MarshalPrivateKeyPEM(k)
		back, err := ParsePrivateKeyPEM(priv)
		if err != nil {
			t.Fatal(err)
		}
		pubPEM, _ := MarshalPublicKeyPEM(back.Public())
		pub, got, err := ParsePublicKeyPEM(pubPEM)
		if err != nil || got != alg {
			t.Fatalf("%s: %v %s", alg, err, got)
		}
		a, _ := KeyID(pub)
		b, _ := KeyID(k.Public())
		if a != b {
			t.Fatalf("%s: the key changed through PEM", alg)
		}
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaPEM, _ := MarshalPublicKeyPEM(&rsaKey.PublicKey)
	if _, _, err := ParsePublicKeyPEM(rsaPEM); err == nil || !strings.Contains(err.Error(), "want Ed25519 or ECDSA P-256") {
		t.Fatalf("RSA key: %v", err)
	}
	if _, err := GenerateKey("RS256"); err == nil {
		t.Fatal("GenerateKey made an RS256 key")
	}
}
