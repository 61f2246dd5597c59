package demo

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ed25519"
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
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// World is the embedded world of `trustlaunch demo`: an HTTPS origin that
// serves a launch descriptor, a CONNECT proxy over TLS that checks the
// session token with package sessiontoken (the contract of
// docs/proxy.md, as trustlaunch-tokencheck checks it), and a small host
// behind it, all on 127.0.0.1. The launch
// itself then runs the real flow against them.
type World struct {
	LaunchURL string         // the descriptor URL on the origin, with a single-use ticket
	OriginCA  *x509.CertPool // trusts the origin's certificate

	opts   Options
	proxy  *proxytest.Proxy
	origin *http.Server
	base   string // https://127.0.0.1:PORT/demo/descriptor
	hostLn net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{} // host connections, closed by Close
	// tokens issues the session tokens, as the demo's portal; audience
	// is the proxy's name in them.
	tokens   *sessiontoken.Issuer
	audience string
	// tickets maps each ticket the portal issued to whether it was used:
	// as a real portal's, a ticket fetches the descriptor once.
	tickets map[string]bool
	report  Report
}

// Report is what the demo's portal and proxy did, for the demo to show
// the side of a launch a user never sees.
type Report struct {
	Served         int  // descriptors served, each for an unused ticket
	Signed         bool // they were signed (a JWS), with Options.Signer
	TicketsRefused int  // fetches with a used or unknown ticket: 410 Gone
	TokensAccepted int  // tunnels opened: requests whose session token the proxy accepted
	TokensRefused  int  // requests it answered 407
	// LastRefusal is why the proxy refused the last token it refused
	// (sessiontoken's reason and message, never the token); "" when it
	// refused none.
	LastRefusal string
	Host        string // the host behind the proxy, host:port, where every tunnel leads
}

// Options chooses the demo's host and the profile its descriptor names.
type Options struct {
	// TN3270 makes the host a TN3270 application with a formatted screen
	// (tn3270.go) and the descriptor name the c3270 profile. Without
	// it the host answers lines in upper case and the descriptor names the
	// raw profile, which relays the terminal as it is.
	TN3270 bool
	// Signer, when set, signs the descriptor the origin serves
	// (application/jose); see World.Policy (signed.go).
	Signer crypto.Signer
}

// The demo descriptor's session names, one per kind of host.
const (
	SessionTN3270 = "trustlaunch demo (TN3270)"
	SessionRaw    = "trustlaunch demo (raw terminal)"
)

// Start starts the origin, the proxy and the host. Close stops them.
func Start(opts Options) (*World, error) {
	d := &World{opts: opts}
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
	originLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo origin: %w", err)
	}
	if err := d.startProxy("https://" + originLn.Addr().String()); err != nil {
		originLn.Close()
		return nil, err
	}
	d.startOrigin(originLn)
	d.report.Host = d.hostLn.Addr().String()
	d.report.Signed = opts.Signer != nil
	d.LaunchURL = d.NewLaunchURL()
	ok = true
	return d, nil
}

// startProxy starts the CONNECT proxy, which checks session tokens as a
// real proxy's trustlaunch-tokencheck does (package sessiontoken: the
// signature, iss, aud, dst against the CONNECT target, the lifetime and
// the single-use rule), with the key of the demo's portal at origin.
func (d *World) startProxy(origin string) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("demo portal key: %w", err)
	}
	if d.tokens, err = sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: key, Issuer: origin}); err != nil {
		return fmt.Errorf("demo portal: %w", err)
	}
	keys, err := sessiontoken.NewKeySet(key.Public())
	if err != nil {
		return fmt.Errorf("demo proxy: %w", err)
	}
	d.proxy = proxytest.NewUnstartedConnectProxy()
	// The proxy names itself by its address, which the descriptor gives
	// as proxy.address and the tokens carry as aud.
	d.audience = d.proxy.Listener.Addr().String()
	verifier, err := sessiontoken.NewVerifier(sessiontoken.VerifierConfig{
		Keys: keys, Issuers: []string{origin}, Audience: d.audience, Replay: sessiontoken.NewMemoryReplay(0),
	})
	if err != nil {
		d.proxy.Listener.Close()
		return fmt.Errorf("demo proxy: %w", err)
	}
	d.proxy.CheckRequest = func(token, target string, client net.Addr) bool {
		src := ""
		if a, ok := client.(*net.TCPAddr); ok {
			src = a.IP.String()
		}
		_, err := verifier.Verify(context.Background(), token, sessiontoken.Request{Destination: target, Source: src})
		d.mu.Lock()
		defer d.mu.Unlock()
		if err != nil {
			d.report.TokensRefused++
			// The refusal's text never holds the token (sessiontoken).
			d.report.LastRefusal = err.Error()
			return false
		}
		d.report.TokensAccepted++
		return true
	}
	d.proxy.Start()
	return nil
}

