//go:build linux

package peers

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// SquidOptions configures StartSquid. The zero value is ready to use.
type SquidOptions struct {
	// Cert is the certificate of the https_port; nil means a new CA and a
	// certificate for 127.0.0.1, ::1 and localhost.
	Cert *ServerCert
	// Tokens is the portal whose session tokens the Squid admits, checked
	// by trustlaunch-tokencheck as docs/proxy.md configures it; nil means
	// a new one (Ed25519) with the Squid's own audience.
	Tokens *TokenIssuer
	// AlsoTrust are more portals' keys in the helper's key file (key
	// rotation).
	AlsoTrust []*TokenIssuer
	// HelperArgs are appended to the helper's command line, e.g.
	// "--replay-capacity 1".
	HelperArgs []string
	// HelperOptions replace the options of external_acl_type that size
	// the helper ("children-max=1 children-startup=1 concurrency=1000
	// queue-size=10000", docs/proxy.md's).
	HelperOptions string
	// AccessLogFormat is the access.log's logformat; Squid's default
	// (squid) when "".
	AccessLogFormat string
	// NoTokenCheck leaves the token check out of squid.conf: the baseline
	// the check's cost is measured against. Tokens is then nil.
	NoTokenCheck bool
	// MaxFileDescriptors is squid.conf's max_filedescriptors (default
	// 16384: 1,000 tunnels take 2,000 descriptors, plus helpers and logs).
	MaxFileDescriptors int
	// ExtraConfig lines are appended to squid.conf before the http_access
	// rules, e.g. "https_port" options or timeouts.
	ExtraConfig []string
	// PortOptions are appended to the https_port line, e.g.
	// "tls-options=NO_TLSv1_3 cipher=..." to hold Squid to one suite.
	PortOptions string
	// StartTimeout bounds start-up (default DefaultStartTimeout).
	StartTimeout time.Duration
}

// Squid is a running Squid 5 (Debian squid-openssl) serving CONNECT over TLS
// on an https_port on 127.0.0.1.
type Squid struct {
	Addr string // "127.0.0.1:PORT" of the https_port
	Cert *ServerCert
	// Tokens issues tokens this Squid admits (nil with NoTokenCheck).
	Tokens *TokenIssuer
	Dir    string // configuration, pid file, logs, helper
	// Service is Squid's service name (-n), unique to this Squid: it
	// names its shared memory segments, /dev/shm/SERVICE-*.shm, so
	// concurrent Squids never share one.
	Service string
	*Process
}

// DocumentedHelperOptions are the options of external_acl_type that size
// trustlaunch-tokencheck in docs/proxy.md: one helper process, so that a
// jti is seen by one single-use memory, taking up to 1,000 lookups at once
// and queueing 10,000 more. Squid 5.7 writes the whole lookup, the
// Proxy-Authorization header with it, to cache.log when its queue
// overflows (TestTokenCheckQueueOverflow shows it), so the queue must
// never fill.
const DocumentedHelperOptions = "children-max=1 children-startup=1 concurrency=1000 queue-size=10000"

// proxyDocMarker precedes, in docs/proxy.md, the fenced block of squid.conf
// lines that configure the token check.
const proxyDocMarker = "<!-- tested: squid.conf token check -->"

// tokenCheckConf returns docs/proxy.md's token check lines for this Squid:
// the documented helper, key file, issuer and audience replaced by the
// test's, the sizing by opts.HelperOptions when given, and opts.HelperArgs
// added to the helper's command line. It fails the test when the block is
// gone or no longer holds what it replaces, so the documentation and the
// configuration the tests run cannot drift apart.
func tokenCheckConf(t testing.TB, helper, keys, audience string, opts SquidOptions) string {
	t.Helper()
	block := proxyDocBlock(t, proxyDocMarker)
	args := ""
	for _, a := range opts.HelperArgs {
		args += " " + a
	}
	sizing := DocumentedHelperOptions
	if opts.HelperOptions != "" {
		sizing = opts.HelperOptions
	}
	for _, r := range []struct{ old, new string }{
		{"/usr/bin/trustlaunch-tokencheck", helper},
		{"/etc/squid/trustlaunch-keys.pem", keys},
		{"--issuer https://portal.example.com", "--issuer " + PortalIssuer},
		{"--audience proxy.example.com:8443", "--audience " + audience + args},
		{DocumentedHelperOptions, sizing},
	} {
		if strings.Count(block, r.old) != 1 {
			t.Fatalf("squid: the token check block of docs/proxy.md no longer holds %q once; update tokenCheckConf", r.old)
		}
		block = strings.Replace(block, r.old, r.new, 1)
	}
	return strings.TrimSuffix(block, "\n")
}

