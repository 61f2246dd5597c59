package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
)

// TestConnectTLSDefaults: without --tls-min and --tls-max, connect asks
// the connector for the TLS versions a descriptor without tls_min and
// tls_max gets, and its help shows them as the defaults.
func TestConnectTLSDefaults(t *testing.T) {
	var out, errOut bytes.Buffer
	s := &stdio{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	fs, o := newConnectFlagSet(s)
	if err := fs.Parse([]string{"--proxy", "proxy.example.com:8443", "--transport", "connect", "--to", "host.example.com:23"}); err != nil {
		t.Fatal(err)
	}
	cfg, code, ok := o.config(t.Context(), s)
	if !ok {
		t.Fatalf("config: exit %d: %s", code, errOut.String())
	}
	wantMin, wantMax, err := connector.TLSVersions(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSMin != wantMin || cfg.TLSMax != wantMax {
		t.Errorf("connect's TLS versions %s-%s, the connector's defaults %s-%s", connector.FormatTLSVersion(cfg.TLSMin), connector.FormatTLSVersion(cfg.TLSMax), connector.FormatTLSVersion(wantMin), connector.FormatTLSVersion(wantMax))
	}

	if code := run(t.Context(), []string{"connect", "--help"}, s); code != exitOK {
		t.Fatalf("connect --help = %d: %s", code, errOut.String())
	}
	// A flag's meaning and default may wrap onto the next line.
	help := strings.Join(strings.Fields(out.String()), " ")
	for flag, v := range map[string]uint16{"tls-min": wantMin, "tls-max": wantMax} {
		m := regexp.MustCompile(`--` + flag + ` [A-Z]+ [^(]*\(default ([^)]*)\)`).FindStringSubmatch(help)
		if m == nil || m[1] != connector.FormatTLSVersion(v) {
			t.Errorf("connect --help: --%s shows the default %v, want %s; the help:\n%s", flag, m, connector.FormatTLSVersion(v), out.String())
		}
	}
}
