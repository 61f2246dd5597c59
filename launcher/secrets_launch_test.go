//go:build unix

package launcher

import (
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/redact"
)

// TestLaunchProxyRefusalKeepsTokenOut: a security proxy whose 403 reason
// carries the session token's base64 gets the launch's error and audit
// record to show the status code and its standard phrase, and no spelling
// of the token.
func TestLaunchProxyRefusalKeepsTokenOut(t *testing.T) {
	w := newWorld(t, "connect")
	w.proxy.Status = 403
	w.proxy.StatusText = "denied " + base64.StdEncoding.EncodeToString([]byte("tok="+launchToken))
	opts, audit := w.options(t, "fake", strings.NewReader(""), nil)
	res := Launch(t.Context(), opts)
	if res.Err == nil || res.Step != string(connector.StepProxyPolicy) || !strings.Contains(res.Err.Error(), "(403 Forbidden)") {
		t.Fatalf("Launch = %+v, want a refusal at %s naming 403 Forbidden", res, connector.StepProxyPolicy)
	}
	checkNoSpelling(t, "the launch's error", res.Err.Error(), launchToken)
	data, err := os.ReadFile(audit.Path())
	if err != nil {
		t.Fatal(err)
	}
	checkNoSpelling(t, "the audit log", string(data), launchToken)
	assertNoSecrets(t, audit.Path())
}

// TestLaunchRegistersSecrets: the registry a caller gives Launch holds,
// once the launch has run, the descriptor URL's ticket and the session token,
// so that what the caller prints is scrubbed of them too.
func TestLaunchRegistersSecrets(t *testing.T) {
	w := newWorld(t, "connect")
	w.proxy.Status = 403 // the launch ends at the proxy, after the descriptor
	opts, _ := w.options(t, "fake", strings.NewReader(""), nil)
	opts.Secrets = &redact.Set{}
	res := Launch(t.Context(), opts)
	var se *connector.StepError
	if !errors.As(res.Err, &se) {
		t.Fatalf("Launch = %+v, want a proxy refusal", res)
	}
	for _, secret := range []string{launchToken, "tkt-secret-0c4f"} {
		if got := opts.Secrets.Scrub("x " + secret + " y"); got != "x [redacted] y" {
			t.Errorf("after Launch the caller's registry scrubs %q to %q", secret, got)
		}
	}
}
