package launcher

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// Demo is the embedded world of `trustlaunch demo`: an HTTPS origin that
// serves a launch descriptor, a CONNECT proxy over TLS that checks the
// session token, and a small host behind it, all on 127.0.0.1. The launch
// itself then runs the real flow against them.
type Demo struct {
	LaunchURL string         // the descriptor URL on the origin
	OriginCA  *x509.CertPool // trusts the origin's certificate

	proxy  *proxytest.Proxy
	origin *http.Server
	hostLn net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{} // host connections, closed by Close
}

// StartDemo starts the origin, the proxy and the host. Close stops them.
func StartDemo() (*Demo, error) {
	d := &Demo{}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()
	var err error
	if d.hostLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("demo host: %w", err)
	}
	d.wg.Add(1)
	go d.serveHost()

	secret := make([]byte, 16)
	rand.Read(secret)
	token := "demo-" + hex.EncodeToString(secret)
	d.proxy = proxytest.NewUnstartedConnectProxy()
	d.proxy.CheckToken = func(t string) bool { return t == token }
	d.proxy.Start()

	ca := proxytest.NewCA("trustlaunch demo origin CA")
	d.OriginCA = ca.Pool()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo origin: %w", err)
	}
	hostAddr := d.hostLn.Addr().(*net.TCPAddr)
	desc := map[string]any{
		"version": 1,
		"session": "trustlaunch demo (raw terminal)",
		"profile": "raw",
		"proxy": map[string]any{
			"address":   d.proxy.Addr,
			"transport": "connect",
			"ca_pem":    string(d.proxy.CA.CertPEM()),
		},
		"destination": map[string]any{"host": "127.0.0.1", "port": hostAddr.Port},
		"token":       token,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo/descriptor", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(desc)
	})
	d.origin = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.Issue("127.0.0.1")}},
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.origin.ServeTLS(ln, "", "")
	}()
	d.LaunchURL = fmt.Sprintf("https://%s/demo/descriptor?ticket=demo-ticket", ln.Addr())
	ok = true
	return d, nil
}

// Close stops everything StartDemo started.
func (d *Demo) Close() {
	if d.origin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		d.origin.Shutdown(ctx)
		cancel()
	}
	if d.proxy != nil {
		d.proxy.Close()
	}
	if d.hostLn != nil {
		d.hostLn.Close()
	}
	d.mu.Lock()
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	d.wg.Wait()
}

// DemoBanner is the host's greeting.
const DemoBanner = "Welcome to the trustlaunch demo host, reached through the security proxy.\n" +
	"Type a line and it comes back in upper case; end with Ctrl-D.\n"

// serveHost answers each line in upper case until the client ends.
func (d *Demo) serveHost() {
	defer d.wg.Done()
	for {
		c, err := d.hostLn.Accept()
		if err != nil {
			return // closed by Close
		}
		d.mu.Lock()
		if d.conns == nil {
			d.conns = map[net.Conn]struct{}{}
		}
		d.conns[c] = struct{}{}
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() {
				d.mu.Lock()
				delete(d.conns, c)
				d.mu.Unlock()
				c.Close()
			}()
			fmt.Fprint(c, DemoBanner)
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "host: %s\n", strings.ToUpper(sc.Text()))
			}
		}()
	}
}
