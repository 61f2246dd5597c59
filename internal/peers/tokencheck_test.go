//go:build linux

package peers_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/jws/jwstest"
	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// These tests run the shipped token check, trustlaunch-tokencheck, in a
// real Squid 5.7 configured as docs/proxy.md gives it (peers.StartSquid),
// and try every refusal a reviewer would: each must end in Squid's 407,
// and no token may reach Squid's access.log or cache.log (where the
// helper's own log goes) or Squid's output.

func b64url(b []byte) string { return jwstest.B64(b) }

// signToken signs claims under header with key, by hand, so that a test
// can sign what no Issuer would: a forgery then fails on what it says, not
// on its signature.
func signToken(t testing.TB, key crypto.Signer, header, claims map[string]any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	return jwstest.Sign(t, key, hb, cb)
}

// claimsFor are the claims a portal would issue for dest through sq.
func claimsFor(sq *peers.Squid, dest string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": peers.PortalIssuer, "sub": "mallory", "aud": sq.Tokens.Audience, "dst": dest,
		"iat": now, "exp": now + 120, "jti": sessiontoken.NewID()}
}

func TestTokenCheckRefusals(t *testing.T) {
	t.Parallel()
	sq := peers.StartSquid(t, peers.SquidOptions{})
	echo := peers.StartEcho(t)
	closed := closedPort(t)
	kid, err := sessiontoken.KeyID(sq.Tokens.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	good := sq.Token(t, echo.Addr)
	parts := strings.Split(good, ".")

	// Tampered: the payload of a token for another port, rewritten to
	// name this destination, under the original signature.
	other := strings.Split(sq.Token(t, closed), ".")
	raw, _ := base64.RawURLEncoding.DecodeString(other[1])
	tampered := other[0] + "." + b64url([]byte(strings.Replace(string(raw), closed, echo.Addr, 1))) + "." + other[2]

	// HS256 keyed with the portal's public key: algorithm confusion.
	hsInput := b64url(fmt.Appendf(nil, `{"alg":"HS256","kid":%q,"typ":%q}`, kid, sessiontoken.Type)) + "." + parts[1]
	mac := hmac.New(sha256.New, sq.Tokens.Key.Public().(ed25519.PublicKey))
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + b64url(mac.Sum(nil))

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(alg string) map[string]any {
		return map[string]any{"alg": alg, "kid": kid, "typ": sessiontoken.Type}
	}
	big := claimsFor(sq, echo.Addr)
	big["pad"] = strings.Repeat("x", sessiontoken.MaxBytes)

	refused := []struct {
		name, dest, token string
		reason            sessiontoken.Reason
	}{
		{"no token", echo.Addr, "", sessiontoken.Missing},
		{"expired", echo.Addr, sq.Tokens.TokenAt(t, echo.Addr, time.Now().Add(-sessiontoken.DefaultLifetime-sessiontoken.ClockSkew-time.Second)), sessiontoken.Expired},
		{"not yet valid", echo.Addr, sq.Tokens.TokenAt(t, echo.Addr, time.Now().Add(5*time.Minute)), sessiontoken.NotYetValid},
		{"wrong aud", echo.Addr, peers.NewTokenIssuerWithKey(t, sq.Tokens.Key, "another-proxy.example:8443").Token(t, echo.Addr), sessiontoken.WrongAud},
		{"wrong iss", echo.Addr, signToken(t, sq.Tokens.Key, hdr("EdDSA"), func() map[string]any {
			c := claimsFor(sq, echo.Addr)
			c["iss"] = "https://evil.example"
			return c
		}()), sessiontoken.WrongIssuer},
		{"valid token for another port", echo.Addr, sq.Token(t, closed), sessiontoken.WrongDest},
		{"valid token for another host", echo.Addr, sq.Token(t, strings.Replace(echo.Addr, "127.0.0.1", "localhost", 1)), sessiontoken.WrongDest},
		{"tampered", echo.Addr, tampered, sessiontoken.Signature},
		{"alg none", echo.Addr, signToken(t, sq.Tokens.Key, hdr("none"), claimsFor(sq, echo.Addr)), sessiontoken.Algorithm},
		{"alg HS256 keyed with the public key", echo.Addr, hs256, sessiontoken.Algorithm},
		{"alg RS256", echo.Addr, signToken(t, rsaKey, hdr("RS256"), claimsFor(sq, echo.Addr)), sessiontoken.Algorithm},
		{"unknown kid", echo.Addr, peers.NewTokenIssuer(t, sq.Tokens.Audience, "").Token(t, echo.Addr), sessiontoken.UnknownKey},
		{"a signed descriptor's typ", echo.Addr, signToken(t, sq.Tokens.Key, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "trustlaunch-descriptor+jws"}, claimsFor(sq, echo.Addr)), sessiontoken.WrongType},
		{"oversized", echo.Addr, signToken(t, sq.Tokens.Key, hdr("EdDSA"), big), sessiontoken.Oversized},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			conn, err := bare(sq, tt.token).Dial(ctx, tt.dest)
			if err == nil {
				conn.Close()
				t.Fatal("tunnel opened, want 407")
			}
			var se *peers.StatusError
			if !errors.As(err, &se) || se.StatusCode != http.StatusProxyAuthRequired {
				t.Fatalf("err = %v, want 407", err)
			}
		})
	}

	t.Run("replayed from another client", func(t *testing.T) {
		tok := sq.Token(t, echo.Addr)
		refused = append(refused, struct {
			name, dest, token string
			reason            sessiontoken.Reason
		}{"replayed", echo.Addr, tok, sessiontoken.Replayed})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		first := bare(sq, tok)
		first.Source = "127.0.0.1"
		conn, err := first.Dial(ctx, echo.Addr)
		if err != nil {
			t.Fatalf("first use: %v", err)
		}
		assertEcho(t, conn, "first\n")
		conn.Close()
		// The emulator reconnects: the same token, the same client.
		conn, err = first.Dial(ctx, echo.Addr)
		if err != nil {
			t.Fatalf("reconnect from the first client: %v", err)
		}
		assertEcho(t, conn, "again\n")
		conn.Close()
		// Someone else with the same token.
		thief := bare(sq, tok)
		thief.Source = "127.0.0.2"
		conn, err = thief.Dial(ctx, echo.Addr)
		var se *peers.StatusError
		if err == nil {
			conn.Close()
		}
		if !errors.As(err, &se) || se.StatusCode != http.StatusProxyAuthRequired {
			t.Fatalf("from another client: err = %v, want 407", err)
		}
		// The first client still may.
		conn, err = first.Dial(ctx, echo.Addr)
		if err != nil {
			t.Fatalf("the first client after the refusal: %v", err)
		}
		conn.Close()
	})

	t.Run("IPv6 destination", func(t *testing.T) {
		ln, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Fatalf("an IPv6 loopback listener: %v", err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { io.Copy(c, c); c.Close() }()
			}
		}()
		port := ln.Addr().(*net.TCPAddr).Port
		// The portal spells the address its own way; CONNECT another.
		tok := sq.Token(t, fmt.Sprintf("[0:0:0:0:0:0:0:1]:%d", port))
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		conn, err := bare(sq, tok).Dial(ctx, fmt.Sprintf("[::1]:%d", port))
		if err != nil {
			t.Fatalf("CONNECT [::1]: %v", err)
		}
		assertEcho(t, conn, "over IPv6\n")
		conn.Close()
	})

	t.Run("host name spelled another way", func(t *testing.T) {
		// The portal names the host; the client's CONNECT spells it in
		// upper case with a trailing dot. Both normalize to one name.
		port := echo.Addr[strings.LastIndexByte(echo.Addr, ':'):]
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		conn, err := bare(sq, sq.Token(t, "localhost"+port)).Dial(ctx, "LOCALHOST."+port)
		if err != nil {
			t.Fatalf("CONNECT LOCALHOST.%s with a token for localhost%s: %v", port, port, err)
		}
		assertEcho(t, conn, "by name\n")
		conn.Close()
	})

	t.Run("valid", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		conn, err := bare(sq, good).Dial(ctx, echo.Addr)
		if err != nil {
			t.Fatal(err)
		}
		assertEcho(t, conn, "through the token check\n")
		conn.Close()
	})

	// Every refusal is explained in cache.log, by reason; no token is in
	// any log. The access log names the user of the admitted tunnels.
	sq.Stop() // flushes the logs
	cache, access, out := sq.CacheLog(), sq.AccessLog(), sq.Log()
	for _, tt := range refused {
		if want := "trustlaunch-tokencheck: refused (" + string(tt.reason) + ")"; !strings.Contains(cache, want) {
			t.Errorf("%s: cache.log lacks %q", tt.name, want)
		}
	}
	if !strings.Contains(cache, "(first used from 127.0.0.1)") {
		t.Errorf("cache.log does not say where the replayed token was first used")
	}
	if !strings.Contains(access, "TCP_TUNNEL/200") || !strings.Contains(access, " alice ") {
		t.Errorf("access.log lacks the admitted tunnels with their user:\n%s", access)
	}
	for _, tt := range append(refused, struct {
		name, dest, token string
		reason            sessiontoken.Reason
	}{"valid", echo.Addr, good, ""}) {
		if tt.token == "" {
			continue
		}
		// The whole token, and its signature alone, which is the part
		// no other text could hold.
		sig := tt.token[strings.LastIndexByte(tt.token, '.')+1:]
		for logName, text := range map[string]string{"cache.log": cache, "access.log": access, "Squid's output": out} {
			if strings.Contains(text, tt.token) || (len(sig) >= 32 && strings.Contains(text, sig)) {
				t.Errorf("%s: the token is in %s", tt.name, logName)
			}
		}
	}
}

