//go:build linux

package peers_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/connector/proxyauth"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// negotiateHosts are the names of the company network of the Negotiate
// tests, in their namespace's /etc/hosts: the proxy by its service
// principal's name, by an alias the KDC knows no principal for, and by
// a name of a realm the KDC has no trust with.
var negotiateHosts = []string{"127.0.0.1 proxy.corp.test proxy-alias.corp.test proxy.other.test closing.corp.test"}

// negotiateRealm is a realm with a user, alice, signed on (kinit) into a
// FILE: credential cache, and an outbound Squid that takes Kerberos
// (negotiate_kerberos_auth) in front of a security Squid named
// secproxy.test, which only the outbound Squid resolves.
type negotiateRealm struct {
	kdc    *peers.KDC
	out    *peers.NegotiateSquid
	port   string // the outbound Squid's port
	ccache string // FILE:... of alice's ticket
	sec    *peers.Squid
	echo   *peers.Destination
	tok    string
}

func startNegotiateRealm(t testing.TB, basic bool) *negotiateRealm {
	t.Helper()
	r := &negotiateRealm{}
	ca := peers.NewCA(t)
	r.sec = peers.StartSquid(t, peers.SquidOptions{Cert: ca.Issue(t, "secproxy.test")})
	r.echo = peers.StartEcho(t)
	r.tok = r.sec.Token(t, r.echo.Addr)
	r.kdc = peers.StartKDC(t, peers.KDCOptions{ExtraDomainRealm: []string{".other.test = OTHER.TEST"}})
	r.kdc.AddUser(t, "alice", "alice-domain-pw")
	opts := peers.NegotiateSquidOptions{Hosts: []string{"127.0.0.1 secproxy.test", "127.0.0.1 portal.test"}, KDC: r.kdc}
	if basic {
		opts.BasicUser, opts.BasicPassword = "bob", "bob-pw"
	}
	r.out = peers.StartNegotiateSquid(t, opts)
	_, r.port, _ = net.SplitHostPort(r.out.Addr)
	r.ccache = "FILE:" + filepath.Join(t.TempDir(), "krb5cc_alice")
	r.kdc.Kinit(t, "alice", "alice-domain-pw", r.ccache)
	return r
}

// connector builds the tunnel to the echo destination through the
// outbound proxy at proxyURL, with the user's environment env.
func (r *negotiateRealm) connector(t testing.TB, proxyURL string, auth proxyauth.Config) *connector.Connector {
	t.Helper()
	return r.connectorWith(t, proxyURL, auth, nil)
}

