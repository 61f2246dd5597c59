//go:build linux

package peers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"
)

// RedisOptions configures StartRedis. The zero value is ready to use.
type RedisOptions struct {
	// StartTimeout bounds start-up (default DefaultStartTimeout).
	StartTimeout time.Duration
}

// Redis is a running Redis 7 (Debian redis-server) on 127.0.0.1, from a
// directory of its own, without persistence: the shared single-use store
// of trustlaunch-tokencheck. Besides the default user (no password), it
// has the ACL user docs/proxy.md gives the proxies, RedisUser, which may
// only PING and SET keys under trustlaunch:jti:, with a password in
// PasswordFile.
type Redis struct {
	Addr         string // "127.0.0.1:PORT"
	Dir          string
	PasswordFile string // RedisUser's password, for --redis-password-file
	*Process

	conf    string
	timeout time.Duration
}

// RedisUser is the ACL user the proxies log in as.
const RedisUser = "tokencheck"

var redisConf = template.Must(template.New("redis.conf").Parse(`# redis.conf written by internal/peers for one test.
bind 127.0.0.1
port {{.Port}}
protected-mode yes
daemonize no
dir {{.Dir}}
pidfile {{.Dir}}/redis.pid
logfile ""
loglevel notice
save ""
appendonly no
maxmemory 64mb
maxmemory-policy noeviction
# docs/proxy.md's user for the proxies: SET and PING on the token keys only.
user {{.User}} on >{{.Password}} resetkeys ~trustlaunch:jti:* -@all +set +ping
`))

// redisPortAttempts is how often StartRedis retries when the port it
// chose was taken between choosing and binding (Redis cannot inherit a
// listening socket).
const redisPortAttempts = 5

// StartRedis starts redis-server in the foreground with a configuration
// of its own in a t.TempDir(), and returns once it accepts connections.
// The test's cleanup stops it.
func StartRedis(t testing.TB, opts RedisOptions) *Redis {
	t.Helper()
	RequireBinary(t, "redis-server")
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	r := &Redis{Dir: t.TempDir(), timeout: opts.StartTimeout}
	pw := make([]byte, 16)
	rand.Read(pw)
	password := hex.EncodeToString(pw)
	r.PasswordFile = filepath.Join(r.Dir, "password")
	// As an administrator keeps it: readable by the helper's user and no
	// other (trustlaunch-tokencheck refuses a password file any user can
	// read). Run as root, Squid runs its helper as squidUser: the file is
	// root:proxy 0640 then.
	writeFile(t, r.PasswordFile, []byte(password+"\n"), 0o640)
	if os.Geteuid() == 0 {
		g, err := user.LookupGroup(squidUser)
		if err != nil {
			t.Fatalf("the group of Squid's user %s: %v", squidUser, err)
		}
		gid, _ := strconv.Atoi(g.Gid)
		if err := os.Chown(r.PasswordFile, 0, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(r.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(r.Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redis: %v", err)
		}
		var conf strings.Builder
		if err := redisConf.Execute(&conf, map[string]any{"Port": port, "Dir": r.Dir, "User": RedisUser, "Password": password}); err != nil {
			t.Fatalf("redis.conf: %v", err)
		}
		r.conf = filepath.Join(r.Dir, "redis.conf")
		writeFile(t, r.conf, []byte(conf.String()), 0o600)
		r.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		err = r.start(t)
		if err == nil {
			return r
		}
		if strings.Contains(r.Log(), "Address already in use") && attempt < redisPortAttempts {
			t.Logf("redis: port %d was taken before Redis bound it; retrying", port)
			continue
		}
		t.Fatalf("redis did not start: %v\n%s", err, tail(r.Log()))
	}
}

// start runs redis-server with r.conf and waits for its ready line.
func (r *Redis) start(t testing.TB) error {
	t.Helper()
	cmd := exec.Command(RequireBinary(t, "redis-server"), r.conf)
	cmd.Dir = r.Dir
	p, err := startProcess(t, "redis", r.Dir, cmd)
	if err != nil {
		return err
	}
	r.Process = p
	_, err = p.waitLine(t.Context(), r.timeout, func(line string) bool {
		return strings.Contains(line, "Ready to accept connections")
	})
	p.doneWatching()
	if err != nil {
		p.Stop()
		return err
	}
	return p.waitDialable(t.Context(), r.timeout, r.Addr)
}

// Restart starts Redis again on the same address after the test stopped
// it (Stop or Kill): a store that comes back, empty.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	select {
	case <-r.Exited():
	default:
		t.Fatalf("redis: Restart while it runs (pid %d)", r.PID)
	}
	if err := r.start(t); err != nil {
		if errors.Is(err, errExited) {
			t.Fatalf("redis did not start again on %s: %v\n%s", r.Addr, err, tail(r.Log()))
		}
		t.Fatalf("redis did not start again: %v", err)
	}
}

// URL is the address as trustlaunch-tokencheck's --redis takes it, with
// RedisUser (the password goes in a file, never on a command line).
func (r *Redis) URL() string { return "redis://" + RedisUser + "@" + r.Addr }
