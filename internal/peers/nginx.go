//go:build linux

package peers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// NginxOptions configures StartNginx.
type NginxOptions struct {
	// Upstream is the WebSocket server behind nginx, "127.0.0.1:PORT"
	// (websockify). Required.
	Upstream string
	// UpstreamCA, when set, makes nginx speak TLS to Upstream and verify
	// its certificate against this CA for the name "localhost" (nginx
	// checks DNS names only, and the harness's certificates name
	// localhost); nil: plain HTTP to Upstream.
	UpstreamCA *CA
	// Cert is nginx's own certificate; nil means a new CA and a
	// certificate for 127.0.0.1, ::1 and localhost.
	Cert *ServerCert
	// ReadTimeout is proxy_read_timeout and proxy_send_timeout, whole
	// seconds: how long nginx keeps a WebSocket connection on which
	// nothing came from upstream (default 60 s, nginx's own default).
	ReadTimeout time.Duration
	// TokenCheck, when set, is the address of a `trustlaunch-tokencheck
	// http` (StartTokenCheckHTTP): nginx then runs docs/proxy.md's lines,
	// auth_request to it in front of Upstream (a websockify with a fixed
	// target, plain HTTP on loopback) at SessionPath, with its token-free
	// log format. ReadTimeout and UpstreamCA do not apply.
	TokenCheck string
	// Destination is the target of the websockify at Upstream, "host:port",
	// which nginx gives the token check; required with TokenCheck.
	Destination string
	// StartTimeout bounds start-up (default DefaultStartTimeout).
	StartTimeout time.Duration
}

// SessionPath is the WebSocket path of docs/proxy.md's nginx lines, for
// the descriptor's proxy.path.
const SessionPath = "/sessions/mainframe"

// Nginx is a running nginx 1.22 (Debian nginx) that terminates TLS on
// 127.0.0.1 and proxies WebSocket upgrades to one upstream, the way
// noVNC-style deployments put it in front of websockify. It cuts a
// WebSocket connection on which the upstream sent nothing for ReadTimeout
// (among the peers here, the one that does cut idle WebSocket connections).
type Nginx struct {
	Addr string // "127.0.0.1:PORT"
	URL  string // "wss://127.0.0.1:PORT/"
	Cert *ServerCert
	Dir  string
	*Process

	conf    string // the configuration file, kept for Restart
	timeout time.Duration
}

var nginxConf = template.Must(template.New("nginx.conf").Parse(`# nginx.conf written by internal/peers for one test.
daemon off;
master_process on;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
{{- if .LogFormat}}
	{{.LogFormat}}
{{- else}}
	access_log {{.Dir}}/access.log;
{{- end}}
	client_body_temp_path {{.Dir}}/tmp/body;
	proxy_temp_path {{.Dir}}/tmp/proxy;
	fastcgi_temp_path {{.Dir}}/tmp/fastcgi;
	uwsgi_temp_path {{.Dir}}/tmp/uwsgi;
	scgi_temp_path {{.Dir}}/tmp/scgi;
	map $http_upgrade $connection_upgrade { default upgrade; '' close; }
	server {
		# The socket is inherited (NGINX=3;): nginx adopts a listening
		# socket whose address equals a listen directive's.
		listen {{.Addr}} ssl;
		ssl_certificate {{.CertFile}};
		ssl_certificate_key {{.KeyFile}};
		ssl_protocols TLSv1.2 TLSv1.3;
{{- if .Locations}}
		# docs/proxy.md's lines, with the test's addresses.
		{{.Locations}}
{{- else}}
		location / {
			proxy_pass {{.Scheme}}://{{.Upstream}};
{{- if .UpstreamCA}}
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate {{.UpstreamCA}};
			proxy_ssl_name localhost;
			proxy_ssl_server_name on;
{{- end}}
			proxy_http_version 1.1;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection $connection_upgrade;
			proxy_set_header Host $host;
			# The idle timeout of an upgraded connection: nginx closes it
			# when nothing arrived from upstream for this long.
			proxy_read_timeout {{.Timeout}}s;
			proxy_send_timeout {{.Timeout}}s;
			proxy_buffering off;
		}
{{- end}}
	}
}
`))

