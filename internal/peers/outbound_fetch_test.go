//go:build linux

package peers_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// TestFetchThroughOutboundSquid fetches a descriptor through the real
// outbound Squid (Basic authentication required). The portal is named
// portal.test, which only that Squid resolves (its hosts_file), so the
// fetch can only work through it. Refused by the Squid (407), the fetch
// fails in the tunnel's words, naming the outbound proxy and the fetch
// step, with the typed StepOutbound error inside and its hint: never
// net/http's "Proxy Authentication Required".
func TestFetchThroughOutboundSquid(t *testing.T) {
	t.Parallel()
	ca := peers.NewCA(t)
	descURL, port, origin := startPortalTest(t, ca, "through the outbound proxy")
	out := peers.StartOutboundSquid(t, peers.OutboundSquidOptions{Hosts: []string{"127.0.0.1 portal.test"}, User: "alice", Password: "s3cret"})
	for _, tc := range []struct {
		name, userinfo, want, hint string
	}{
		{"credentials accepted", "alice:s3cret@", "", ""},
		{"no credentials", "", "outbound proxy " + out.Addr + ": 407 authentication required", "give them in the proxy URL"},
		{"wrong password", "alice:wrong@", "outbound proxy " + out.Addr + ": 407 authentication required: the user name or password was refused", "check the user name and password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ob, err := connector.NewOutboundProxy(connector.SourceFlag, "http://"+tc.userinfo+out.Addr, "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			d, err := descriptor.Fetch(ctx, descriptor.FetchOptions{
				URL: descURL, Origin: origin, RootCAs: ca.Pool, Outbound: ob,
				ExtraCAFile: "/nonexistent-trustlaunch-test/ca.pem", Timeout: 20 * time.Second,
			})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("fetch through the outbound Squid: %v", err)
				}
				if d.Session != "through the outbound proxy" {
					t.Fatalf("descriptor session %q", d.Session)
				}
				return
			}
			var fe *descriptor.FetchError
			if !errors.As(err, &fe) || fe.Step != descriptor.StepFetch {
				t.Fatalf("err = %v (%T), want a FetchError of step %s", err, err, descriptor.StepFetch)
			}
			var se *connector.StepError
			if !errors.As(err, &se) || se.Step != connector.StepOutbound || se.Addr != out.Addr {
				t.Fatalf("err = %v: want a StepOutbound *connector.StepError for %s inside", err, out.Addr)
			}
			wantText := "fetch descriptor https://portal.test:" + port + "/descriptor: " + tc.want
			if err.Error() != wantText {
				t.Errorf("err = %q\nwant  %q", err, wantText)
			}
			if h := fe.Hint(); !strings.Contains(h, tc.hint) || !strings.Contains(h, connector.SourceFlag) {
				t.Errorf("hint = %q, want one with %q naming %s", h, tc.hint, connector.SourceFlag)
			}
			for _, secret := range []string{"s3cret", "wrong", "tkt-9f8e7d"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(fe.Hint(), secret) {
					t.Errorf("the error or hint shows a secret: %v", err)
				}
			}
			t.Logf("as expected: %v (hint: %s)", err, fe.Hint())
		})
	}
}

// startPortalTest serves a descriptor of the given session as
// https://portal.test:PORT, a name only the outbound proxies of these
// tests resolve (their hosts_file), with a certificate from ca; it
// returns the descriptor's URL, ticket included, its port and its origin.
func startPortalTest(t *testing.T, ca *peers.CA, session string) (descURL, port string, origin whitelist.Origin) {
	t.Helper()
	portal := startNamedOrigin(t, ca.Issue(t, "portal.test"), map[string]any{
		"version": 1, "session": session, "profile": "none",
		"proxy":       map[string]any{"address": "secproxy.test:8443", "transport": "connect"},
		"destination": map[string]any{"host": "mainframe.test", "port": 23},
		"token":       "eyJhbGciOiJIUzI1NiJ9.e30.sig",
	})
	_, port, _ = net.SplitHostPort(portal)
	descURL = "https://portal.test:" + port + "/descriptor?ticket=tkt-9f8e7d"
	origin, err := whitelist.ParseOrigin(descURL)
	if err != nil {
		t.Fatal(err)
	}
	return descURL, port, origin
}

// startNamedOrigin serves desc as the launch descriptor at
// /descriptor?ticket=tkt-9f8e7d over HTTPS with cert, on 127.0.0.1, and
// returns the listener's address.
func startNamedOrigin(t *testing.T, cert *peers.ServerCert, desc map[string]any) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert.TLS}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/descriptor" || r.URL.Query().Get("ticket") != "tkt-9f8e7d" {
				http.Error(w, "no such ticket", http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(desc)
		}),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
