// Command portal is the smallest portal that launches trustlaunch sessions
// (docs/portal.md): each click on "Launch session" mints a single-use
// ticket, the ticket fetches a launch descriptor once, and each descriptor
// carries a new session token for one destination through one proxy.
//
// Configuration, from the environment:
//
//	PORTAL_LISTEN       host:port to serve HTTPS on (127.0.0.1:8443)
//	PORTAL_ORIGIN       the origin users reach it at (https://LISTEN)
//	PORTAL_TLS_CERT     the portal's certificate and key files (PEM)
//	PORTAL_TLS_KEY
//	PORTAL_SIGNING_KEY  the key from `trustlaunch descriptor keygen` (portal.key)
//	PORTAL_ISSUER       the tokens' iss, as the proxies' --issuer lists it
//	                    (https://portal.example.com)
//	PROXY_ADDRESS       the proxy, host:port (proxy.example.com:8443)
//	PROXY_AUDIENCE      the tokens' aud, the proxy's --audience (PROXY_ADDRESS)
//	PROXY_CA            optional: a file with the CA of the proxy's certificate
//	DESTINATION         the host the session reaches, host:port
//	                    (mainframe.example.com:23)
//	PROFILE             the emulator profile the descriptor names (c3270)
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// ticketLifetime is how long a launch link works: the browser opens it at
// once, and trustlaunch fetches the descriptor after its trust decision.
const ticketLifetime = 60 * time.Second

type portal struct {
	origin, proxy, audience, proxyCA, profile string
	destHost                                  string
	destPort                                  int
	destination                               string
	issuer                                    *sessiontoken.Issuer

	mu      sync.Mutex
	tickets map[string]ticket
}

// ticket is what a launch link stands for: a user, until it expires.
type ticket struct {
	user    string
	expires time.Time
}

func main() {
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	keyPEM, err := os.ReadFile(env("PORTAL_SIGNING_KEY", "portal.key"))
	if err != nil {
		log.Fatal(err)
	}
	key, err := sessiontoken.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: key, Issuer: env("PORTAL_ISSUER", "https://portal.example.com")})
	if err != nil {
		log.Fatal(err)
	}
	p := &portal{
		proxy:       env("PROXY_ADDRESS", "proxy.example.com:8443"),
		profile:     env("PROFILE", "c3270"),
		destination: env("DESTINATION", "mainframe.example.com:23"),
		issuer:      issuer,
		tickets:     map[string]ticket{},
	}
	p.audience = env("PROXY_AUDIENCE", p.proxy)
	if ca := os.Getenv("PROXY_CA"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			log.Fatal(err)
		}
		p.proxyCA = string(pem)
	}
	host, port, err := net.SplitHostPort(p.destination)
	if err != nil {
		log.Fatal(err)
	}
	if p.destPort, err = strconv.Atoi(port); err != nil {
		log.Fatal(err)
	}
	p.destHost = host

	ln, err := net.Listen("tcp", env("PORTAL_LISTEN", "127.0.0.1:8443"))
	if err != nil {
		log.Fatal(err)
	}
	p.origin = env("PORTAL_ORIGIN", "https://"+ln.Addr().String())
	fmt.Printf("portal listening on %s\n", p.origin)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /launch", p.launch)
	mux.HandleFunc("GET /descriptor", p.descriptor)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ServeTLS(ln, os.Getenv("PORTAL_TLS_CERT"), os.Getenv("PORTAL_TLS_KEY")))
}

// launch is the user's click: it mints a ticket and answers with the link.
func (p *portal) launch(w http.ResponseWriter, r *http.Request) {
	// The signed-in user: set here by an authenticating reverse proxy; in
	// your portal, from its own session.
	user := r.Header.Get("X-Remote-User")
	if user == "" {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	t := randomString(32)
	p.mu.Lock()
	for k, old := range p.tickets { // forget the unused ones
		if time.Now().After(old.expires) {
			delete(p.tickets, k)
		}
	}
	p.tickets[t] = ticket{user: user, expires: time.Now().Add(ticketLifetime)}
	p.mu.Unlock()

	descriptorURL := p.origin + "/descriptor?ticket=" + t
	link := "trustlaunch://launch?url=" + url.QueryEscape(descriptorURL)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "<a href=\"%s\">Launch session</a>\n", link)
}

// descriptor is trustlaunch fetching the descriptor: the ticket is used up
// whatever happens, and the descriptor carries a new token.
func (p *portal) descriptor(w http.ResponseWriter, r *http.Request) {
	t := r.URL.Query().Get("ticket")
	p.mu.Lock()
	tk, ok := p.tickets[t]
	delete(p.tickets, t)
	p.mu.Unlock()
	if !ok || time.Now().After(tk.expires) {
		http.Error(w, "this launch link was used or has expired: start the session again", http.StatusNotFound)
		return
	}
	token, claims, err := p.issuer.Issue(sessiontoken.Grant{Audience: p.audience, Destination: p.destination, Subject: tk.user})
	if err != nil {
		http.Error(w, "cannot issue a session token", http.StatusInternalServerError)
		log.Printf("issue a token for %s: %v", tk.user, err)
		return
	}
	log.Printf("descriptor for %s: token jti %s", tk.user, claims.ID) // the jti, never the token

	proxy := map[string]any{"address": p.proxy, "transport": "connect"}
	if p.proxyCA != "" {
		proxy["ca_pem"] = p.proxyCA
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"version":     1,
		"session":     "Mainframe (TN3270)",
		"profile":     p.profile,
		"proxy":       proxy,
		"destination": map[string]any{"host": p.destHost, "port": p.destPort},
		"token":       token,
	})
}

// randomString returns n random bytes, base64url: a ticket no one guesses.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