// proxyDocBlock returns the fenced block that follows marker in
// docs/proxy.md, failing the test when there is none: the configurations
// the tests run are the ones the documentation gives.
func proxyDocBlock(t testing.TB, marker string) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate internal/peers to find docs/proxy.md")
	}
	doc := filepath.Join(filepath.Dir(self), "..", "..", "docs/proxy.md")
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatalf("the proxy configuration of docs/proxy.md: %v", err)
	}
	_, after, ok := strings.Cut(string(data), marker+"\n```\n")
	block, _, closed := strings.Cut(after, "```\n")
	if !ok || !closed {
		t.Fatalf("%s has no fenced block after %q", doc, marker)
	}
	return block
}

// replaceOnce replaces each old string of a documented block, which must
// hold it exactly once, so that a change of the documentation that the
// tests no longer follow fails them.
func replaceOnce(t testing.TB, what, block string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Count(block, pairs[i]) != 1 {
			t.Fatalf("%s: the block of docs/proxy.md no longer holds %q once; update internal/peers", what, pairs[i])
		}
		block = strings.Replace(block, pairs[i], pairs[i+1], 1)
	}
	return block
}

// squidServices counts the Squids this process started, for unique
// service names.
var squidServices atomic.Int64

// squidStopGrace bounds Squid's orderly shutdown after SIGTERM; it takes
// about two seconds even with shutdown_lifetime 0.
const squidStopGrace = 10 * time.Second

// squidUser is the account Debian's Squid switches to when started as root
// (its compiled-in cache_effective_user).
const squidUser = "proxy"

// squidPortAttempts is how often StartSquid retries when the port it chose was
// taken between choosing and binding.
const squidPortAttempts = 5

var squidConf = template.Must(template.New("squid.conf").Parse(`# squid.conf written by internal/peers for one test.
pid_filename {{.Dir}}/squid.pid
cache_log {{.Dir}}/cache.log
{{with .LogFormat}}logformat tltest {{.}}
access_log stdio:{{$.Dir}}/access.log tltest
{{else}}access_log stdio:{{.Dir}}/access.log
{{end -}}
cache_store_log none
coredump_dir {{.Dir}}
netdb_filename none
visible_hostname trustlaunch-test
{{if .User}}cache_effective_user {{.User}}
{{end -}}
max_filedescriptors {{.MaxFDs}}
shutdown_lifetime 0 seconds
pinger_enable off
memory_pools off

# No disk cache, no memory cache: a CONNECT-only relay.
cache deny all
cache_mem 0 MB

# Loopback only, in and out. DNS is never needed (destinations are literals
# or localhost from /etc/hosts); point it at loopback so nothing leaves.
https_port 127.0.0.1:{{.Port}} tls-cert={{.Dir}}/server.pem tls-key={{.Dir}}/server.key{{with .PortOpts}} {{.}}{{end}}
dns_nameservers 127.0.0.1
udp_incoming_address 127.0.0.1
udp_outgoing_address 127.0.0.1
connect_timeout 10 seconds

acl CONNECT method CONNECT
acl from_loopback src 127.0.0.0/8 ::1
acl to_loopback dst 127.0.0.0/8 ::1
{{range .Extra}}{{.}}
{{end -}}
http_access deny !from_loopback
http_access deny !CONNECT
{{with .TokenCheck}}# Session tokens: trustlaunch-tokencheck, with docs/proxy.md's lines (only
# the paths, the issuer and the audience are the test's). The token is
# checked before the destination, so a request without a valid token learns
# nothing about policy: 407 for bad tokens, then 403.
{{.}}
{{end -}}
http_access deny !to_loopback
http_access allow all
`))

