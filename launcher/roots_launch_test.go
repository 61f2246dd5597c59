//go:build unix

package launcher

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/phase"
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
