//go:build unix

package launcher

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/phase"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/policy"
)

// mustPolicy parses a policy file's text (package policy's own tests check
// the parser).
func mustPolicy(t testing.TB, text string) *policy.Policy {
	t.Helper()
	p, probs := policy.Parse("policy.toml", []byte(text))
	if len(probs) > 0 {
		t.Fatalf("policy problems: %v", probs)
	}
	return p
}

// publisherTOML is a [[publishers]] table for the key.
func publisherTOML(t testing.TB, name string, key crypto.Signer, origins ...string) string {
	t.Helper()
	pub, err := descriptor.MarshalPublicKeyPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprintf("[[publishers]]\nname = %q\nkey = \"\"\"\n%s\"\"\"\n", name, pub)
	if len(origins) > 0 {
		s += fmt.Sprintf("origins = [%q]\n", strings.Join(origins, `", "`))
	}
	return s
}

// countingListener counts the connections a test proxy accepts, so a test
// can show that a refused launch never reached the proxy at all.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestLaunchPolicyRefused checks the policy step of a launch: a listed
// origin whose descriptor names a proxy or destination the policy does not
// list is refused at policy.Step with a message naming the field, the value
// and the file, and the proxy never sees a connection, let alone the token.
func TestLaunchPolicyRefused(t *testing.T) {
	tests := []struct {
		name   string
		policy func(w *world) string
		edit   func(w *world)
		step   string
		errHas []string
	}{
		{"unlisted proxy", func(w *world) string {
			return "[[proxies]]\naddress = \"proxy.example.com:8443\"\n"
		}, nil, policy.Step, []string{"proxy.address", "is not a proxy the policy lists", "policy.toml"}},
		{"unlisted destination", func(w *world) string {
			return fmt.Sprintf("[[proxies]]\naddress = %q\n[[destinations]]\naddress = \"mainframe.example.com:23\"\n", w.proxy.Addr)
		}, nil, policy.Step, []string{"destination", "is not a destination the policy lists"}},
		{"destination without required tls", func(w *world) string {
			d := w.descriptor["destination"].(map[string]any)
			return fmt.Sprintf("[[destinations]]\naddress = \"%s:%d\"\ntls = true\n", d["host"], d["port"])
		}, nil, policy.Step, []string{"destination.tls", "requires end-to-end TLS"}},
		{"unsigned under require_signed", func(w *world) string {
			key, _ := descriptor.GenerateKey("")
			return "require_signed = true\n" + publisherTOML(t, "p", key)
		}, nil, policy.Step, []string{"not signed", "require_signed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "connect")
			opts, audit := w.options(t, "fake", strings.NewReader(""), io.Discard)
			opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, tt.policy(w))}
			res := Launch(t.Context(), opts)
			if res.Step != tt.step || res.Err == nil {
				t.Fatalf("step %s err %v; want %s", res.Step, res.Err, tt.step)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(res.Err.Error(), s) {
					t.Errorf("error %q lacks %q", res.Err, s)
				}
			}
			if n := w.accepts.n.Load(); n != 0 {
				t.Errorf("the proxy accepted %d connections", n)
			}
			if n := len(w.proxy.Tokens()); n != 0 {
				t.Errorf("the proxy received %d tokens", n)
			}
			recs, _ := audit.ReadRecent(1)
			// A refusal by the admin policy, as the exit code (3) says:
			// the record's decision and the result's outcome agree.
			if len(recs) != 1 || recs[0].Step != policy.Step || recs[0].Decision != "refused-policy" || res.Outcome != "refused-policy" {
				t.Errorf("outcome %s, audit %+v; want refused-policy", res.Outcome, recs)
			}
			assertNoSecrets(t, audit.Path())
		})
	}
	t.Run("unusable policy stops before the decision", func(t *testing.T) {
		w := newWorld(t, "connect")
		opts, _ := w.options(t, "fake", strings.NewReader(""), io.Discard)
		opts.Policy = policy.Load(filepath.Join(testtmp.Dir(t), "policy.toml"))
		os.WriteFile(opts.Policy.Path, nil, 0o644)
		opts.Policy = policy.Load(opts.Policy.Path)
		res := Launch(t.Context(), opts)
		if res.Step != policy.Step || res.Err == nil || !res.Decision.Origin.IsZero() || res.Outcome != "refused-policy" {
			t.Fatalf("step %s err %v outcome %s decision %+v", res.Step, res.Err, res.Outcome, res.Decision)
		}
		if n := w.accepts.n.Load(); n != 0 {
			t.Errorf("the proxy accepted %d connections", n)
		}
	})
}

// TestLaunchPolicyPins checks the admin's pins on a listed proxy: the
// proxy's real key passes (with the descriptor's own pins holding too), a
// pin of another key stops the launch at the TLS step, after the handshake
// and before the token, and a descriptor pin that disagrees with the
// admin's does too.
func TestLaunchPolicyPins(t *testing.T) {
	w := newWorld(t, "connect")
	right := connector.SPKIPin(w.proxy.Certificate())
	wrong := connector.SPKIPin(proxytest.NewCA("other").Issue("127.0.0.1").Leaf)
	run := func(t *testing.T, policyPin string, descPins []string) *Result {
		w.mu.Lock()
		w.descriptor["proxy"].(map[string]any)["pins"] = descPins
		w.mu.Unlock()
		opts, _ := w.options(t, "fake", strings.NewReader(""), io.Discard)
		opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, fmt.Sprintf("[[proxies]]\naddress = %q\npins = [%q]\n", w.proxy.Addr, policyPin))}
		return Launch(t.Context(), opts)
	}
	if res := run(t, right, []string{right}); res.Err != nil || res.Step != StepLaunched {
		t.Fatalf("right pin: %s %v", res.Step, res.Err)
	}
	tokens := len(w.proxy.Tokens())
	res := run(t, wrong, nil)
	var pe *connector.PinError
	if res.Step != string(connector.StepTLS) || !errors.As(res.Err, &pe) {
		t.Fatalf("wrong admin pin: %s %v", res.Step, res.Err)
	}
	res = run(t, right, []string{wrong})
	if res.Step != string(connector.StepTLS) || !errors.As(res.Err, &pe) {
		t.Fatalf("descriptor pin of another key under the admin's: %s %v", res.Step, res.Err)
	}
	if n := len(w.proxy.Tokens()); n != tokens {
		t.Errorf("the proxy received %d more tokens", n-tokens)
	}
}

