package descriptor

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// TestSharedRules: the token, pin, WebSocket path and TLS version rules are
// the connector's, and the descriptor only adds its field name (and the
// value, where it may be shown): for each input the descriptor's error is
// "descriptor: FIELD: " and the connector's, and a value one accepts the
// other accepts.
func TestSharedRules(t *testing.T) {
	type rule struct {
		field string
		quote bool                      // the descriptor shows the value before the rule's error
		check func(string) error        // the connector's rule
		set   func(map[string]any, any) // puts the value in the descriptor
	}
	token := rule{"token", false, connector.CheckToken, func(m map[string]any, v any) { m["token"] = v }}
	pin := rule{"proxy.pins[0]", true, func(s string) error { _, err := connector.ParsePin(s); return err },
		func(m map[string]any, v any) { proxyOf(m)["pins"] = []any{v} }}
	path := rule{"proxy.path", true, connector.CheckPath, func(m map[string]any, v any) {
		proxyOf(m)["transport"] = "websocket"
		proxyOf(m)["path"] = v
	}}
	tlsMax := rule{"proxy.tls_max", false, func(s string) error { _, err := connector.ParseTLSVersion(s); return err },
		func(m map[string]any, v any) { proxyOf(m)["tls_max"] = v }}
	for _, tc := range []struct {
		rule  rule
		value string
	}{
		{token, "a"},
		{token, strings.Repeat("T", connector.MaxTokenBytes)},
		{token, strings.Repeat("T", connector.MaxTokenBytes+1)},
		{token, "TOKEN SECRET"},
		{token, "TOKEN\x7f"},
		{pin, testPin},
		{pin, "Vj7eiZSAl7ORB3lLVXoVEIEpVuam/bQog/HDsEW5/fY="},
		{pin, "sha1/abc"},
		{pin, "sha256/AAAA"},
		{pin, "sha256/!!!"},
		{path, "/websockify"},
		{path, "/"},
		{path, "ws"},
		{path, "/a b"},
		{path, "/a?token=x"},
		{path, "/%41"},
		{path, `/a\b`},
		{path, "/é"},
		{tlsMax, "1.2"},
		{tlsMax, "1.3"},
		{tlsMax, "1.1"},
		{tlsMax, "1.4"},
		{tlsMax, "TLS1.3"},
	} {
		r := tc.rule
		name := r.field + " " + safetext.QuoteExcerpt(tc.value, 40)
		_, err := Decode(with(t, func(m map[string]any) { r.set(m, tc.value) }))
		ruleErr := r.check(tc.value)
		if ruleErr == nil {
			if err != nil {
				t.Errorf("%s: the connector's rule accepts it, the descriptor refuses it: %v", name, err)
			}
			continue
		}
		want := "descriptor: " + r.field + ": " + ruleErr.Error()
		if r.quote {
			want = "descriptor: " + r.field + ": " + safetext.QuoteExcerpt(tc.value, 120) + " " + ruleErr.Error()
		}
		var de *Error
		if !errors.As(err, &de) || de.Field != r.field || err.Error() != want {
			t.Errorf("%s: descriptor error %v; want %q", name, err, want)
		}
	}
}

// TestSharedRulesInConnector: New applies the same rules, naming the
// setting instead of the descriptor's field, and never quoting a pin or a
// token (a value mis-pasted on a command line could be a secret).
func TestSharedRulesInConnector(t *testing.T) {
	good := func() connector.Config {
		return connector.Config{ProxyAddr: "proxy.example.com:8443", Transport: connector.TransportConnect,
			Destination: "mainframe.example.com:23", Token: connector.NewToken(testToken)}
	}
	for _, tc := range []struct {
		name string
		edit func(*connector.Config)
		want string
	}{
		{"token", func(c *connector.Config) { c.Token = connector.NewToken("TOKEN SECRET") }, "token: " + connector.CheckToken("TOKEN SECRET").Error()},
		{"empty token", func(c *connector.Config) { c.Token = connector.Token{} }, "token: " + connector.CheckToken("").Error()},
		{"pin", func(c *connector.Config) { c.Pins = []string{testPin, "sha256/AAAA"} }, "pin 2 of 2 is not sha256/ and the base64 of a 32-byte SHA-256 digest"},
		{"path", func(c *connector.Config) { c.Transport, c.Path = connector.TransportWebSocket, "ws" }, `websocket path "ws" ` + connector.CheckPath("ws").Error()},
		{"TLS order", func(c *connector.Config) { c.TLSMin, c.TLSMax = tls.VersionTLS13, tls.VersionTLS12 }, "minimum TLS version 1.3 is above the maximum 1.2"},
		{"TLS 1.1", func(c *connector.Config) { c.TLSMin = tls.VersionTLS11 }, "TLS 1.1 is not allowed; use TLS 1.2 or 1.3"},
	} {
		cfg := good()
		tc.edit(&cfg)
		_, err := connector.New(cfg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: New: %v; want %q", tc.name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "AAAA")) {
			t.Errorf("%s: New's error shows the value: %v", tc.name, err)
		}
	}
}

