//go:build linux

package peers_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestDoctorThroughRealPeers runs trustlaunch doctor's reachability checks
// against a real HTTPS portal and a real Squid named by the admin policy,
// with the admin CA bundle trusting both: a handshake that passes, a
// portal and a proxy whose certificates nothing here trusts (TLS
// failures), and a portal that is not listening. Squid's access log,
// which records the Proxy-Authorization header, must show none from
// doctor; a CONNECT with a token afterwards shows that it would.
func TestDoctorThroughRealPeers(t *testing.T) {
	t.Parallel()
	adminDir := policyAdminDir(t)
	bin := peers.BuildTrustlaunch(t)
	sq := peers.StartSquid(t, peers.SquidOptions{AccessLogFormat: `%Ss/%03>Hs %rm %ru auth=[%{Proxy-Authorization}>h]`})
	portalCA := peers.NewCA(t)
	portal := startOrigin(t, portalCA, nil)
	strangerCA := peers.NewCA(t) // in no bundle
	stranger := startOrigin(t, strangerCA, nil)
	strangerAddr := strings.TrimPrefix(stranger, "https://")

	caFile := filepath.Join(adminDir, "ca.pem")
	if err := os.WriteFile(caFile, append(append([]byte{}, portalCA.CertPEM...), sq.Cert.CA.CertPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(adminDir, "policy.toml")
	policy := "[[proxies]]\naddress = \"" + sq.Addr + "\"\n\n[[proxies]]\naddress = \"" + strangerAddr + "\"\n"
	if err := os.WriteFile(policyFile, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()

	home := t.TempDir()
	doctor := func(t *testing.T, url string, flags ...string) map[string][]map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		args := append([]string{"doctor", "--json", "--timeout", "10s",
			"--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt",
			"--admin-profiles", "/nonexistent-trustlaunch-test/profiles.toml",
			"--admin-policy", policyFile, "--ca-bundle", caFile}, flags...)
		cmd := exec.CommandContext(ctx, bin, append(args, url)...)
		cmd.Env = append(os.Environ(),
			"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"XDG_STATE_HOME="+filepath.Join(home, "state"),
			"XDG_DATA_HOME="+filepath.Join(home, "data"),
			"HTTPS_PROXY=", "https_proxy=",
		)
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.Output()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("doctor: %v", err)
		}
		var doc struct {
			Checks []map[string]any `json:"checks"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("doctor --json: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "tkt-d0c70r") {
			t.Errorf("the ticket reached doctor's output:\n%s", out)
		}
		byName := map[string][]map[string]any{}
		for _, c := range doc.Checks {
			byName[c["name"].(string)] = append(byName[c["name"].(string)], c)
		}
		return byName
	}
	expect := func(t *testing.T, c map[string]any, status, summary string) {
		t.Helper()
		if c["status"] != status || !strings.Contains(c["summary"].(string), summary) {
			t.Errorf("check %v: %v %q, want %s and %q", c["name"], c["status"], c["summary"], status, summary)
		}
		if status == "fail" && c["fix"] == nil {
			t.Errorf("check %v failed without a fix", c["name"])
		}
	}

	checks := doctor(t, portal+"/launch?ticket=tkt-d0c70r-1")
	expect(t, checks["ca_bundle"][0], "ok", "added to the system's roots")
	expect(t, checks["portal_reach"][0], "ok", "certificate verified")
	if proxies := checks["proxy_reach"]; len(proxies) != 2 {
		t.Fatalf("proxy checks %v, want one for each proxy of the policy", proxies)
	} else {
		expect(t, proxies[0], "ok", "proxy "+sq.Addr+": TLS 1.")
		expect(t, proxies[1], "fail", "proxy "+strangerAddr+": tls handshake with "+strangerAddr)
	}

	checks = doctor(t, stranger+"/launch?ticket=tkt-d0c70r-2")
	expect(t, checks["portal_reach"][0], "fail", "tls handshake with "+strangerAddr)

	checks = doctor(t, closed+"/launch?ticket=tkt-d0c70r-3")
	expect(t, checks["portal_reach"][0], "fail", "tcp connect to")

	// Through an outbound proxy list whose first entry is dead, as a PAC
	// answer or a list names them: the check reaches the portal through
	// the live Squid, and says which route it took and what it passed
	// over, as a launch's audit record does. portal.test resolves only
	// in the outbound Squid, so the route cannot go around it.
	out := peers.StartOutboundSquid(t, peers.OutboundSquidOptions{Hosts: []string{"127.0.0.1 portal.test"}})
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	named := startNamedOrigin(t, portalCA.Issue(t, "portal.test"), map[string]any{})
	_, portalPort, _ := net.SplitHostPort(named)
	checks = doctor(t, "https://portal.test:"+portalPort+"/launch?ticket=tkt-d0c70r-4",
		"--outbound-proxy", "PROXY "+deadAddr+"; PROXY "+out.Addr)
	expect(t, checks["outbound_proxy"][0], "ok", "")
	reach := checks["portal_reach"][0]
	expect(t, reach, "ok", "certificate verified")
	wantRoute := "route: PROXY " + out.Addr + " (chosen by --outbound-proxy; after " + deadAddr + " refused)"
	if details, _ := json.Marshal(reach["details"]); !strings.Contains(string(details), wantRoute) {
		t.Errorf("portal_reach details %s, want %q", details, wantRoute)
	}

	// The control: a CONNECT with a token is logged with its header.
	echo := peers.StartEcho(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	bc := peers.BareClient{Proxy: sq.Addr, TLS: sq.Cert.CA.ClientTLS("127.0.0.1"), Token: sq.Token(t, echo.Addr)}
	conn, err := bc.Dial(ctx, echo.Addr)
	if err != nil {
		t.Fatalf("the control CONNECT: %v", err)
	}
	conn.Close()
	sq.Stop()
	log := sq.AccessLog()
	if n := strings.Count(log, "Bearer"); n != 1 {
		t.Errorf("Squid's access log has %d lines with Proxy-Authorization, want 1 (the control's):\n%s", n, log)
	}
}