// descriptor is a launch descriptor as the origin serves it: the proxy,
// the host behind it, the profile for the host, and a session token of
// its own, issued now for that proxy and host, as a portal issues one per
// launch.
func (d *World) descriptor() (map[string]any, error) {
	session, profile := SessionRaw, "raw"
	if d.opts.TN3270 {
		session, profile = SessionTN3270, "c3270"
	}
	host := d.hostLn.Addr().(*net.TCPAddr)
	token, _, err := d.tokens.Issue(sessiontoken.Grant{Audience: d.audience, Destination: host.String(), Subject: "demo-user"})
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"version": 1,
		"session": session,
		"profile": profile,
		"proxy": map[string]any{
			"address":   d.proxy.Addr,
			"transport": "connect",
			"ca_pem":    string(d.proxy.CA.CertPEM()),
		},
		"destination": map[string]any{"host": host.IP.String(), "port": host.Port},
		"token":       token,
	}, nil
}

// startOrigin starts the HTTPS origin on ln, which serves a descriptor
// once per ticket.
func (d *World) startOrigin(ln net.Listener) {
	ca := proxytest.NewCA("trustlaunch demo origin CA")
	d.OriginCA = ca.Pool()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo/descriptor", func(w http.ResponseWriter, r *http.Request) {
		if !d.redeem(r.URL.Query().Get("ticket")) {
			// What a portal answers a replayed link (docs/admin.md, "Why
			// descriptor URLs must carry single-use tickets").
			http.Error(w, "this launch link was used already: start the session again from the portal", http.StatusGone)
			return
		}
		desc, err := d.descriptor()
		if err != nil {
			http.Error(w, "cannot issue a session token", http.StatusInternalServerError)
			return
		}
		if d.opts.Signer != nil {
			serveSignedDescriptor(w, desc, d.opts.Signer)
			return
		}
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
	d.base = fmt.Sprintf("https://%s/demo/descriptor", ln.Addr())
}

// NewLaunchURL returns a descriptor URL with a ticket of its own, which
// fetches the descriptor once.
func (d *World) NewLaunchURL() string {
	b := make([]byte, 8)
	rand.Read(b)
	ticket := "demo-ticket-" + hex.EncodeToString(b)
	d.mu.Lock()
	if d.tickets == nil {
		d.tickets = map[string]bool{}
	}
	d.tickets[ticket] = false
	d.mu.Unlock()
	return d.base + "?ticket=" + ticket
}

// redeem uses a ticket: true the first time for one the portal issued.
func (d *World) redeem(ticket string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	used, issued := d.tickets[ticket]
	if !issued || used {
		d.report.TicketsRefused++
		return false
	}
	d.tickets[ticket] = true
	d.report.Served++
	return true
}

// Report returns what the portal and the proxy did so far.
func (d *World) Report() Report {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.report
}

// Close stops everything Start started.
func (d *World) Close() {
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

// Banner is the line host's greeting.
const Banner = "Welcome to the trustlaunch demo host, reached through the security proxy.\n" +
	"Type a line and it comes back in upper case; end with Ctrl-D.\n"

// serveHost serves each connection with the TN3270 application or the line
// host, until the client ends.
func (d *World) serveHost() {
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
			if d.opts.TN3270 {
				serveTN3270(c) // its error ends only this session; c3270 shows the hang-up
				return
			}
			serveLines(c)
		}()
	}
}

// serveLines answers each line in upper case until the client ends.
func serveLines(c net.Conn) {
	fmt.Fprint(c, Banner)
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		fmt.Fprintf(c, "host: %s\n", strings.ToUpper(sc.Text()))
	}
}
