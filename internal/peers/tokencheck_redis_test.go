//go:build linux

package peers_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestTokenCheckAcrossSquids: two Squids behind one name (the same
// audience, as behind a load balancer), each with trustlaunch-tokencheck
// keeping its single-use records in one Redis, as docs/proxy.md gives it
// (an ACL user that may only SET and PING the token keys, its password in
// a file). A token used through one Squid is refused by the other for
// another client, and admitted by either for the first client's
// reconnects. With Redis stopped, the next CONNECT is refused, and
// cache.log says why; with Redis back, tokens are admitted again.
func TestTokenCheckAcrossSquids(t *testing.T) {
	t.Parallel()
	rd := peers.StartRedis(t, peers.RedisOptions{})
	portal := peers.NewTokenIssuer(t, "proxy.cluster.test:8443", "")
	store := []string{"--redis", rd.URL(), "--redis-password-file", rd.PasswordFile}
	a := peers.StartSquid(t, peers.SquidOptions{Tokens: portal, HelperArgs: store})
	b := peers.StartSquid(t, peers.SquidOptions{Tokens: portal, HelperArgs: store})
	echo := peers.StartEcho(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	dial := func(sq *peers.Squid, token, source string) error {
		c := bare(sq, token)
		c.Source = source
		conn, err := c.Dial(ctx, echo.Addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		assertEcho(t, conn, "through "+sq.Addr+"\n")
		return nil
	}
	want407 := func(what string, err error) {
		t.Helper()
		var se *peers.StatusError
		if !errors.As(err, &se) || se.StatusCode != http.StatusProxyAuthRequired {
			t.Errorf("%s: err = %v, want 407", what, err)
		}
	}

	tok := portal.Token(t, echo.Addr)
	if err := dial(a, tok, "127.0.0.1"); err != nil {
		t.Fatalf("first use, through Squid A: %v", err)
	}
	want407("the same token from another client, through Squid B", dial(b, tok, "127.0.0.2"))
	if err := dial(b, tok, "127.0.0.1"); err != nil {
		t.Errorf("the first client reconnecting through Squid B: %v", err)
	}
	// And the other way round, a token first used through B.
	tok2 := portal.Token(t, echo.Addr)
	if err := dial(b, tok2, "127.0.0.3"); err != nil {
		t.Fatalf("first use of a second token, through Squid B: %v", err)
	}
	want407("the second token from another client, through Squid A", dial(a, tok2, "127.0.0.1"))

	// Redis goes away: every token is refused, a fresh one too.
	rd.Stop()
	down := portal.Token(t, echo.Addr)
	want407("a fresh token through Squid A with Redis stopped", dial(a, down, "127.0.0.1"))
	want407("the first token's client through Squid B with Redis stopped", dial(b, tok, "127.0.0.1"))

	// Redis is back (empty, as after a restart without persistence).
	rd.Restart(t)
	if err := dial(a, portal.Token(t, echo.Addr), "127.0.0.1"); err != nil {
		t.Errorf("a fresh token with Redis back: %v", err)
	}

	a.Stop()
	b.Stop()
	for name, sq := range map[string]*peers.Squid{"A": a, "B": b} {
		cache := sq.CacheLog()
		if !strings.Contains(cache, "serving Squid") || !strings.Contains(cache, "single-use records in Redis at redis://"+rd.Addr+"/0 as user \"tokencheck\"") {
			t.Errorf("Squid %s: cache.log does not name the store:\n%s", name, cache)
		}
		if !strings.Contains(cache, "trustlaunch-tokencheck: error: the single-use store (Redis at "+rd.Addr+") cannot record the token, so it is refused") {
			t.Errorf("Squid %s: cache.log does not say why tokens were refused with Redis stopped:\n%s", name, cache)
		}
		for _, secret := range []string{tok, tok2, down} {
			if strings.Contains(cache+sq.AccessLog()+sq.Log(), secret) {
				t.Errorf("Squid %s: a token is in its logs", name)
			}
		}
	}
	if cache := b.CacheLog(); !strings.Contains(cache, "refused (replayed)") || !strings.Contains(cache, "(first used from 127.0.0.1)") {
		t.Errorf("Squid B: cache.log does not show the replay and its first client:\n%s", cache)
	}
	if cache := a.CacheLog(); !strings.Contains(cache, "(first used from 127.0.0.3)") {
		t.Errorf("Squid A: cache.log does not show the second token's first client:\n%s", cache)
	}
	if strings.Contains(rd.Log(), tok) {
		t.Error("a token is in Redis's log")
	}
}
