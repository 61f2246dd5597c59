package descriptor

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/redact/redacttest"
	"github.com/trustlaunch/trustlaunch/internal/testnet"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// byName points the fetch at the origin's server under the name host,
// which no resolver of this test knows (only an outbound proxy does), and
// returns the server's port.
func (o *origin) byName(t *testing.T, host string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(o.srv.Listener.Addr().String())
	u := "https://" + host + ":" + port + "/d/1?ticket=" + ticket
	org, err := whitelist.ParseOrigin(u)
	if err != nil {
		t.Fatal(err)
	}
	o.opts.URL, o.opts.Origin = u, org
	o.opts.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in this test")
	}}
	return port
}

// TestFetchThroughOutboundProxy: the descriptor fetch takes the outbound
// proxy of FetchOptions.Outbound, the setting the tunnel gets too. The
// portal's name resolves only at the outbound proxy, so a direct fetch
// would fail at DNS.
func TestFetchThroughOutboundProxy(t *testing.T) {
	o := newOrigin(t, serveJSON(encode(t, goodDescriptor())))
	port := o.byName(t, "example.com")
	fw := testnet.NewConnectForwarder(t, map[string]string{"example.com": "127.0.0.1"})
	ob, err := connector.NewOutboundProxy(connector.SourceFlag, "http://"+fw.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	o.opts.Outbound = ob
	if _, err := Fetch(t.Context(), o.opts); err != nil {
		t.Fatalf("fetch through the outbound proxy: %v", err)
	}
	if len(fw.Targets()) != 1 || fw.Targets()[0] != "example.com:"+port {
		t.Errorf("the outbound proxy got CONNECT %q, want example.com:%s", fw.Targets(), port)
	}
	// The CONNECT names trustlaunch, as the tunnel's CONNECT does.
	if len(fw.Agents()) != 1 || fw.Agents()[0] != o.opts.UserAgent {
		t.Errorf("the outbound proxy got a CONNECT with User-Agent %q, want %q", fw.Agents(), o.opts.UserAgent)
	}

	// Direct ("none"): the name does not resolve.
	o.opts.Outbound = connector.DirectOutbound(connector.SourceFlag)
	if _, err := Fetch(t.Context(), o.opts); err == nil {
		t.Errorf("a direct fetch of a name only the outbound proxy knows succeeded")
	}
}

// TestFetchMalformedHTTPSProxy: without an explicit setting the fetch reads
// HTTPS_PROXY; a malformed one is one line naming it, without the password,
// and nothing is fetched.
func TestFetchMalformedHTTPSProxy(t *testing.T) {
	o := newOrigin(t, serveJSON(encode(t, goodDescriptor())))
	t.Setenv("HTTPS_PROXY", "http://alice:hunter2@proxy.corp:notaport")
	_, err := Fetch(t.Context(), o.opts)
	if err == nil || !strings.Contains(err.Error(), "outbound proxy setting: HTTPS_PROXY:") || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line naming HTTPS_PROXY without the password", err)
	}
	if o.hits.Load() != 0 {
		t.Errorf("the portal was asked %d times", o.hits.Load())
	}
}

// TestFetchOutboundProxyUnreachable: an outbound proxy that cannot be
// reached is named as the tunnel names it, "outbound proxy HOST:PORT:
// connect: ...", with the setting to check in the hint, not net/http's
// "proxyconnect tcp: dial tcp ...". A name of the outbound proxy that does
// not resolve says so. The credentials of the proxy URL are in neither.
func TestFetchOutboundProxyUnreachable(t *testing.T) {
	o := newOrigin(t, serveJSON(encode(t, goodDescriptor())))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()                 // nothing listens there now
	o.byName(t, "example.com") // not a loopback name: Go never proxies those
	for _, tc := range []struct{ proxy, want string }{
		{"http://alice:hunter2@" + closed, "outbound proxy " + closed + ": connect: connection refused"},
		{"http://alice:hunter2@proxy.invalid:3128", "outbound proxy proxy.invalid:3128: dns lookup of proxy.invalid: "},
	} {
		ob, err := connector.NewOutboundProxy(connector.SourceFlag, tc.proxy, "")
		if err != nil {
			t.Fatal(err)
		}
		o.opts.Outbound = ob
		_, err = Fetch(t.Context(), o.opts)
		var fe *FetchError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: error %v (%T), want a *FetchError", tc.proxy, err, err)
		}
		msg, hint := err.Error(), fe.Hint()
		// Lower case: Windows says "Connection refused.".
		if !strings.Contains(strings.ToLower(msg), tc.want) || strings.Contains(msg, "proxyconnect") {
			t.Errorf("%s: error %q, want it to contain %q", tc.proxy, msg, tc.want)
		}
		if !strings.Contains(hint, "outbound proxy setting (--outbound-proxy)") {
			t.Errorf("%s: hint %q, want it to name the setting", tc.proxy, hint)
		}
		if strings.Contains(msg+hint, "hunter2") {
			t.Errorf("%s: the password is in %q / %q", tc.proxy, msg, hint)
		}
	}
	if o.hits.Load() != 0 {
		t.Errorf("the portal was asked %d times", o.hits.Load())
	}
}

// TestFetchOutboundRefusalHoldsNoCredentials: an outbound proxy that
// refuses the fetch's CONNECT with a reason echoing its credentials in
// another case (the password, the Basic credential) is named by the status
// code and its standard phrase; neither the error nor the run's registry
// lets a spelling of them through.
func TestFetchOutboundRefusalHoldsNoCredentials(t *testing.T) {
	const user, pass = "alice", "Corp-Pr0xy/Pa55w0rd!Spring"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	for _, tc := range []struct{ answer, want string }{
		{"HTTP/1.1 403 denied " + strings.ToLower(user+":"+pass) + "\r\n\r\n", "(403 Forbidden)"},
		{"HTTP/1.1 502 bad credential " + strings.ToLower(basic) + "\r\n\r\n", "(502 Bad Gateway)"},
		{"HTTP/1.1 407 " + strings.ToUpper(pass) + "\r\n\r\n", "407 authentication required: the user name or password was refused"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		testnet.ServeEach(t, ln, func(c net.Conn) {
			defer c.Close()
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				io.WriteString(c, tc.answer)
			}
		})
		o := newOrigin(t, serveJSON(encode(t, goodDescriptor())))
		o.byName(t, "example.com")
		ob, err := connector.NewOutboundProxy(connector.SourceFlag, "http://alice:Corp-Pr0xy%2FPa55w0rd%21Spring@"+ln.Addr().String(), "")
		if err != nil {
			t.Fatal(err)
		}
		o.opts.Outbound = ob
		_, err = Fetch(t.Context(), o.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("fetch through a refusing outbound proxy: %v; want %q in it", err, tc.want)
		}
		for _, secret := range []string{pass, user + ":" + pass} {
			if run, ok := redacttest.Leak(err.Error(), secret); ok {
				t.Errorf("error %q shows the run %q of a spelling of %q", err, run, secret)
			}
		}
	}
}