// connectorWith is connector with the outbound setting changed by tweak.
func (r *negotiateRealm) connectorWith(t testing.TB, proxyURL string, auth proxyauth.Config, tweak func(*connector.OutboundProxy) *connector.OutboundProxy) *connector.Connector {
	t.Helper()
	ob, err := connector.NewOutboundProxy(connector.SourceFlag, proxyURL, "")
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		ob = tweak(ob)
	}
	_, secPort, _ := net.SplitHostPort(r.sec.Addr)
	return newConnector(t, connector.TransportConnect, "secproxy.test:"+secPort, r.sec.Cert, r.echo.Addr, r.tok, func(cfg *connector.Config) {
		cfg.Outbound = ob
		cfg.OutboundAuth = auth
	})
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestOutboundNegotiate runs the tunnel through a real Kerberos realm
// (MIT krb5kdc) and a Squid that signs users on with
// negotiate_kerberos_auth, in a network namespace whose /etc/hosts names
// the proxy: a user with a ticket gets through, and every way of not
// having a usable one is refused with one line that names the proxy and
// the cause, before the security proxy is reached.
func TestOutboundNegotiate(t *testing.T) {
	if !peers.InNamespace(t, peers.NamespaceOptions{Hosts: negotiateHosts}) {
		return
	}
	// The proxy offers Basic beside Negotiate, as one that also serves
	// machines outside the domain does: with no Basic credentials given,
	// trustlaunch signs on with the ticket.
	r := startNegotiateRealm(t, true)
	dir := t.TempDir()
	proxy := "http://proxy.corp.test:" + r.port
	for _, tc := range []struct {
		name    string
		url     string
		env     map[string]string
		now     func() time.Time
		wantErr string // after "outbound proxy HOST:PORT: "
	}{
		{name: "ticket", url: proxy, env: map[string]string{"KRB5CCNAME": r.ccache}},
		{name: "ticket in DIR collection", url: proxy, env: map[string]string{"KRB5CCNAME": r.dirCollection(t)}},
		{name: "no ticket", url: proxy, env: map[string]string{"KRB5CCNAME": "FILE:" + dir + "/krb5cc_none"},
			wantErr: `407 Negotiate sign-on: no Kerberos ticket: credential cache "FILE:` + dir + `/krb5cc_none" does not exist`},
		{name: "expired ticket", url: proxy, env: map[string]string{"KRB5CCNAME": r.ccache}, now: func() time.Time { return time.Now().Add(11 * time.Hour) },
			wantErr: `407 Negotiate sign-on: the Kerberos ticket of "alice@CORP.TEST" in "` + r.ccache + `" expired at `},
		{name: "KCM cache", url: proxy, env: map[string]string{"KRB5CCNAME": "KCM:"},
			wantErr: `407 Negotiate sign-on: credential cache "KCM:" is not supported: `},
		{name: "KEYRING cache", url: proxy, env: map[string]string{"KRB5CCNAME": "KEYRING:persistent:1000"},
			wantErr: `407 Negotiate sign-on: credential cache "KEYRING:persistent:1000" is not supported: `},
		{name: "wrong realm", url: "http://proxy.other.test:" + r.port, env: map[string]string{"KRB5CCNAME": r.ccache},
			wantErr: `407 Negotiate sign-on: no Kerberos ticket for HTTP/proxy.other.test: the proxy is in realm "OTHER.TEST", your ticket is for "CORP.TEST"`},
		{name: "name without principal", url: "http://proxy-alias.corp.test:" + r.port, env: map[string]string{"KRB5CCNAME": r.ccache},
			wantErr: `407 Negotiate sign-on: the KDC of "CORP.TEST" refused a ticket for HTTP/proxy-alias.corp.test`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["KRB5_CONFIG"] = r.kdc.Krb5Conf
			c := r.connector(t, tc.url, proxyauth.Config{Getenv: envOf(tc.env), Now: tc.now})
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			conn, err := c.Dial(ctx)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Dial through the Negotiate Squid: %v", err)
				}
				defer conn.Close()
				if err := echoRoundTrip(conn, []byte("signed on with kerberos\n")); err != nil {
					t.Fatal(err)
				}
				return
			}
			if conn != nil {
				conn.Close()
			}
			se := wantStep(t, err, connector.StepOutbound)
			host := strings.TrimPrefix(tc.url, "http://")
			if want := "outbound proxy " + host + ": " + tc.wantErr; !strings.Contains(err.Error(), want) {
				t.Fatalf("Dial: %v\nwant %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") || se.Hint() == "" {
				t.Errorf("want one line and a hint: %q (hint %q)", err, se.Hint())
			}
			t.Logf("as expected: %v (hint: %s)", err, se.Hint())
		})
	}
	t.Run("the descriptor fetch signs on", func(t *testing.T) {
		// The fetch dials through the same outbound dialer as the
		// tunnel, so it answers Negotiate too, with the ticket the
		// process's KRB5CCNAME names. portal.test resolves only in the
		// outbound Squid, so the fetch cannot go around it.
		t.Setenv("KRB5CCNAME", r.ccache)
		t.Setenv("KRB5_CONFIG", r.kdc.Krb5Conf)
		ca := peers.NewCA(t)
		descURL, _, origin := startPortalTest(t, ca, "signed on with kerberos")
		ob, err := connector.NewOutboundProxy(connector.SourceFlag, proxy, "")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		d, err := descriptor.Fetch(ctx, descriptor.FetchOptions{
			URL: descURL, Origin: origin, RootCAs: ca.Pool, Outbound: ob,
			ExtraCAFile: "/nonexistent-trustlaunch-test/ca.pem", Timeout: 20 * time.Second,
		})
		if err != nil {
			t.Fatalf("fetch through the Negotiate Squid: %v", err)
		}
		if d.Session != "signed on with kerberos" {
			t.Fatalf("descriptor session %q", d.Session)
		}
	})
	t.Run("proxy closes after its 407", func(t *testing.T) {
		closing := peers.StartNegotiateSquid(t, peers.NegotiateSquidOptions{Hosts: []string{"127.0.0.1 secproxy.test"}, KDC: r.kdc, Host: "closing.corp.test", CloseAfterChallenge: true})
		_, port, _ := net.SplitHostPort(closing.Addr)
		c := r.connector(t, "http://closing.corp.test:"+port, proxyauth.Config{Getenv: envOf(map[string]string{"KRB5CCNAME": r.ccache, "KRB5_CONFIG": r.kdc.Krb5Conf})})
		conn, err := c.Dial(t.Context())
		if err != nil {
			t.Fatalf("Dial through a proxy that closes after its 407: %v", err)
		}
		defer conn.Close()
		if err := echoRoundTrip(conn, []byte("signed on, second connection\n")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("basic from a credentials file", func(t *testing.T) {
		creds := filepath.Join(t.TempDir(), "proxy-credentials")
		if err := os.WriteFile(creds, []byte("# the outbound proxy\nbob:bob-pw\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		user, pass, err := proxyauth.ReadCredentialsFile(creds)
		if err != nil {
			t.Fatal(err)
		}
		// No ticket at all: the Basic credentials are sent with the
		// first CONNECT, so no Negotiate round is needed.
		c := r.connectorWith(t, proxy, proxyauth.Config{Getenv: envOf(map[string]string{"KRB5CCNAME": "KCM:"})}, func(ob *connector.OutboundProxy) *connector.OutboundProxy {
			ob, err := ob.WithCredentials(user, pass)
			if err != nil {
				t.Fatal(err)
			}
			return ob
		})
		conn, err := c.Dial(t.Context())
		if err != nil {
			t.Fatalf("Dial with Basic credentials from a file: %v", err)
		}
		defer conn.Close()
		if err := echoRoundTrip(conn, []byte("signed on with basic\n")); err != nil {
			t.Fatal(err)
		}
	})
	// Last, as it breaks the proxy for any later case: the proxy's
	// keytab no longer has the key the KDC issues tickets with.
	t.Run("stale proxy keytab", func(t *testing.T) {
		r.kdc.Rekey(t, r.out.SPN)
		c := r.connector(t, proxy, proxyauth.Config{Getenv: envOf(map[string]string{"KRB5CCNAME": r.ccache, "KRB5_CONFIG": r.kdc.Krb5Conf})})
		conn, err := c.Dial(t.Context())
		if err == nil {
			conn.Close()
			t.Fatal("Dial succeeded with a ticket the proxy cannot read")
		}
		se := wantStep(t, err, connector.StepOutbound)
		if want := "outbound proxy proxy.corp.test:" + r.port + `: 407 Negotiate sign-on: the proxy refused the login of "alice@CORP.TEST"`; !strings.Contains(err.Error(), want) {
			t.Fatalf("Dial: %v\nwant %q", err, want)
		}
		t.Logf("as expected: %v (hint: %s)", err, se.Hint())
	})
	r.out.Stop() // flushes its access log
	log := r.out.AccessLog()
	for _, user := range []string{"alice@CORP.TEST", "bob"} {
		if !strings.Contains(log, " "+user+" ") {
			t.Errorf("the outbound Squid's access log has no CONNECT by %s:\n%s", user, log)
		}
	}
	if !regexp.MustCompile(`CONNECT portal\.test:\d+ alice@CORP\.TEST `).MatchString(log) {
		t.Errorf("the outbound Squid's access log has no CONNECT to the portal by alice@CORP.TEST (the fetch's sign-on):\n%s", log)
	}
	if strings.Contains(log, r.tok) {
		t.Errorf("the outbound Squid logged the session token")
	}
}

// dirCollection copies alice's ticket into a DIR: collection (what
// sssd and systemd setups make) and returns its name.
func (r *negotiateRealm) dirCollection(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	r.kdc.Kinit(t, "alice", "alice-domain-pw", "DIR::"+filepath.Join(dir, "tktalice"))
	if err := writePrimary(dir, "tktalice"); err != nil {
		t.Fatal(err)
	}
	return "DIR:" + dir
}

func writePrimary(dir, name string) error {
	return os.WriteFile(filepath.Join(dir, "primary"), []byte(name+"\n"), 0o600)
}

// BenchmarkOutboundSignOn measures a tunnel's setup (TCP to the outbound
// proxy, CONNECT, TLS and the CONNECT with the session token to the
// security Squid) through an outbound Squid, side by side: with no
// authentication, with Basic credentials (sent with the first CONNECT),
// and with the Negotiate sign-on (a 407 round, a TGS exchange with the
// KDC for HTTP/proxy.corp.test, and negotiate_kerberos_auth's check).
// All peers are real and on the namespace's loopback.
func BenchmarkOutboundSignOn(b *testing.B) {
	if !peers.InNamespace(b, peers.NamespaceOptions{Hosts: negotiateHosts}) {
		return
	}
	r := startNegotiateRealm(b, true)
	plain := peers.StartOutboundSquid(b, peers.OutboundSquidOptions{Hosts: []string{"127.0.0.1 secproxy.test"}})
	_, plainPort, _ := net.SplitHostPort(plain.Addr)
	auth := proxyauth.Config{Getenv: envOf(map[string]string{"KRB5CCNAME": r.ccache, "KRB5_CONFIG": r.kdc.Krb5Conf})}
	for _, bc := range []struct{ name, url string }{
		{"none", "http://proxy.corp.test:" + plainPort},
		{"basic", "http://bob:bob-pw@proxy.corp.test:" + r.port},
		{"negotiate", "http://proxy.corp.test:" + r.port},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := r.connector(b, bc.url, auth)
			for b.Loop() {
				conn, err := c.Dial(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				conn.Close()
			}
		})
	}
	// The client's share of the Negotiate setup: reading the credential
	// cache and the TGS exchange that gets the ticket for the proxy.
	b.Run("negotiate-token", func(b *testing.B) {
		for b.Loop() {
			n, err := proxyauth.NewNegotiate("proxy.corp.test", auth)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := n.Next(nil); err != nil {
				b.Fatal(err)
			}
			n.Close()
		}
	})
}