// TestLaunchSigned runs a signed descriptor through a whole launch: the
// origin serves application/jose, the policy pins the publisher, and the
// status line and the audit log name the publisher. A descriptor signed by
// a key the policy does not name is refused before any connection.
func TestLaunchSigned(t *testing.T) {
	key, _ := descriptor.GenerateKey("EdDSA")
	other, _ := descriptor.GenerateKey("EdDSA")
	for _, tt := range []struct {
		name   string
		signer crypto.Signer
		step   string
	}{{"pinned publisher", key, StepLaunched}, {"unknown publisher", other, descriptor.StepSignature}} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "connect")
			w.sign = func(body []byte) []byte {
				out, err := descriptor.Sign(body, tt.signer, time.Now(), time.Minute)
				if err != nil {
					panic(err)
				}
				return out
			}
			opts, audit := w.options(t, "fake", strings.NewReader(""), io.Discard)
			polText := fmt.Sprintf("require_signed = true\n[[proxies]]\naddress = %q\n", w.proxy.Addr) + publisherTOML(t, "trustlaunch test portal", key, "127.0.0.1")
			opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, polText)}
			var details []string
			opts.Status = func(e Event) {
				if e.State == phase.Done {
					details = append(details, string(e.Phase)+": "+e.Detail)
				}
			}
			res := Launch(t.Context(), opts)
			if res.Step != tt.step {
				t.Fatalf("step %s err %v, want %s", res.Step, res.Err, tt.step)
			}
			recs, _ := audit.ReadRecent(1)
			if tt.step != StepLaunched {
				if n := w.accepts.n.Load(); n != 0 {
					t.Errorf("the proxy accepted %d connections", n)
				}
				if len(recs) != 1 || recs[0].Publisher != "" {
					t.Errorf("audit %+v", recs)
				}
				return
			}
			if !strings.Contains(strings.Join(details, "\n"), "signed by trustlaunch test portal") {
				t.Errorf("status %q", details)
			}
			if len(recs) != 1 || recs[0].Publisher != "trustlaunch test portal" {
				t.Errorf("audit %+v", recs)
			}
			assertNoSecrets(t, audit.Path())
		})
	}
}

// askedScript is a PAC script (connector.ProxyScript) that sends every
// connection direct and records the targets it was asked about.
type askedScript struct {
	mu    sync.Mutex
	asked []string
}

func (s *askedScript) FindProxy(_ context.Context, host, port string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, net.JoinHostPort(host, port))
	return "DIRECT", nil
}

func (s *askedScript) String() string { return "PAC http://wpad.test/wpad.dat" }

func (s *askedScript) targets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}

// TestLaunchPolicyWithPAC: a PAC script chooses only the outbound proxy.
// The admin policy's proxy list is checked on the descriptor before any
// connection to a security proxy, so a descriptor naming a proxy the
// policy does not list is refused with a PAC as without one, and the
// script is never even asked about that proxy. With a listed proxy, the
// launch goes the way the script says and the audit record names it.
func TestLaunchPolicyWithPAC(t *testing.T) {
	t.Run("unlisted proxy", func(t *testing.T) {
		w := newWorld(t, "connect")
		opts, _ := w.options(t, "fake", strings.NewReader(""), io.Discard)
		script := &askedScript{}
		opts.Outbound = connector.NewOutboundScript("--outbound-proxy", script)
		opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, "[[proxies]]\naddress = \"proxy.example.com:8443\"\n")}
		res := Launch(t.Context(), opts)
		if res.Step != policy.Step || res.Outcome != "refused-policy" {
			t.Fatalf("step %s outcome %s err %v; want refused by the policy", res.Step, res.Outcome, res.Err)
		}
		if n := w.accepts.n.Load(); n != 0 {
			t.Errorf("the proxy accepted %d connections", n)
		}
		for _, a := range script.targets() {
			if a == w.proxy.Addr {
				t.Errorf("the PAC script was asked about the refused proxy %s", a)
			}
		}
	})
	t.Run("listed proxy", func(t *testing.T) {
		w := newWorld(t, "connect")
		opts, audit := w.options(t, "fake", strings.NewReader(""), io.Discard)
		script := &askedScript{}
		opts.Outbound = connector.NewOutboundScript("--outbound-proxy", script)
		opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, fmt.Sprintf("[[proxies]]\naddress = %q\n", w.proxy.Addr))}
		res := Launch(t.Context(), opts)
		if res.Err != nil {
			t.Fatalf("launch: %v", res.Err)
		}
		if got := script.targets(); !slices.Contains(got, w.proxy.Addr) {
			t.Errorf("the script was asked about %v, not the proxy %s", got, w.proxy.Addr)
		}
		recs, _ := audit.ReadRecent(1)
		if len(recs) != 1 || recs[0].Outbound != "DIRECT (chosen by PAC http://wpad.test/wpad.dat)" {
			t.Errorf("audit outbound %+v", recs)
		}
	})
}
