//go:build linux

package peers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// TestHAProxyTokenCheck runs docs/proxy.md's haproxy.cfg: HAProxy 2.6
// checks ES256 session tokens with jwt_verify in front of a Squid that
// checks none. A valid token opens a tunnel (data flows) and the first
// client's reconnect too; another client with the same token, and every
// token the contract refuses, gets 407. Squid never sees the
// Proxy-Authorization header, and no log holds a token.
func TestHAProxyTokenCheck(t *testing.T) {
	t.Parallel()
	sq := peers.StartSquid(t, peers.SquidOptions{NoTokenCheck: true, AccessLogFormat: "%Ss/%>Hs auth=%{Proxy-Authorization}>h"})
	hp := peers.StartHAProxy(t, peers.HAProxyOptions{Squid: sq})
	echo := peers.StartEcho(t)
	key := hp.Tokens.Key
	kid, err := sessiontoken.KeyID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	client := func(token, source string) *peers.BareClient {
		return &peers.BareClient{Proxy: hp.Addr, TLS: hp.Cert.CA.ClientTLS("127.0.0.1"), Token: token, Source: source}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var planted []string
	open := func(token, source, msg string) error {
		planted = append(planted, token)
		conn, err := client(token, source).Dial(ctx, echo.Addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		assertEcho(t, conn, msg)
		return nil
	}
	want407 := func(what string, err error) {
		t.Helper()
		var se *peers.StatusError
		if !errors.As(err, &se) || se.StatusCode != http.StatusProxyAuthRequired {
			t.Errorf("%s: err = %v, want 407", what, err)
		}
	}

	good := hp.Token(t, echo.Addr)
	if err := open(good, "127.0.0.1", "through HAProxy and Squid\n"); err != nil {
		t.Fatalf("a valid token: %v", err)
	}
	want407("the same token from another client", open(good, "127.0.0.2", "x\n"))
	if err := open(good, "127.0.0.1", "the first client again\n"); err != nil {
		t.Errorf("the first client reconnecting: %v", err)
	}

	claims := func(edit func(map[string]any)) map[string]any {
		now := time.Now().Unix()
		c := map[string]any{"iss": peers.PortalIssuer, "sub": "mallory", "aud": hp.Tokens.Audience, "dst": echo.Addr, "iat": now, "exp": now + 120, "jti": sessiontoken.NewID()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	hdr := func(alg, typ string) map[string]any { return map[string]any{"alg": alg, "kid": kid, "typ": typ} }
	es := func(edit func(map[string]any)) string {
		return signToken(t, key, hdr("ES256", sessiontoken.Type), claims(edit))
	}
	other := strings.Split(hp.Token(t, "127.0.0.1:1"), ".")
	raw, _ := base64.RawURLEncoding.DecodeString(other[1])
	tampered := other[0] + "." + b64url([]byte(strings.Replace(string(raw), "127.0.0.1:1", echo.Addr, 1))) + "." + other[2]
	// HS256 keyed with the public key HAProxy holds (DER): confusion.
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	hsInput := b64url(fmt.Appendf(nil, `{"alg":"HS256","kid":%q,"typ":%q}`, kid, sessiontoken.Type)) + "." + strings.Split(es(nil), ".")[1]
	mac := hmac.New(sha256.New, der)
	mac.Write([]byte(hsInput))
	now := time.Now()

	for _, tt := range []struct{ name, token string }{
		{"no token", ""},
		{"expired", hp.Tokens.TokenAt(t, echo.Addr, now.Add(-sessiontoken.DefaultLifetime-sessiontoken.ClockSkew-time.Second))},
		{"not yet valid", hp.Tokens.TokenAt(t, echo.Addr, now.Add(5*time.Minute))},
		{"a lifetime over 300 s", es(func(c map[string]any) { c["exp"] = now.Unix() + 301 })},
		{"no exp", es(func(c map[string]any) { delete(c, "exp") })},
		{"wrong iss", es(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"wrong aud", peers.NewTokenIssuerWithKey(t, key, "another-proxy.example:8443").Token(t, echo.Addr)},
		{"a valid token for another port", hp.Token(t, "127.0.0.1:1")},
		{"tampered", tampered},
		{"alg none", signToken(t, key, hdr("none", sessiontoken.Type), claims(nil))},
		{"alg HS256 keyed with the public key", hsInput + "." + b64url(mac.Sum(nil))},
		{"EdDSA from another key", peers.NewTokenIssuer(t, hp.Tokens.Audience, "EdDSA").Token(t, echo.Addr)},
		{"ES256 from another key", peers.NewTokenIssuer(t, hp.Tokens.Audience, "ES256").Token(t, echo.Addr)},
		{"a signed descriptor's typ", signToken(t, key, hdr("ES256", "trustlaunch-descriptor+jws"), claims(nil))},
		{"cnf", es(func(c map[string]any) { c["cnf"] = map[string]any{"jkt": "x"} })},
	} {
		want407(tt.name, open(tt.token, "127.0.0.1", "refused\n"))
	}

	hpLog := hp.FinalLog()
	sq.Stop()
	access := sq.AccessLog()
	if !strings.Contains(access, "TCP_TUNNEL/200 auth=-") || strings.Contains(access, "auth=Bearer") {
		t.Errorf("Squid saw a Proxy-Authorization header, or no tunnel:\n%s", peers.RedactTokens(access))
	}
	if !strings.Contains(hpLog, " 200 ") || !strings.Contains(hpLog, "sub=alice jti=") || !strings.Contains(hpLog, " 407 ") {
		t.Errorf("HAProxy's log lacks the admitted and refused CONNECTs:\n%s", peers.RedactTokens(hpLog))
	}
	for _, tok := range planted {
		if tok == "" {
			continue
		}
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		for name, text := range map[string]string{"HAProxy's log": hpLog, "Squid's access.log": access, "Squid's cache.log": sq.CacheLog(), "Squid's output": sq.Log()} {
			if strings.Contains(text, tok) || (len(sig) >= 32 && strings.Contains(text, sig)) {
				t.Errorf("a planted token is in %s", name)
			}
		}
	}
}
