//go:build unix

package launcher

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/internal/phase"
	"github.com/trustlaunch/trustlaunch/internal/testnet"
	"github.com/trustlaunch/trustlaunch/policy"
)

// TestProxyTrustsMachineRoots: a descriptor that names no ca_pem has its
// proxy verified with the roots the portal was verified with, which are
// this machine's plus the admin CA bundle (descriptor.FetchOptions.Roots,
// whose bundle is tested in descriptor/). Here the test's "machine roots"
// (Fetch.RootCAs) hold the proxy's private CA: the launch goes through.
// Without it the same launch stops at the proxy's TLS step. The proxy was
// once verified with the system roots alone, so an administrator's CA
// served the portal and never the proxy.
func TestProxyTrustsMachineRoots(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		w := newWorld(t, "connect")
		proxy := w.descriptor["proxy"].(map[string]any)
		delete(proxy, "ca_pem")
		opts, _ := w.options(t, "fake", strings.NewReader(""), &syncBuffer{})
		if trusted {
			pool := opts.Fetch.RootCAs.Clone()
			if !pool.AppendCertsFromPEM(w.proxy.CA.CertPEM()) {
				t.Fatal("the proxy's CA does not parse")
			}
			opts.Fetch.RootCAs = pool
		}
		res := Launch(t.Context(), opts)
		if trusted {
			if res.Err != nil || res.Step != StepLaunched || res.ExitStatus != 7 {
				t.Errorf("with the proxy's CA among the machine's roots: %+v", res)
			}
			continue
		}
		var ua x509.UnknownAuthorityError
		if res.Phase != phase.Proxy || res.Step != string(connector.StepTLS) || !errors.As(res.Err, &ua) {
			t.Errorf("without it: phase %s step %s err %v, want the proxy's TLS step and an unknown authority", res.Phase, res.Step, res.Err)
		}
	}
}

// TestEndToEndHostTrustsMachineRoots: with end-to-end TLS, the host is
// verified, inside the tunnel, with the machine's roots plus the admin CA
// bundle, as the proxy is; the admin policy's ca_pem for that destination
// replaces them (docs/admin.md, "The admin CA bundle"). The host here has a
// private CA: trusted through the machine's roots, it launches and the
// emulator talks to it in plain text; untrusted, the launch stops at the
// tls step; a policy naming another CA refuses it even though the
// machine's roots hold the right one, and a policy naming the right CA
// admits it without them.
func TestEndToEndHostTrustsMachineRoots(t *testing.T) {
	hostCA := proxytest.NewCA("the host's private CA")
	other := proxytest.NewCA("not the host's CA")
	for _, tc := range []struct {
		name     string
		machine  bool   // the machine's roots hold hostCA
		policyCA []byte // the policy's ca_pem for the destination; nil: no policy
		launched bool
	}{
		{"machine roots", true, nil, true},
		{"untrusted", false, nil, false},
		{"policy ca_pem replaces the machine's", true, other.CertPEM(), false},
		{"policy ca_pem", false, hostCA.CertPEM(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := startTLSHost(t, hostCA)
			w := newWorld(t, "connect")
			hh, hp, _ := net.SplitHostPort(host)
			port, _ := strconv.Atoi(hp)
			w.set("destination", map[string]any{"host": hh, "port": port, "tls": true})
			var out syncBuffer
			opts, _ := w.options(t, "fake", strings.NewReader(""), &out)
			if tc.machine {
				pool := opts.Fetch.RootCAs.Clone()
				pool.AddCert(hostCA.Cert)
				opts.Fetch.RootCAs = pool
			}
			if tc.policyCA != nil {
				opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, fmt.Sprintf("[[destinations]]\naddress = %q\ntls = true\nca_pem = '''%s'''\n", host, tc.policyCA))}
			}
			res := Launch(t.Context(), opts)
			if tc.launched {
				if res.Err != nil || res.Step != StepLaunched || res.ExitStatus != 7 || !strings.Contains(out.String(), `reply="PING\n"`) {
					t.Errorf("want a launch that reached the host: %+v; emulator: %s", res, out.String())
				}
				return
			}
			var ua x509.UnknownAuthorityError
			if res.Phase != phase.Proxy || res.Step != string(connector.StepTLS) || !errors.As(res.Err, &ua) {
				t.Errorf("phase %s step %s err %v, want the tls step and an unknown authority", res.Phase, res.Step, res.Err)
			}
			// The hint names both places the host's CA can go.
			var se *connector.StepError
			if !errors.As(res.Err, &se) {
				t.Errorf("%v is not a *connector.StepError", res.Err)
			} else if h := se.Hint(); !strings.Contains(h, "admin CA bundle") || !strings.Contains(h, "admin policy") || strings.Contains(h, "proxy's") {
				t.Errorf("hint %q; want the destination's, naming the admin CA bundle and the admin policy", h)
			}
			if out.String() != "" {
				t.Errorf("an emulator ran: %s", out.String())
			}
		})
	}
}

// startTLSHost is startHost behind TLS, with a certificate for 127.0.0.1
// that ca issued.
func startTLSHost(t testing.TB, ca *proxytest.CA) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Issue("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	testnet.ServeEach(t, ln, hostSession)
	return ln.Addr().String()
}
