package demo

import (
	"bufio"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// TestProxyChecksTheToken: the demo's proxy checks the demo's session
// tokens with package sessiontoken, so the demo shows the contract: each
// descriptor carries a token of its own, which admits a tunnel to the
// demo's host only, from the first client only, and a token another key
// signed is refused. The report says why the last refusal was made.
func TestProxyChecksTheToken(t *testing.T) {
	w, client := startWorld(t)
	fetchToken := func() string {
		t.Helper()
		resp, err := client.Get(w.NewLaunchURL())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var desc struct{ Token string }
		if err := json.NewDecoder(resp.Body).Decode(&desc); err != nil {
			t.Fatal(err)
		}
		return desc.Token
	}
	// connect sends CONNECT target with token from source and returns
	// the proxy's status code.
	connect := func(token, target, source string) int {
		t.Helper()
		d := tls.Dialer{
			NetDialer: &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}},
			Config:    &tls.Config{RootCAs: w.proxy.RootCAs(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		}
		conn, err := d.DialContext(t.Context(), "tcp", w.proxy.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Bearer %s\r\n\r\n", target, target, token)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	host := w.Report().Host
	first, second := fetchToken(), fetchToken()
	if first == second {
		t.Fatal("two descriptors carry the same token")
	}
	_, forgerKey, _ := ed25519.GenerateKey(nil)
	forger, _ := sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: forgerKey, Issuer: strings.TrimSuffix(w.base, "/demo/descriptor")})
	forged, _, err := forger.Issue(sessiontoken.Grant{Audience: w.proxy.Addr, Destination: host, Subject: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, token, target, source string
		code                        int
		reason                      sessiontoken.Reason
	}{
		{"the token, to the host", first, host, "127.0.0.1", 200, ""},
		{"the token again, same client", first, host, "127.0.0.1", 200, ""},
		{"the token from another client", first, host, "127.0.0.2", 407, sessiontoken.Replayed},
		{"another token, to another port", second, "127.0.0.1:1", "127.0.0.1", 407, sessiontoken.WrongDest},
		{"a token another key signed", forged, host, "127.0.0.1", 407, sessiontoken.UnknownKey},
		{"not a token", "demo-0123456789abcdef", host, "127.0.0.1", 407, sessiontoken.Malformed},
	} {
		if code := connect(tt.token, tt.target, tt.source); code != tt.code {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.code)
		}
		if r := w.Report(); tt.reason != "" && !strings.HasPrefix(r.LastRefusal, "session token refused ("+string(tt.reason)+")") {
			t.Errorf("%s: last refusal %q, want reason %s", tt.name, r.LastRefusal, tt.reason)
		}
	}
	if r := w.Report(); r.TokensAccepted != 2 || r.TokensRefused != 4 || strings.Contains(r.LastRefusal, first) {
		t.Errorf("report %+v", r)
	}
}
