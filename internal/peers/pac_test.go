//go:build linux

package peers_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/pac"
	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// TestPACTwoOutboundSquids runs a launch's two connections through the
// proxies a PAC script chooses, served over plain http and evaluated by
// the real "trustlaunch __pac" child: the descriptor fetch through one
// real Squid, the tunnel through another, after a dead first choice. Each
// outbound Squid alone resolves the name it is for (hosts_file), and
// nothing else does, so a connection that bypassed the script's choice
// fails at DNS. The one outbound dialer (connector.OutboundProxy.Dial) is
// what both connections go through.
func TestPACTwoOutboundSquids(t *testing.T) {
	t.Parallel()
	bin := peers.BuildTrustlaunch(t)
	ca := peers.NewCA(t)
	sec := peers.StartSquid(t, peers.SquidOptions{Cert: ca.Issue(t, "secproxy.test")})
	_, secPort, _ := net.SplitHostPort(sec.Addr)
	echo := peers.StartEcho(t)
	tok := sec.Token(t, echo.Addr)
	portal := startNamedOrigin(t, ca.Issue(t, "portal.test"), map[string]any{
		"version": 1, "session": "chosen by PAC", "profile": "none",
		"proxy":       map[string]any{"address": "secproxy.test:" + secPort, "transport": "connect"},
		"destination": map[string]any{"host": "mainframe.test", "port": 23},
		"token":       "eyJhbGciOiJIUzI1NiJ9.e30.sig",
	})
	_, portalPort, _ := net.SplitHostPort(portal)
	forTunnel := peers.StartOutboundSquid(t, peers.OutboundSquidOptions{Hosts: []string{"127.0.0.1 secproxy.test"}})
	forPortal := peers.StartOutboundSquid(t, peers.OutboundSquidOptions{Hosts: []string{"127.0.0.1 portal.test"}})
	dead := deadLoopback(t)

	script := fmt.Sprintf(`function FindProxyForURL(url, host) {
		if (host == "secproxy.test") return "PROXY %s; PROXY %s; DIRECT";
		if (dnsDomainIs(host, "portal.test")) return "PROXY %s";
		return "DIRECT";
	}`, dead, forTunnel.Addr, forPortal.Addr)
	pacSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		fmt.Fprint(w, script)
	}))
	t.Cleanup(pacSrv.Close)
	s, err := pac.NewScript(pac.Options{URL: pacSrv.URL + "/wpad.dat?key=k-7c1e", Command: func() *exec.Cmd {
		cmd := exec.Command(bin, "__pac")
		cmd.Env = []string{}
		return cmd
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ob := connector.NewOutboundScript(connector.SourceFlag, s)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	descURL := "https://portal.test:" + portalPort + "/descriptor?ticket=tkt-9f8e7d"
	origin, err := whitelist.ParseOrigin(descURL)
	if err != nil {
		t.Fatal(err)
	}
	d, err := descriptor.Fetch(ctx, descriptor.FetchOptions{
		URL: descURL, Origin: origin, RootCAs: ca.Pool, Outbound: ob,
		ExtraCAFile: "/nonexistent-trustlaunch-test/ca.pem", Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatalf("fetch through the Squid the PAC chose: %v", err)
	}
	if ch, ok := ob.Chosen("portal.test:" + portalPort); !ok || ch.Via != "PROXY "+forPortal.Addr || len(ch.Failed) != 0 {
		t.Errorf("the fetch's choice: %+v, %v", ch, ok)
	}

	c := newConnector(t, connector.TransportConnect, d.Proxy.Address, sec.Cert, echo.Addr, tok, func(cfg *connector.Config) { cfg.Outbound = ob })
	conn, err := c.Dial(ctx)
	if err != nil {
		t.Fatalf("tunnel through the Squid the PAC chose: %v", err)
	}
	if err := echoRoundTrip(conn, []byte("chosen by PAC\n")); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	ch, _ := connector.Route(conn)
	want := "PROXY " + forTunnel.Addr + " (chosen by PAC " + strings.TrimSuffix(pacSrv.URL, "/") + "/wpad.dat; after " + dead + " refused)"
	if ch.String() != want {
		t.Errorf("the tunnel's choice reads\n%q, want\n%q", ch, want)
	}
	if strings.Contains(ch.String(), "k-7c1e") {
		t.Errorf("the choice shows the PAC URL's query")
	}
	t.Logf("fetch: %v; tunnel: %v", mustChosen(t, ob, "portal.test:"+portalPort), ch)

	forTunnel.Stop()
	forPortal.Stop()
	tl, pl := forTunnel.AccessLog(), forPortal.AccessLog()
	if !strings.Contains(tl, "secproxy.test:"+secPort) || strings.Contains(tl, "portal.test") {
		t.Errorf("the tunnel's Squid saw:\n%s", tl)
	}
	if !strings.Contains(pl, "portal.test:"+portalPort) || strings.Contains(pl, "secproxy.test") {
		t.Errorf("the portal's Squid saw:\n%s", pl)
	}
	for _, secret := range []string{tok, "tkt-9f8e7d"} {
		if strings.Contains(tl+pl, secret) {
			t.Errorf("an outbound Squid logged a secret")
		}
	}
}

func mustChosen(t *testing.T, ob *connector.OutboundProxy, target string) connector.Choice {
	t.Helper()
	ch, ok := ob.Chosen(target)
	if !ok {
		t.Fatalf("no choice for %s", target)
	}
	return ch
}

// deadLoopback is a loopback address nothing listens on.
func deadLoopback(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
