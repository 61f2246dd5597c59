// Package redisreplay keeps the single-use records of session tokens in
// Redis, so that several proxies (Squids behind a load balancer, Squid SMP
// workers, nginx front ends) enforce one rule: a token's jti binds to the
// first client address any of them admitted it from.
//
// One command per check, atomic in Redis:
//
//	SET PREFIX<iss>\0<jti> <client address> NX GET EX <seconds until exp + skew>
//
// NX sets the record only when there is none; GET returns the record that
// was there. No record: this use is the first, and is admitted. A record
// naming the same address: a reconnect of the same client, admitted. Any
// other address: refused as replayed. The record expires with the token,
// so Redis holds only unexpired tokens. SET with both NX and GET needs
// Redis 7.0 or later (or Valkey); an older server answers a syntax error,
// and every token is refused.
//
// A retry after a lost answer is safe: the record the first try wrote
// names this client, so the retry admits it.
//
// It fails closed: when Redis cannot be reached, answers an error (out of
// memory under maxmemory-policy noeviction, a missing ACL permission) or
// does not answer in time, Admit returns an error that is not a
// *sessiontoken.Refusal, and the verifier refuses the token as unchecked.
// The error names the Redis server and the cause, never the token.
//
// It is a package of its own so that a portal importing sessiontoken to
// issue tokens does not link a Redis client.
package redisreplay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// DefaultPrefix starts every key the store writes, so that an ACL can
// limit the proxies to these keys (~trustlaunch:jti:*).
const DefaultPrefix = "trustlaunch:jti:"

// DefaultTimeout bounds one check's round trip to Redis, a connection
// included: a CONNECT waits for it.
const DefaultTimeout = 2 * time.Second

// Config configures New.
type Config struct {
	// Addr is Redis's "host:port"; required.
	Addr string
	// Username and Password authenticate (Redis ACL, AUTH); both
	// optional.
	Username, Password string
	// DB is the database number (SELECT); 0 by default.
	DB int
	// TLS, when set, makes the connection TLS with this configuration
	// (its certificate check is never skipped here: set RootCAs for a
	// private CA).
	TLS *tls.Config
	// Prefix starts each key; DefaultPrefix when "".
	Prefix string
	// Timeout bounds one check; DefaultTimeout when 0.
	Timeout time.Duration
}

// Store is a sessiontoken.Replay in Redis. It is safe for concurrent use.
type Store struct {
	rdb     *redis.Client
	addr    string
	prefix  string
	timeout time.Duration
}

// New returns a Store for c. It does not connect: the first Admit (or
// Ping) does, and a Redis that is down when the proxy starts only makes
// every check fail until it is back.
func New(c Config) (*Store, error) {
	if c.Addr == "" {
		return nil, errors.New("redisreplay: no Redis address")
	}
	if c.TLS != nil && c.TLS.InsecureSkipVerify {
		return nil, errors.New("redisreplay: a TLS configuration that skips the certificate check")
	}
	s := &Store{addr: c.Addr, prefix: c.Prefix, timeout: c.Timeout}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	s.rdb = redis.NewClient(&redis.Options{
		Addr:     c.Addr,
		Username: c.Username,
		Password: c.Password,
		DB:       c.DB,
		// RESP2 and no CLIENT SETINFO: the connection runs AUTH and
		// SELECT only, so an ACL that grants SET and PING is enough.
		Protocol:        2,
		DisableIdentity: true,
		TLSConfig:       c.TLS,
		DialTimeout:     s.timeout,
		ReadTimeout:     s.timeout,
		WriteTimeout:    s.timeout,
		// One dial per attempt (go-redis's default is five, 100 ms
		// apart): a Redis that is down refuses tokens at once rather
		// than holding each CONNECT for half a second.
		DialerRetries: 1,
		// One retry, for a pooled connection that Redis closed while
		// idle (a restart); the check's context bounds the whole.
		MaxRetries:            1,
		MinRetryBackoff:       10 * time.Millisecond,
		MaxRetryBackoff:       50 * time.Millisecond,
		ContextTimeoutEnabled: true,
	})
	return s, nil
}

// Addr returns the Redis address, for the proxy's log.
func (s *Store) Addr() string { return s.addr }

// Close closes the connections.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.wrap(err)
	}
	return nil
}

// Admit implements sessiontoken.Replay.
func (s *Store) Admit(ctx context.Context, e sessiontoken.Entry) error {
	// EX in whole seconds, rounded up, at least 1: the record must not
	// expire before the token does.
	secs := int64(math.Ceil(e.Until.Sub(e.Now).Seconds()))
	if secs < 1 {
		secs = 1
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	prev, err := s.rdb.Do(ctx, "SET", s.prefix+e.Key, e.Source, "NX", "GET", "EX", secs).Text()
	switch {
	case errors.Is(err, redis.Nil):
		return nil // no record: the first use
	case err != nil:
		return s.wrap(err)
	case prev == e.Source:
		return nil // the same client again
	}
	return &sessiontoken.Refusal{
		Reason: sessiontoken.Replayed,
		Msg:    "the token was used before from another client address",
		Detail: "first used from " + safetext.Excerpt(prev, 60),
	}
}

// wrap names the store and the cause of an error.
func (s *Store) wrap(err error) error {
	return &StoreError{Addr: s.addr, Msg: safetext.Excerpt(err.Error(), 200), Err: err}
}

// StoreError is a check the store could not make: Redis unreachable, too
// slow, or answering an error. The verifier refuses the token.
type StoreError struct {
	Addr string
	Msg  string
	Err  error
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("the single-use store (Redis at %s) cannot record the token, so it is refused: %s", e.Addr, e.Msg)
}

func (e *StoreError) Unwrap() error { return e.Err }
