//go:build linux

package peers

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// StunnelOptions configures StartStunnelPair.
type StunnelOptions struct {
	// Dest is the "host:port" the server side connects to.
	Dest string
	// Cert is the server side's certificate; nil means a new CA and a
	// certificate for 127.0.0.1.
	Cert *ServerCert
	// StartTimeout bounds the start-up of each side (default
	// DefaultStartTimeout).
	StartTimeout time.Duration
}

// StunnelPair is the baseline tunnel of the benchmarks: a plaintext client
// connects to Addr, the client-side stunnel wraps the bytes in TLS 1.2+ to
// the server-side stunnel (verifying its certificate like the connector
// does), which unwraps them and connects to Dest. Two processes, as in a
// deployment where each end runs on its own machine.
type StunnelPair struct {
	Addr       string // plaintext entry, the client stunnel's accept address
	ServerAddr string // TLS address of the server stunnel
	Client     *Process
	Server     *Process
}

var stunnelBound = regexp.MustCompile(`Service \[(\w+)\] \(FD=\d+\) bound to (127\.0\.0\.1:\d+)`)

const stunnelServerConf = `; stunnel server side, written by internal/peers
foreground = yes
pid =
debug = 6
syslog = no
[server]
accept = 127.0.0.1:0
connect = %s
cert = %s
key = %s
sslVersionMin = TLSv1.2
`

const stunnelClientConf = `; stunnel client side, written by internal/peers
foreground = yes
pid =
debug = 6
syslog = no
[client]
client = yes
accept = 127.0.0.1:0
connect = %s
CAfile = %s
verifyChain = yes
checkIP = 127.0.0.1
sslVersionMin = TLSv1.2
`

// StartStunnelPair starts the server-side stunnel, then the client-side one
// pointed at it. Both listen on 127.0.0.1:0 and report the port they got in
// their "bound to" log line (debug = 6).
func StartStunnelPair(t testing.TB, opts StunnelOptions) *StunnelPair {
	t.Helper()
	bin := RequireBinary(t, "stunnel4")
	cert := defaultServerCert(t, opts.Cert)
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	dir := t.TempDir()
	sp := &StunnelPair{}
	sp.Server, sp.ServerAddr = startStunnel(t, bin, dir, "server",
		fmt.Sprintf(stunnelServerConf, opts.Dest, cert.CertFile, cert.KeyFile), opts.StartTimeout)
	sp.Client, sp.Addr = startStunnel(t, bin, dir, "client",
		fmt.Sprintf(stunnelClientConf, sp.ServerAddr, cert.CA.CertFile), opts.StartTimeout)
	return sp
}

func startStunnel(t testing.TB, bin, dir, service, conf string, timeout time.Duration) (*Process, string) {
	t.Helper()
	confPath := filepath.Join(dir, "stunnel-"+service+".conf")
	writeFile(t, confPath, []byte(conf), 0o600)
	p, err := startProcess(t, "stunnel-"+service, dir, exec.Command(bin, confPath))
	if err != nil {
		t.Fatalf("%v", err)
	}
	line, err := p.waitLine(t.Context(), timeout, func(line string) bool {
		m := stunnelBound.FindStringSubmatch(line)
		return m != nil && m[1] == service
	})
	p.doneWatching()
	if err != nil {
		t.Fatalf("stunnel %s did not start: %v\n%s", service, err, redactTokens(tail(p.Log())))
	}
	return p, stunnelBound.FindStringSubmatch(line)[2]
}