var squidListening = regexp.MustCompile(`Accepting HTTPS Socket connections at .* local=(127\.0\.0\.1:\d+)`)

// StartSquid starts Squid in the foreground (squid -N) with a configuration
// of its own in a t.TempDir(), and returns once it accepts connections. It
// fails the test if Squid is not installed or does not start in time.
//
// When the test runs as root, Squid switches to the "proxy" user: the
// directory and every file Squid reads or writes are handed to that user and
// the parent directory made traversable.
func StartSquid(t testing.TB, opts SquidOptions) *Squid {
	t.Helper()
	squidBin := RequireBinary(t, "squid")
	s := &Squid{
		Cert: defaultServerCert(t, opts.Cert),
		Dir:  t.TempDir(),
	}
	s.Service = fmt.Sprintf("tltest%dn%d", os.Getpid(), squidServices.Add(1))
	if !opts.NoTokenCheck {
		s.Tokens = opts.Tokens
		if s.Tokens == nil {
			s.Tokens = NewTokenIssuer(t, "squid-"+s.Service, "")
		}
	}
	if opts.MaxFileDescriptors == 0 {
		opts.MaxFileDescriptors = 16384
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	helper := s.prepareTokenCheck(t, opts)
	writeFile(t, filepath.Join(s.Dir, "server.pem"), s.Cert.CertPEM, 0o644)
	writeFile(t, filepath.Join(s.Dir, "server.key"), s.Cert.KeyPEM, 0o600)

	var runAs string
	if os.Geteuid() == 0 {
		runAs = squidUser
		if err := giveTo(s.Dir, squidUser); err != nil {
			t.Fatalf("squid: prepare %s for user %s: %v", s.Dir, squidUser, err)
		}
	}

	// Registered before the process's own cleanup, so it runs after Stop:
	// a Squid that a test killed (a crash, as its peers see it) had no
	// chance to remove its segments, so they go here.
	t.Cleanup(func() {
		left, _ := filepath.Glob(filepath.Join("/dev/shm", s.Service+"-*"))
		for _, f := range left {
			os.Remove(f)
		}
	})

	deadline := time.Now().Add(opts.StartTimeout)
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("squid: %v", err)
		}
		confPath := s.writeConf(t, opts, port, runAs, helper)

		// -N: no daemon, no SMP kids; -d 1: important cache.log lines on
		// stderr too, which is where the ready line is read; -n: a service
		// name of its own (alphanumeric, as Squid requires).
		cmd := exec.Command(squidBin, "-N", "-d", "1", "-n", s.Service, "-f", confPath)
		cmd.Dir = s.Dir
		p, err := startProcess(t, "squid", s.Dir, cmd)
		if err != nil {
			t.Fatalf("%v", err)
		}
		// Squid.Stop, registered below once Squid runs, gives it its
		// orderly shutdown; the process's own Stop then only ends what is
		// left of the group.
		p.termGrace = 0
		p.addLogFile(filepath.Join(s.Dir, "cache.log"))
		p.addLogFile(filepath.Join(s.Dir, "access.log"))
		line, err := p.waitLine(t.Context(), time.Until(deadline), func(line string) bool {
			return squidListening.MatchString(line)
		})
		p.doneWatching()
		if err == nil {
			addr := squidListening.FindStringSubmatch(line)[1]
			if err := p.waitDialable(t.Context(), time.Until(deadline), addr); err != nil {
				t.Fatalf("squid did not start: %v\n%s", err, redactTokens(tail(p.Log())))
			}
			s.Process = p
			s.Addr = addr
			t.Cleanup(s.Stop) // runs before the process's own cleanup
			return s
		}
		p.Stop()
		if errors.Is(err, errExited) && strings.Contains(p.Log(), "Address already in use") && attempt < squidPortAttempts {
			t.Logf("squid: port %d was taken before Squid bound it; retrying", port)
			continue
		}
		t.Fatalf("squid did not start: %v\n%s", err, redactTokens(tail(p.Log())))
	}
}

