package sessiontoken

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary tokens and destinations to Verify.
// Invariants: it never panics; every failure is a *Refusal or the plain
// error of a request it cannot check; a refusal never shows the token;
// whatever it admits verifies under the fixture's key, for this proxy and
// issuer, within its lifetime, for the destination asked for.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	good := fx.issue(f, Grant{})
	parts := strings.Split(good, ".")
	f.Add(good, testDest)
	f.Add(good, "MAINFRAME.example.com.:23")
	f.Add(good, "[::1]:23")
	f.Add(parts[0]+"."+parts[1]+".", testDest)
	f.Add(parts[0]+".e30."+parts[2], testDest)
	f.Add("eyJhbGciOiJub25lIn0.e30.", testDest)
	f.Add(signClaims(f, fx.key, nil, map[string]any{"cnf": map[string]any{}}), testDest)
	f.Add(signClaims(f, fx.key, nil, map[string]any{"aud": []string{"x", testAudience}}), testDest)
	f.Fuzz(func(t *testing.T, token, dest string) {
		// A fresh memory each time: the fuzzer's inputs are unrelated
		// uses, not one client reconnecting.
		fx.verifier.replay = NewMemoryReplay(0)
		c, err := fx.verifier.Verify(t.Context(), token, Request{Destination: dest, Source: "192.0.2.7"})
		if err != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			var rf *Refusal
			if errors.As(err, &rf) && rf.Reason == "" {
				t.Fatalf("a refusal without a reason: %v", err)
			}
			if len(token) >= 16 && strings.Contains(err.Error(), token) {
				t.Fatalf("the refusal shows the token: %v", err)
			}
			return
		}
		want, nerr := NormalizeDestination(dest)
		if nerr != nil || c.Destination != want {
			t.Fatalf("admitted for %q, asked for %q (%v)", c.Destination, dest, nerr)
		}
		if c.Issuer != testIssuer && c.Issuer != "https://other-portal.example.com" {
			t.Fatalf("admitted iss %q", c.Issuer)
		}
		life := c.Expires - c.IssuedAt
		if life <= 0 || life > int64(MaxLifetime/time.Second) || now.Unix()-int64(ClockSkew/time.Second) >= c.Expires {
			t.Fatalf("admitted times iat %d exp %d at %d", c.IssuedAt, c.Expires, now.Unix())
		}
		if !strings.HasPrefix(token, "eyJ") {
			t.Fatalf("admitted a token whose header is not a JSON object: %.20q", token)
		}
	})
}

// FuzzNormalizeDestination: normalizing is idempotent, and what it returns
// is a host:port that net.SplitHostPort reads back.
func FuzzNormalizeDestination(f *testing.F) {
	for _, s := range []string{"mainframe.example.com:23", "Mainframe.Example.COM.:23", "[2001:DB8::1]:992", "10.0.0.1:23", "0x7f.1:23", "[fe80::1%eth0]:1", "a..b:1", "[::ffff:1.2.3.4]:5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeDestination(in)
		if err != nil {
			return
		}
		again, err := NormalizeDestination(out)
		if err != nil || again != out {
			t.Fatalf("Normalize(%q) = %q, and again %q, %v", in, out, again, err)
		}
		host, port, err := net.SplitHostPort(out)
		if err != nil || host == "" || port == "" || strings.ToLower(out) != out {
			t.Fatalf("Normalize(%q) = %q: not a lower-case host:port (%v)", in, out, err)
		}
	})
}