// StartNginx starts nginx in the foreground (daemon off) with a
// configuration of its own in a t.TempDir(), on a listening socket the
// harness bound on 127.0.0.1:0 and hands it as file descriptor 3 (nginx's
// NGINX environment variable, the socket inheritance of its binary
// upgrade), so the port is known without a race. It returns once nginx's
// worker has started, and fails the test when nginx is missing or does not
// start in time.
func StartNginx(t testing.TB, opts NginxOptions) *Nginx {
	t.Helper()
	RequireBinary(t, "nginx")
	if opts.Upstream == "" {
		t.Fatalf("nginx: NginxOptions.Upstream is required")
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 60 * time.Second
	}
	if opts.ReadTimeout%time.Second != 0 || opts.ReadTimeout < time.Second {
		t.Fatalf("nginx: ReadTimeout %v: want whole seconds", opts.ReadTimeout)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	n := &Nginx{Cert: defaultServerCert(t, opts.Cert), Dir: t.TempDir(), timeout: opts.StartTimeout}
	if err := os.MkdirAll(filepath.Join(n.Dir, "tmp"), 0o755); err != nil {
		t.Fatalf("nginx: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("nginx: listen: %v", err)
	}
	n.Addr = ln.Addr().String()
	n.URL = "wss://" + n.Addr + "/"
	data := map[string]any{
		"Dir": n.Dir, "Addr": n.Addr, "CertFile": n.Cert.CertFile, "KeyFile": n.Cert.KeyFile,
		"Scheme": "http", "Upstream": opts.Upstream, "Timeout": strconv.Itoa(int(opts.ReadTimeout / time.Second)),
	}
	if opts.UpstreamCA != nil {
		data["Scheme"], data["UpstreamCA"] = "https", opts.UpstreamCA.CertFile
	}
	if opts.TokenCheck != "" {
		if opts.Destination == "" {
			t.Fatalf("nginx: NginxOptions.Destination is required with TokenCheck")
		}
		data["LogFormat"] = strings.TrimSpace(proxyDocBlock(t, "<!-- tested: nginx log_format -->"))
		data["Locations"] = strings.ReplaceAll(strings.TrimSpace(replaceOnce(t, "nginx", proxyDocBlock(t, "<!-- tested: nginx locations -->"),
			"/var/log/nginx/trustlaunch.log", filepath.Join(n.Dir, "access.log"),
			"set $trustlaunch_destination mainframe.example.com:23;", "set $trustlaunch_destination "+opts.Destination+";",
			"proxy_pass http://127.0.0.1:6080;", "proxy_pass http://"+opts.Upstream+";",
			"proxy_pass http://127.0.0.1:9180/check;", "proxy_pass http://"+opts.TokenCheck+"/check;",
			"location = /sessions/mainframe {", "location = "+SessionPath+" {",
		)), "\n", "\n\t\t")
	}
	var conf strings.Builder
	if err := nginxConf.Execute(&conf, data); err != nil {
		t.Fatalf("nginx.conf: %v", err)
	}
	n.conf = filepath.Join(n.Dir, "nginx.conf")
	writeFile(t, n.conf, []byte(conf.String()), 0o644)
	n.start(t, ln.(*net.TCPListener))
	return n
}

// start runs nginx on ln, which it closes: nginx holds the only copy of
// the socket, so once nginx is gone the port refuses connections.
func (n *Nginx) start(t testing.TB, ln *net.TCPListener) {
	t.Helper()
	lnFile, err := ln.File()
	ln.Close()
	if err != nil {
		t.Fatalf("nginx: listener file: %v", err)
	}
	defer lnFile.Close() // the child has its own copy once started
	// Fd puts the descriptor in blocking mode; nginx expects the
	// non-blocking socket an old master would hand over.
	if err := syscall.SetNonblock(int(lnFile.Fd()), true); err != nil {
		t.Fatalf("nginx: listener file: %v", err)
	}
	// -e stderr: the error log before the configuration is read (the
	// compiled-in /var/log/nginx/error.log is not ours); -p: relative paths
	// stay in the test's directory.
	cmd := exec.Command(RequireBinary(t, "nginx"), "-e", "stderr", "-p", n.Dir, "-c", n.conf)
	cmd.Dir = n.Dir
	cmd.ExtraFiles = []*os.File{lnFile} // file descriptor 3
	cmd.Env = append(os.Environ(), "NGINX=3;")
	p, err := startProcess(t, "nginx", n.Dir, cmd)
	if err != nil {
		t.Fatalf("%v", err)
	}
	p.addLogFile(filepath.Join(n.Dir, "access.log"))
	_, err = p.waitLine(t.Context(), n.timeout, func(line string) bool {
		return strings.Contains(line, "start worker process")
	})
	p.doneWatching()
	if err != nil {
		t.Fatalf("nginx did not start: %v\n%s", err, redactTokens(tail(p.Log())))
	}
	if !strings.Contains(p.Log(), "using inherited sockets") {
		p.Stop()
		t.Fatalf("nginx did not take the listening socket it was given:\n%s", redactTokens(tail(p.Log())))
	}
	n.Process = p
}

// Restart starts nginx again on the same address with the same
// configuration, after the test killed it (Process.Kill): a proxy that
// comes back. It fails the test if nginx is still running or the port was
// taken while nginx was down.
func (n *Nginx) Restart(t testing.TB) {
	t.Helper()
	select {
	case <-n.Exited():
	default:
		t.Fatalf("nginx: Restart while it runs (pid %d)", n.PID)
	}
	ln, err := net.Listen("tcp", n.Addr)
	if err != nil {
		t.Fatalf("nginx: restart on %s: %v", n.Addr, err)
	}
	n.start(t, ln.(*net.TCPListener))
}

// String names the peer in test logs.
func (n *Nginx) String() string { return fmt.Sprintf("nginx on %s", n.Addr) }
