//go:build linux

package peers

import (
	"os"
	"path/filepath"
	"testing"
)

// NegotiateSquidOptions configures StartNegotiateSquid.
type NegotiateSquidOptions struct {
	// Hosts are lines of the Squid's hosts_file, as in
	// OutboundSquidOptions.
	Hosts []string
	// KDC is the realm the proxy belongs to.
	KDC *KDC
	// Host is the proxy's name as its users reach it: its service
	// principal is HTTP/Host@Realm, which StartNegotiateSquid adds to
	// the KDC (proxy.corp.test when empty).
	Host string
	// BasicUser and BasicPassword, when BasicUser is set, make the Squid
	// offer Basic authentication beside Negotiate, as a proxy that also
	// serves machines outside the domain does.
	BasicUser, BasicPassword string
	// CloseAfterChallenge makes the Squid close the connection after its
	// first 407 (auth_param negotiate keep_alive off), as some proxies
	// and load balancers do: the client must answer on a new one.
	CloseAfterChallenge bool
}

// NegotiateSquid is an OutboundSquid that signs users on with Kerberos:
// Squid's negotiate_kerberos_auth helper (MIT GSSAPI) checks the SPNEGO
// token of Proxy-Authorization: Negotiate against the keytab of
// HTTP/Host@Realm, as a domain's proxy does with its Active Directory
// keytab.
type NegotiateSquid struct {
	*OutboundSquid
	SPN string // HTTP/Host
}

// StartNegotiateSquid adds the proxy's service principal to opts.KDC,
// starts the Squid with its keytab and returns once it accepts
// connections. A CONNECT without a valid Negotiate (or, with BasicUser,
// Basic) credential gets 407.
func StartNegotiateSquid(t testing.TB, opts NegotiateSquidOptions) *NegotiateSquid {
	t.Helper()
	helper := RequireBinary(t, "/usr/lib/squid/negotiate_kerberos_auth")
	env := RequireBinary(t, "env")
	host := opts.Host
	if host == "" {
		host = "proxy.corp.test"
	}
	spn := "HTTP/" + host
	kt := opts.KDC.AddService(t, spn)
	// The helper runs as Squid's user: its keytab, krb5.conf and replay
	// cache go in a directory of their own that Squid's user owns.
	dir := t.TempDir()
	for _, f := range []struct{ from, to string }{{kt, "proxy.keytab"}, {opts.KDC.Krb5Conf, "krb5.conf"}} {
		b, err := os.ReadFile(f.from)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f.to), b, 0o600)
	}
	if err := os.Mkdir(filepath.Join(dir, "rcache"), 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := giveTo(dir, squidUser); err != nil {
			t.Fatalf("squid: %v", err)
		}
	}
	extra := []string{
		"auth_param negotiate program " + env + " KRB5_CONFIG=" + filepath.Join(dir, "krb5.conf") + " " + helper +
			" -k " + filepath.Join(dir, "proxy.keytab") + " -s " + spn + "@" + opts.KDC.Realm + " -c " + filepath.Join(dir, "rcache"),
		"auth_param negotiate children 4 startup=1 idle=1",
		"auth_param negotiate keep_alive " + map[bool]string{false: "on", true: "off"}[opts.CloseAfterChallenge],
	}
	if opts.BasicUser == "" {
		// With Basic, StartOutboundSquid's own rule requires a
		// credential of either scheme.
		extra = append(extra, "acl negotiated proxy_auth REQUIRED", "http_access deny !negotiated")
	}
	out := StartOutboundSquid(t, OutboundSquidOptions{Hosts: opts.Hosts, User: opts.BasicUser, Password: opts.BasicPassword, ExtraConfig: extra})
	return &NegotiateSquid{OutboundSquid: out, SPN: spn}
}
