//go:build linux

package peers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
)

// OutboundSquidOptions configures StartOutboundSquid.
type OutboundSquidOptions struct {
	// Hosts are lines of Squid's hosts_file ("127.0.0.1 secproxy.test"):
	// names only this Squid resolves, so a client reaches them only
	// through it.
	Hosts []string
	// User and Password, when User is set, make the Squid require Basic
	// proxy authentication (basic_ncsa_auth, which ships with Squid).
	User, Password string
	// ExtraConfig lines are appended before the http_access rules.
	ExtraConfig []string
}

// OutboundSquid is a company's explicit outbound proxy: a plain-HTTP
// http_port on 127.0.0.1 that allows CONNECT only.
type OutboundSquid struct {
	Addr    string // 127.0.0.1:PORT of the http_port
	Dir     string
	Service string
	*Process
}

var outboundSquidConf = template.Must(template.New("squid.conf").Parse(`# outbound squid.conf written by internal/peers for one test.
pid_filename {{.Dir}}/squid.pid
cache_log {{.Dir}}/cache.log
access_log stdio:{{.Dir}}/access.log
cache_store_log none
coredump_dir {{.Dir}}
netdb_filename none
visible_hostname trustlaunch-outbound
{{if .RunAs}}cache_effective_user {{.RunAs}}
{{end -}}
shutdown_lifetime 0 seconds
pinger_enable off
memory_pools off
cache deny all
cache_mem 0 MB
http_port 127.0.0.1:{{.Port}}
hosts_file {{.Dir}}/hosts
dns_nameservers 127.0.0.1
udp_incoming_address 127.0.0.1
udp_outgoing_address 127.0.0.1
connect_timeout 10 seconds
{{if .Auth}}auth_param basic program /usr/lib/squid/basic_ncsa_auth {{.Dir}}/passwd
auth_param basic realm trustlaunch-outbound
acl authed proxy_auth REQUIRED
{{end -}}
acl CONNECT method CONNECT
{{range .Extra}}{{.}}
{{end -}}
http_access deny !CONNECT
{{if .Auth}}http_access deny !authed
{{end -}}
http_access allow all
`))

var outboundListening = regexp.MustCompile(`Accepting HTTP Socket connections at .* local=(127\.0\.0\.1:\d+)`)

// StartOutboundSquid starts an outbound Squid (see OutboundSquid) and
// returns once it accepts connections.
func StartOutboundSquid(t testing.TB, opts OutboundSquidOptions) *OutboundSquid {
	t.Helper()
	bin := RequireBinary(t, "squid")
	s := &OutboundSquid{Dir: t.TempDir()}
	writeFile(t, filepath.Join(s.Dir, "hosts"), []byte(strings.Join(append([]string{"127.0.0.1 localhost"}, opts.Hosts...), "\n")+"\n"), 0o644)
	if opts.User != "" {
		RequireBinary(t, "openssl")
		out, err := exec.Command("openssl", "passwd", "-1", opts.Password).Output()
		if err != nil {
			t.Fatalf("openssl passwd: %v", err)
		}
		writeFile(t, filepath.Join(s.Dir, "passwd"), []byte(opts.User+":"+strings.TrimSpace(string(out))+"\n"), 0o644)
	}
	var runAs string
	if os.Geteuid() == 0 {
		runAs = squidUser
		if err := giveTo(s.Dir, squidUser); err != nil {
			t.Fatalf("squid: %v", err)
		}
	}
	s.Service = fmt.Sprintf("tlout%dn%d", os.Getpid(), squidServices.Add(1))
	t.Cleanup(func() {
		left, _ := filepath.Glob(filepath.Join("/dev/shm", s.Service+"-*"))
		for _, f := range left {
			os.Remove(f)
		}
	})
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	if err := outboundSquidConf.Execute(&conf, map[string]any{"Dir": s.Dir, "RunAs": runAs, "Port": port, "Auth": opts.User != "", "Extra": opts.ExtraConfig}); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(s.Dir, "squid.conf")
	writeFile(t, confPath, []byte(conf.String()), 0o644)
	if runAs != "" {
		if err := giveTo(s.Dir, runAs); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-N", "-d", "1", "-n", s.Service, "-f", confPath)
	cmd.Dir = s.Dir
	p, err := startProcess(t, "outbound squid", s.Dir, cmd)
	if err != nil {
		t.Fatal(err)
	}
	p.termGrace = 0
	p.addLogFile(filepath.Join(s.Dir, "cache.log"))
	line, err := p.waitLine(t.Context(), DefaultStartTimeout, outboundListening.MatchString)
	p.doneWatching()
	if err != nil {
		p.Stop()
		t.Fatalf("outbound squid did not start: %v\n%s", err, tail(p.Log()))
	}
	s.Addr = outboundListening.FindStringSubmatch(line)[1]
	if err := p.waitDialable(t.Context(), DefaultStartTimeout, s.Addr); err != nil {
		p.Stop()
		t.Fatalf("outbound squid did not start: %v", err)
	}
	s.Process = p
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the Squid down in order (see Squid.Stop) and waits for it.
func (s *OutboundSquid) Stop() { stopSquid(s.Process) }

// AccessLog returns the content of the Squid's access.log.
func (s *OutboundSquid) AccessLog() string { return readLog(s.Dir, "access.log") }
