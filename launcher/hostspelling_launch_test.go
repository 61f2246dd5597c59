//go:build unix

package launcher

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/policy"
)

// TestLaunchConnectsToDecidedHost: a descriptor naming "LOCALHOST." gets
// past a policy that lists localhost, and the proxy is asked for exactly
// "localhost:PORT", the host the policy decided on.
func TestLaunchConnectsToDecidedHost(t *testing.T) {
	w := newWorld(t, "connect")
	port := w.descriptor["destination"].(map[string]any)["port"]
	w.descriptor["destination"].(map[string]any)["host"] = "LOCALHOST."
	opts, _ := w.options(t, "fake", strings.NewReader(""), io.Discard)
	opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, fmt.Sprintf("[[destinations]]\naddress = \"localhost:%v\"\n", port))}
	Launch(t.Context(), opts)
	targets := w.proxy.Targets()
	if len(targets) == 0 {
		t.Fatal("the proxy got no CONNECT")
	}
	for _, got := range targets {
		if want := fmt.Sprintf("localhost:%v", port); got != want {
			t.Errorf("the proxy was asked for %q; the policy decided on %q", got, want)
		}
	}
}
