//go:build linux

package redisreplay_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
	"github.com/trustlaunch/trustlaunch/sessiontoken/redisreplay"
)

// open returns a Store on rd as docs/proxy.md's ACL user.
func open(t testing.TB, rd *peers.Redis) *redisreplay.Store {
	t.Helper()
	pw, err := os.ReadFile(rd.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	s, err := redisreplay.New(redisreplay.Config{Addr: rd.Addr, Username: peers.RedisUser, Password: strings.TrimSpace(string(pw)), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestAdmit: the single-use rule, against a real Redis 7 (redis-server),
// through two Stores as two proxies would hold them.
func TestAdmit(t *testing.T) {
	t.Parallel()
	rd := peers.StartRedis(t, peers.RedisOptions{})
	one, two := open(t, rd), open(t, rd)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	now := time.Now()
	entry := func(key, src string) sessiontoken.Entry {
		return sessiontoken.Entry{Key: "https://portal.test\x00" + key, Source: src, Until: now.Add(150 * time.Second), Now: now}
	}
	if err := one.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := one.Admit(ctx, entry("j1", "192.0.2.1")); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := two.Admit(ctx, entry("j1", "192.0.2.1")); err != nil {
		t.Errorf("the same client through the other proxy: %v", err)
	}
	err := two.Admit(ctx, entry("j1", "192.0.2.2"))
	var rf *sessiontoken.Refusal
	if !errors.As(err, &rf) || rf.Reason != sessiontoken.Replayed || rf.Detail != "first used from 192.0.2.1" {
		t.Errorf("another client: err = %v (%+v), want replayed, first used from 192.0.2.1", err, rf)
	}
	if err := one.Admit(ctx, entry("j2", "192.0.2.2")); err != nil {
		t.Errorf("another jti: %v", err)
	}

	// The record lives until the token's exp plus the skew: EX rounds up.
	e := entry("j3", "192.0.2.3")
	e.Until = now.Add(1500 * time.Millisecond)
	if err := one.Admit(ctx, e); err != nil {
		t.Fatal(err)
	}
	out, err := redisCLI(ctx, rd, "TTL", redisreplay.DefaultPrefix+e.Key)
	if err != nil || out != "2" {
		t.Errorf("TTL of a record whose token ends in 1.5 s: %q %v, want 2", out, err)
	}

	// Fail closed: Redis gone.
	rd.Stop()
	err = one.Admit(ctx, entry("j4", "192.0.2.4"))
	var se *redisreplay.StoreError
	if !errors.As(err, &se) || errors.As(err, &rf) {
		t.Fatalf("Redis stopped: err = %v (%T), want a *StoreError and no refusal", err, err)
	}
	if !strings.Contains(err.Error(), "the single-use store (Redis at "+rd.Addr+") cannot record the token") {
		t.Errorf("message %q", err)
	}
}

// TestAdmitRefusedByACL: a user without SET on the keys (a
// misconfigured ACL) is an error, not an admission.
func TestAdmitRefusedByACL(t *testing.T) {
	t.Parallel()
	rd := peers.StartRedis(t, peers.RedisOptions{})
	s := open(t, rd)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := redisCLI(ctx, rd, "ACL", "SETUSER", peers.RedisUser, "-set"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err := s.Admit(ctx, sessiontoken.Entry{Key: "iss\x00j", Source: "192.0.2.1", Until: now.Add(time.Minute), Now: now})
	var se *redisreplay.StoreError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("err = %v, want a *StoreError with Redis's NOPERM", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, c := range map[string]redisreplay.Config{
		"no address":          {},
		"a TLS check skipped": {Addr: "127.0.0.1:6379", TLS: &tls.Config{InsecureSkipVerify: true}},
	} {
		if _, err := redisreplay.New(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// redisCLI runs one command on rd as its default user, the test's
// administrator, and returns the answer as text.
func redisCLI(ctx context.Context, rd *peers.Redis, args ...any) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: rd.Addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	v, err := c.Do(ctx, args...).Result()
	return fmt.Sprint(v), err
}