// prepareTokenCheck builds the token check and writes the public keys it
// trusts, and returns the helper's path; "" when Squid runs without it.
func (s *Squid) prepareTokenCheck(t testing.TB, opts SquidOptions) string {
	if s.Tokens == nil {
		return ""
	}
	helper := BuildTokenCheck(t, s.Dir)
	var keys []byte
	for _, ti := range append([]*TokenIssuer{s.Tokens}, opts.AlsoTrust...) {
		pub, err := publicKeyPEM(ti.Key)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, pub...)
	}
	writeFile(t, filepath.Join(s.Dir, "trustlaunch-keys.pem"), keys, 0o644)
	return helper
}

// writeConf writes squid.conf for a Squid on port, owned by runAs when set,
// and returns its path.
func (s *Squid) writeConf(t testing.TB, opts SquidOptions, port int, runAs, helper string) string {
	confPath := filepath.Join(s.Dir, "squid.conf")
	var conf strings.Builder
	vars := map[string]any{
		"Dir": s.Dir, "User": runAs, "MaxFDs": opts.MaxFileDescriptors,
		"Port": port, "Extra": opts.ExtraConfig, "PortOpts": opts.PortOptions,
		"LogFormat": opts.AccessLogFormat,
	}
	if s.Tokens != nil {
		vars["TokenCheck"] = tokenCheckConf(t, helper, filepath.Join(s.Dir, "trustlaunch-keys.pem"), s.Tokens.Audience, opts)
	}
	if err := squidConf.Execute(&conf, vars); err != nil {
		t.Fatalf("squid.conf: %v", err)
	}
	writeFile(t, confPath, []byte(conf.String()), 0o644)
	if runAs != "" {
		if err := giveTo(confPath, runAs); err != nil {
			t.Fatalf("squid: %v", err)
		}
	}
	return confPath
}

// Stop shuts Squid down in order and waits for it (at most
// squidStopGrace), then ends what is left of its process group. It is
// idempotent and runs at cleanup.
//
// Only an orderly shutdown removes Squid's shared memory segments: killed,
// Squid leaves them in /dev/shm (owned by "proxy" after a root run), and
// the next Squid of another user fails on them with "File exists". The
// SIGTERM goes to Squid alone, not its group: the token helpers would get
// it too, and a Squid that sees its helpers die before it handles its own
// SIGTERM aborts without cleaning up.
func (s *Squid) Stop() { stopSquid(s.Process) }

// stopSquid is Squid.Stop for any Squid process of this package: SIGTERM
// to Squid alone, at most squidStopGrace for it to exit, then the rest of
// its group.
func stopSquid(p *Process) {
	select {
	case <-p.exited:
	default:
		syscall.Kill(p.PID, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(squidStopGrace):
		}
	}
	p.Stop()
}

// Token returns a new session token admitting CONNECT to dest through this
// Squid, valid for sessiontoken.DefaultLifetime.
func (s *Squid) Token(t testing.TB, dest string) string {
	t.Helper()
	if s.Tokens == nil {
		t.Fatal("this Squid checks no tokens (NoTokenCheck)")
	}
	return s.Tokens.Token(t, dest)
}

// AccessLog returns the content of Squid's access.log.
func (s *Squid) AccessLog() string { return readLog(s.Dir, "access.log") }

// readLog returns the content of a log file that a Squid writes in dir, ""
// when there is none yet.
func readLog(dir, name string) string {
	data, _ := os.ReadFile(filepath.Join(dir, name))
	return string(data)
}

// CacheLog returns the content of Squid's cache.log, where its helpers'
// stderr (trustlaunch-tokencheck's log) goes too.
func (s *Squid) CacheLog() string { return readLog(s.Dir, "cache.log") }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. Only
// peers with no better way use it (see the package documentation).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// giveTo hands path (recursively) to the named user and makes its parent
// directory traversable, so a peer that drops root privileges can use it.
func giveTo(path, username string) error {
	u, err := user.Lookup(username)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return err
	}
	// t.TempDir() creates a 0700 per-test parent: let others through it
	// (search only, no listing).
	parent := filepath.Dir(path)
	fi, err := os.Stat(parent)
	if err != nil {
		return err
	}
	return os.Chmod(parent, fi.Mode().Perm()|0o111)
}