// TestTokenCheckFailsClosed: when the helper cannot tell (its single-use
// memory is full, a BH answer), Squid refuses the tunnel, and cache.log
// says why.
func TestTokenCheckFailsClosed(t *testing.T) {
	t.Parallel()
	sq := peers.StartSquid(t, peers.SquidOptions{HelperArgs: []string{"--replay-capacity", "1"}})
	echo := peers.StartEcho(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	conn, err := bare(sq, sq.Token(t, echo.Addr)).Dial(ctx, echo.Addr)
	if err != nil {
		t.Fatalf("first token: %v", err)
	}
	conn.Close()
	second := sq.Token(t, echo.Addr)
	conn, err = bare(sq, second).Dial(ctx, echo.Addr)
	if err == nil {
		conn.Close()
		t.Fatal("a tunnel opened while the helper could not record the token")
	}
	var se *peers.StatusError
	if !errors.As(err, &se) || se.StatusCode == http.StatusOK {
		t.Fatalf("err = %v, want a refusal", err)
	}
	t.Logf("Squid answered a BH with %s", se.Status)
	sq.Stop()
	cache := sq.CacheLog()
	if !strings.Contains(cache, "trustlaunch-tokencheck: error: the replay memory is full") {
		t.Errorf("cache.log does not say why:\n%s", cache)
	}
	if strings.Contains(cache+sq.AccessLog()+sq.Log(), second) {
		t.Error("the token is in Squid's logs")
	}
}

// TestTokenCheckKeyRotation: a key file listing two portals' keys (the old
// Ed25519 key and its ES256 successor) admits tokens of both. A logformat
// with %un and %ea records each tunnel's user and jti.
func TestTokenCheckKeyRotation(t *testing.T) {
	t.Parallel()
	audience := "proxy.rotation.test:8443"
	old := peers.NewTokenIssuer(t, audience, "EdDSA")
	next := peers.NewTokenIssuer(t, audience, "ES256")
	sq := peers.StartSquid(t, peers.SquidOptions{Tokens: old, AlsoTrust: []*peers.TokenIssuer{next}, AccessLogFormat: "%Ss/%>Hs %un %ea"})
	echo := peers.StartEcho(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var ids []string
	for name, ti := range map[string]*peers.TokenIssuer{"old EdDSA key": old, "next ES256 key": next} {
		tok, claims, err := ti.Issuer.Issue(sessiontoken.Grant{Audience: audience, Destination: echo.Addr, Subject: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, claims.ID)
		conn, err := bare(sq, tok).Dial(ctx, echo.Addr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertEcho(t, conn, name+"\n")
		conn.Close()
	}
	sq.Stop()
	access := sq.AccessLog()
	for _, id := range ids {
		if !strings.Contains(access, "TCP_TUNNEL/200 alice jti="+id) {
			t.Errorf("access.log lacks the tunnel of jti %s with its user:\n%s", id, access)
		}
	}
}

// TestTokenCheckQueueOverflow is why docs/proxy.md sizes the helper as it
// does. Squid 5.7 queues a lookup when the helper has concurrency= lookups
// under way, and when more than queue-size wait it refuses the request and
// writes the whole lookup to cache.log: "WARNING: external ACL '...' queue
// full. Request rejected 'Bearer%20eyJ...'", the token with it. A burst of
// 60 CONNECTs, each with a token of its own, against a helper sized
// concurrency=1 queue-size=1 shows it; the documented sizing admits the
// same burst and logs no token.
func TestTokenCheckQueueOverflow(t *testing.T) {
	t.Parallel()
	const burst = 60
	for _, tc := range []struct {
		name, options string
		wantLeak      bool
	}{
		{"undersized", "children-max=1 children-startup=1 concurrency=1 queue-size=1", true},
		{"documented", peers.DocumentedHelperOptions, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sq := peers.StartSquid(t, peers.SquidOptions{HelperOptions: tc.options})
			echo := peers.StartEcho(t)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			tokens := make([]string, burst)
			for i := range tokens {
				tokens[i] = sq.Token(t, echo.Addr)
			}
			start := make(chan struct{})
			errs := make([]error, burst)
			var wg sync.WaitGroup
			for i, tok := range tokens {
				wg.Go(func() {
					<-start
					conn, err := bare(sq, tok).Dial(ctx, echo.Addr)
					if err == nil {
						conn.Close()
					}
					errs[i] = err
				})
			}
			close(start)
			wg.Wait()
			sq.Stop()
			logs := sq.CacheLog() + sq.AccessLog() + sq.Log()
			leaked, refused := 0, 0
			for i, tok := range tokens {
				if strings.Contains(logs, tok) {
					leaked++
				}
				if errs[i] != nil {
					refused++
				}
			}
			t.Logf("%s: %d of %d CONNECTs refused, %d tokens in Squid's logs", tc.options, refused, burst, leaked)
			switch {
			case tc.wantLeak && (leaked == 0 || !strings.Contains(logs, "queue full. Request rejected 'Bearer%20")):
				t.Errorf("no token in cache.log with an undersized queue: Squid no longer logs the lookup it rejects; docs/proxy.md says it does")
			case !tc.wantLeak && (leaked > 0 || refused > 0):
				t.Errorf("the documented sizing refused %d CONNECTs of a burst of %d and logged %d tokens", refused, burst, leaked)
			}
		})
	}
}
