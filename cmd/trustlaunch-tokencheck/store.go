//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
	"github.com/trustlaunch/trustlaunch/sessiontoken/redisreplay"
)

// storeFlags are the flags that choose where the single-use records live:
// in the helper's memory (one proxy host), or in Redis (several).
type storeFlags struct {
	capacity     *int
	redisURL     *string
	passwordFile *string
	caFile       *string
}

func addStoreFlags(fs *pflag.FlagSet) *storeFlags {
	return &storeFlags{
		capacity:     fs.Int("replay-capacity", sessiontoken.DefaultReplayCapacity, "how many unexpired tokens the single-use memory holds; when full, new tokens are refused (without --redis)"),
		redisURL:     fs.String("redis", "", "keep the single-use records in Redis 7 at `URL`, redis://[USER@]HOST:PORT[/DB] or rediss:// for TLS, shared by several proxies; when Redis cannot be reached every token is refused"),
		passwordFile: fs.String("redis-password-file", "", "`FILE` holding the Redis password (never on the command line)"),
		caFile:       fs.String("redis-ca", "", "`FILE` of PEM CA certificates that sign Redis's certificate (rediss://); the system's roots when absent"),
	}
}

// validate checks the flags' combinations, for a usage error.
func (f *storeFlags) validate(set func(string) bool) error {
	switch {
	case *f.capacity < 1:
		return errors.New("--replay-capacity must be at least 1")
	case *f.redisURL != "" && set("replay-capacity"):
		return errors.New("--replay-capacity is for the memory store: leave it out with --redis")
	case *f.redisURL == "" && (*f.passwordFile != "" || *f.caFile != ""):
		return errors.New("--redis-password-file and --redis-ca need --redis")
	}
	return nil
}

// store is the chosen Replay, with a description for the start-up line.
type store struct {
	replay  sessiontoken.Replay
	redis   *redisreplay.Store // nil for the memory store
	summary string
}

// open builds the store. It does not reach Redis: a Redis that is down
// when the proxy starts makes the checks fail until it is back, which is
// better than a helper that exits and that Squid restarts in a loop.
func (f *storeFlags) open() (*store, error) {
	if *f.redisURL == "" {
		return &store{replay: sessiontoken.NewMemoryReplay(*f.capacity), summary: fmt.Sprintf("single-use memory for %d tokens", *f.capacity)}, nil
	}
	cfg, err := parseRedisURL(*f.redisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	if *f.passwordFile != "" {
		pw, err := configFile{flag: "--redis-password-file", max: 64 << 10, secret: true, consequence: "anyone could change the password this helper logs in with"}.read(*f.passwordFile)
		if err != nil {
			return nil, err
		}
		cfg.Password = string(bytes.TrimRight(pw, "\r\n"))
		if cfg.Password == "" || strings.ContainsAny(cfg.Password, "\r\n") {
			return nil, fmt.Errorf("--redis-password-file: %s does not hold one line", *f.passwordFile)
		}
	}
	if *f.caFile != "" {
		if cfg.TLS == nil {
			return nil, errors.New("--redis-ca is for a rediss:// URL")
		}
		pem, err := configFile{flag: "--redis-ca", max: 64 << 10, consequence: "anyone could add a CA and pose as Redis, whose answers decide single use"}.read(*f.caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--redis-ca: %s holds no PEM certificate", *f.caFile)
		}
		cfg.TLS.RootCAs = pool
	}
	s, err := redisreplay.New(cfg)
	if err != nil {
		return nil, err
	}
	// go-redis logs its failed dials itself, unstamped, to stderr (Squid's
	// cache.log); the helper's own line for each refused token already
	// says why, with the client and the destination.
	redis.SetLogger(quietRedis{})
	who := ""
	if cfg.Username != "" {
		who = " as user " + safetext.Quote(cfg.Username)
	}
	scheme := "redis"
	if cfg.TLS != nil {
		scheme = "rediss"
	}
	return &store{replay: s, redis: s, summary: fmt.Sprintf("single-use records in Redis at %s://%s/%d%s", scheme, cfg.Addr, cfg.DB, who)}, nil
}

// quietRedis is go-redis's logger, silenced.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// parseRedisURL reads redis://[USER@]HOST:PORT[/DB] and rediss://. A
// password in the URL is refused: squid.conf and the process list show a
// helper's command line to every user of the host.
func parseRedisURL(raw string) (redisreplay.Config, error) {
	var c redisreplay.Config
	u, err := url.Parse(raw)
	if err != nil {
		return c, errors.New("not a URL")
	}
	switch u.Scheme {
	case "redis":
	case "rediss":
		c.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	default:
		return c, fmt.Errorf("scheme %s: want redis:// or rediss://", safetext.Quote(u.Scheme))
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return c, errors.New("the URL holds a password, which the process list would show: put it in --redis-password-file")
		}
		c.Username = u.User.Username()
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return c, fmt.Errorf("%s is not HOST:PORT", safetext.Quote(u.Host))
	}
	c.Addr = u.Host
	if c.TLS != nil {
		c.TLS.ServerName = host
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if c.DB, err = strconv.Atoi(db); err != nil || c.DB < 0 {
			return c, fmt.Errorf("database %s is not a number", safetext.Quote(db))
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return c, errors.New("the URL has a query or fragment, which this helper does not read")
	}
	return c, nil
}

// configFile is what the helper asks of a file of its configuration:
// a regular file of at most max bytes, not writable by other users when
// it decides whom the proxy trusts (keys, the Redis CA), and not
// readable by them either when it is a secret (the Redis password).
// consequence says what a writable one would allow.
type configFile struct {
	flag        string
	max         int64
	secret      bool
	consequence string
}

// read reads path under the rules of f.
func (f configFile) read(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.flag, err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.flag, err)
	}
	perm := fi.Mode().Perm()
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s: %s is not a regular file", f.flag, path)
	case perm&0o002 != 0:
		return nil, fmt.Errorf("%s: %s is writable by any user (mode %04o), so %s: chmod o-w %s", f.flag, path, perm, f.consequence, path)
	case f.secret && perm&0o004 != 0:
		return nil, fmt.Errorf("%s: %s is readable by any user (mode %04o), and it holds a password: chmod o-rwx %s", f.flag, path, perm, path)
	case fi.Size() > f.max:
		return nil, fmt.Errorf("%s: %s is larger than %d KiB", f.flag, path, f.max>>10)
	}
	data, err := io.ReadAll(io.LimitReader(file, f.max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.flag, err)
	}
	if int64(len(data)) > f.max {
		return nil, fmt.Errorf("%s: %s is larger than %d KiB", f.flag, path, f.max>>10)
	}
	return data, nil
}