// TestHostRules pins the difference between the two host rules (see
// checkHost): the descriptor refuses the spellings that resolvers or the
// admin policy read differently, which the connector, whose rule only
// keeps the request intact, accepts; both refuse what would change the
// request.
func TestHostRules(t *testing.T) {
	newConnector := func(dest string) error {
		_, err := connector.New(connector.Config{ProxyAddr: "proxy.example.com:8443", Transport: connector.TransportConnect,
			Destination: dest, Token: connector.NewToken(testToken)})
		return err
	}
	for _, tc := range []struct {
		host, port string
		connector  bool // the connector accepts it
		descriptor bool // the descriptor accepts it
	}{
		{"mainframe.example.com", "23", true, true},
		{"host_01.example.com", "23", true, true},
		{"10.1.2.3", "23", true, true},
		{"2001:db8::17", "23", true, true},
		{"MainFrame.Example.com.", "23", true, true}, // one spelling after Decode: mainframe.example.com
		// Ambiguous to resolvers or to the policy: the descriptor only.
		{"0x7f.1", "23", true, false},
		{"2130706433", "23", true, false},
		{"0177.0.0.1", "23", true, false},
		{"10.1.2.3.", "23", true, false},
		{"a..b", "23", true, false},
		{strings.Repeat("a", 64) + ".example.com", "23", true, false},
		{"*.example.com", "23", true, false},
		{"a+b.example.com", "23", true, false},
		{"mainframe.example.com", "023", true, false},
		// What would change the request: both.
		{"a b", "23", false, false},
		{"a/b", "23", false, false},
		{"a@b", "23", false, false},
		{"a\r\nX-Evil: 1", "23", false, false},
		{"bücher.example", "23", false, false},
		{"fe80::1%eth0", "23", false, false},
	} {
		name := safetext.Quote(tc.host + " port " + tc.port)
		if err := newConnector(net.JoinHostPort(tc.host, tc.port)); (err == nil) != tc.connector {
			t.Errorf("%s: connector.New: %v; want accepted=%v", name, err, tc.connector)
		}
		// The proxy's address carries the port: a JSON number has no
		// leading zero.
		_, err := Decode(with(t, func(m map[string]any) { proxyOf(m)["address"] = net.JoinHostPort(tc.host, tc.port) }))
		if (err == nil) != tc.descriptor {
			t.Errorf("%s: Decode: %v; want accepted=%v", name, err, tc.descriptor)
		}
	}
}

// TestConnectorConfigParsedAtDecode: Decode parses the proxy's TLS
// settings once, and ConnectorConfig hands over what it parsed: the
// versions, with their defaults, and exactly ca_pem's certificates as the
// roots. A Descriptor that Decode did not make trusts no root.
func TestConnectorConfigParsedAtDecode(t *testing.T) {
	caPEM := readCAFromTestdata(t)
	certs, err := ParseCAPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	want := x509.NewCertPool()
	for _, c := range certs {
		want.AddCert(c)
	}
	for _, tc := range []struct {
		name     string
		edit     func(map[string]any)
		min, max uint16
		roots    *x509.CertPool
	}{
		{"defaults", func(map[string]any) {}, tls.VersionTLS12, tls.VersionTLS13, nil},
		{"1.3 only", func(m map[string]any) { proxyOf(m)["tls_min"] = "1.3" }, tls.VersionTLS13, tls.VersionTLS13, nil},
		{"1.2 only", func(m map[string]any) { proxyOf(m)["tls_max"] = "1.2" }, tls.VersionTLS12, tls.VersionTLS12, nil},
		{"ca_pem", func(m map[string]any) { proxyOf(m)["ca_pem"] = caPEM }, tls.VersionTLS12, tls.VersionTLS13, want},
	} {
		d, err := Decode(with(t, tc.edit))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		cfg := d.ConnectorConfig()
		if cfg.TLSMin != tc.min || cfg.TLSMax != tc.max {
			t.Errorf("%s: TLS %x-%x, want %x-%x", tc.name, cfg.TLSMin, cfg.TLSMax, tc.min, tc.max)
		}
		if (cfg.RootCAs == nil) != (tc.roots == nil) || (tc.roots != nil && !cfg.RootCAs.Equal(tc.roots)) {
			t.Errorf("%s: roots %v, want %v", tc.name, cfg.RootCAs, tc.roots)
		}
		if d.Proxy.TLSMin != connector.FormatTLSVersion(tc.min) || d.Proxy.TLSMax != connector.FormatTLSVersion(tc.max) {
			t.Errorf("%s: shows TLS %s-%s", tc.name, d.Proxy.TLSMin, d.Proxy.TLSMax)
		}
	}

	var made Descriptor // not by Decode, with a ca_pem that was never checked
	made.Proxy = Proxy{Address: "proxy.example.com:8443", Transport: "connect", CAPEM: caPEM}
	made.Destination = Destination{Host: "mainframe.example.com", Port: 23}
	made.Token = connector.NewToken(testToken)
	if cfg := made.ConnectorConfig(); cfg.RootCAs == nil || !cfg.RootCAs.Equal(x509.NewCertPool()) {
		t.Errorf("a Descriptor not made by Decode: roots %v, want an empty pool (trust nothing)", cfg.RootCAs)
	}
}
