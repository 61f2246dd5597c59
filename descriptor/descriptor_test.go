package descriptor

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// goodDescriptor returns a valid descriptor as a generic JSON object, for
// tests that change one field.
func goodDescriptor() map[string]any {
	return map[string]any{
		"version": 1,
		"session": "Payroll (TN3270)",
		"profile": "c3270",
		"proxy": map[string]any{
			"address":   "proxy.example.com:8443",
			"transport": "connect",
		},
		"destination": map[string]any{"host": "mainframe.example.com", "port": 23, "tls": false},
		"token":       testToken,
	}
}

const testToken = "eyJ-TOKEN-SECRET-0123456789"

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// with returns goodDescriptor changed by edit, encoded.
func with(t testing.TB, edit func(m map[string]any)) []byte {
	m := goodDescriptor()
	edit(m)
	return encode(t, m)
}

func proxyOf(m map[string]any) map[string]any { return m["proxy"].(map[string]any) }
func destOf(m map[string]any) map[string]any  { return m["destination"].(map[string]any) }

const testPin = "sha256/Vj7eiZSAl7ORB3lLVXoVEIEpVuam/bQog/HDsEW5/fY="

func TestDecodeDescriptor(t *testing.T) {
	good := encode(t, goodDescriptor())
	caPEM := readCAFromTestdata(t)
	tests := []struct {
		name  string
		in    []byte
		step  string // "" when the descriptor must be accepted
		field string // Error.Field
		msg   string // substring of the error
	}{
		{"good", good, "", "", ""},
		{"websocket with path", with(t, func(m map[string]any) {
			proxyOf(m)["transport"] = "websocket"
			proxyOf(m)["path"] = "/websockify"
		}), "", "", ""},
		{"ca_pem and pin", with(t, func(m map[string]any) {
			proxyOf(m)["ca_pem"] = caPEM
			proxyOf(m)["pins"] = []string{testPin}
		}), "", "", ""},
		{"ipv6 proxy and destination", with(t, func(m map[string]any) {
			proxyOf(m)["address"] = "[2001:db8::1]:443"
			destOf(m)["host"] = "2001:db8::17"
		}), "", "", ""},
		{"session of 200 runes", with(t, func(m map[string]any) { m["session"] = strings.Repeat("é", 200) }), "", "", ""},

		// Decoding.
		{"empty body", []byte(""), StepDecode, "", "empty"},
		{"not json", []byte("<html>hello</html>"), StepDecode, "", "not valid JSON"},
		{"array", []byte(`[1]`), StepDecode, "", "not a JSON object"},
		{"unknown top-level field", with(t, func(m map[string]any) { m["extra"] = true }), StepDecode, "extra", `descriptor: unknown field "extra"`},
		{"unknown nested field", with(t, func(m map[string]any) { proxyOf(m)["foo"] = 1 }), StepDecode, "proxy.foo", `descriptor: unknown field "proxy.foo"`},
		{"unknown field with escape", with(t, func(m map[string]any) { destOf(m)["\x1b[2J"] = 1 }), StepDecode, "destination.\x1b[2J", `unknown field "destination.\x1b[2J"`},
		{"field in other case", with(t, func(m map[string]any) { m["Token"] = m["token"]; delete(m, "token") }), StepDecode, "Token", `unknown field "Token"`},
		{"duplicate field", bytes.Replace(good, []byte(`"version":1`), []byte(`"version":1,"version":1`), 1), StepDecode, "version", "more than once"},
		{"trailing data", append(append([]byte{}, good...), []byte(` {}`)...), StepDecode, "", "data after the JSON object"},
		{"trailing garbage", append(append([]byte{}, good...), 'x'), StepDecode, "", "data after the JSON object"},
		{"truncated", good[:len(good)-5], StepDecode, "", "not valid JSON"},
		{"port as string", with(t, func(m map[string]any) { destOf(m)["port"] = "23" }), StepDecode, "destination.port", "destination.port: want an integer"},
		{"proxy as string", with(t, func(m map[string]any) { m["proxy"] = "p:1" }), StepDecode, "proxy", "proxy: want an object"},
		{"version 1.0", bytes.Replace(good, []byte(`"version":1`), []byte(`"version":1.0`), 1), StepDecode, "version", "want an integer"},

		// Validation.
		{"version missing", with(t, func(m map[string]any) { delete(m, "version") }), StepValidate, "version", "version: missing"},
		{"version 2", with(t, func(m map[string]any) { m["version"] = 2 }), StepValidate, "version", "version: 2 is not supported"},
		{"session missing", with(t, func(m map[string]any) { delete(m, "session") }), StepValidate, "session", "session: missing"},
		{"session huge", with(t, func(m map[string]any) { m["session"] = strings.Repeat("x", 10000) }), StepValidate, "session", "more than 200"},
		{"profile missing", with(t, func(m map[string]any) { delete(m, "profile") }), StepValidate, "profile", "profile: missing"},
		{"profile with slash", with(t, func(m map[string]any) { m["profile"] = "a/b" }), StepValidate, "profile", "path separator"},
		{"profile absolute path", with(t, func(m map[string]any) { m["profile"] = "/bin/sh" }), StepValidate, "profile", "path separator"},
		{"profile with dotdot", with(t, func(m map[string]any) { m["profile"] = "a..b" }), StepValidate, "profile", `contains ".."`},
		{"profile dotdot", with(t, func(m map[string]any) { m["profile"] = ".." }), StepValidate, "profile", `contains ".."`},
		{"profile dot", with(t, func(m map[string]any) { m["profile"] = "." }), StepValidate, "profile", "not a profile name"},
		{"profile upper case", with(t, func(m map[string]any) { m["profile"] = "C3270" }), StepValidate, "profile", "not a profile name"},
		{"profile too long", with(t, func(m map[string]any) { m["profile"] = strings.Repeat("a", 65) }), StepValidate, "profile", "not a profile name"},
		{"profile with option", with(t, func(m map[string]any) { m["profile"] = "-e" }), StepValidate, "profile", "not a profile name"},
		{"proxy missing", with(t, func(m map[string]any) { delete(m, "proxy") }), StepValidate, "proxy.address", "proxy.address: missing"},
		{"proxy address without port", with(t, func(m map[string]any) { proxyOf(m)["address"] = "proxy.example.com" }), StepValidate, "proxy.address", "not host:port"},
		{"proxy port 0", with(t, func(m map[string]any) { proxyOf(m)["address"] = "proxy.example.com:0" }), StepValidate, "proxy.address", "invalid port"},
		{"proxy port 65536", with(t, func(m map[string]any) { proxyOf(m)["address"] = "proxy.example.com:65536" }), StepValidate, "proxy.address", "invalid port"},
		{"proxy port with sign", with(t, func(m map[string]any) { proxyOf(m)["address"] = "proxy.example.com:+443" }), StepValidate, "proxy.address", "invalid port"},
		{"proxy host with slash", with(t, func(m map[string]any) { proxyOf(m)["address"] = "a/b:443" }), StepValidate, "proxy.address", "not allowed in a host name"},
		{"proxy host octal ipv4", with(t, func(m map[string]any) { proxyOf(m)["address"] = "0177.0.0.1:443" }), StepValidate, "proxy.address", "dotted-quad"},
		{"transport missing", with(t, func(m map[string]any) { delete(proxyOf(m), "transport") }), StepValidate, "proxy.transport", "missing"},
		{"transport unknown", with(t, func(m map[string]any) { proxyOf(m)["transport"] = "socks5" }), StepValidate, "proxy.transport", `"socks5" is not a transport`},
		{"path with connect", with(t, func(m map[string]any) { proxyOf(m)["path"] = "/" }), StepValidate, "proxy.path", "websocket transport only"},
		{"websocket path relative", with(t, func(m map[string]any) {
			proxyOf(m)["transport"] = "websocket"
			proxyOf(m)["path"] = "ws"
		}), StepValidate, "proxy.path", "must start with /"},
		{"websocket path with query", with(t, func(m map[string]any) {
			proxyOf(m)["transport"] = "websocket"
			proxyOf(m)["path"] = "/ws?token=x"
		}), StepValidate, "proxy.path", "not allowed"},
		{"server name with space", with(t, func(m map[string]any) { proxyOf(m)["server_name"] = "a b" }), StepValidate, "proxy.server_name", "not allowed"},
		{"tls_min 1.0", with(t, func(m map[string]any) { proxyOf(m)["tls_min"] = "1.0" }), StepValidate, "proxy.tls_min", `descriptor: proxy.tls_min: TLS 1.0 is older than 1.2, the oldest version trustlaunch allows; use 1.2 or 1.3`},
		{"tls_max 1.1", with(t, func(m map[string]any) { proxyOf(m)["tls_max"] = "1.1" }), StepValidate, "proxy.tls_max", "TLS 1.1 is older than 1.2"},
		{"tls_min 1.4", with(t, func(m map[string]any) { proxyOf(m)["tls_min"] = "1.4" }), StepValidate, "proxy.tls_min", `"1.4" is not allowed; use 1.2 or 1.3`},
		{"tls_min above tls_max", with(t, func(m map[string]any) {
			proxyOf(m)["tls_min"] = "1.3"
			proxyOf(m)["tls_max"] = "1.2"
		}), StepValidate, "proxy.tls_min", "proxy.tls_min: minimum TLS version 1.3 is above the maximum 1.2"},
		{"ca_pem not pem", with(t, func(m map[string]any) { proxyOf(m)["ca_pem"] = "hello" }), StepValidate, "proxy.ca_pem", "no PEM certificate"},
		{"ca_pem bad certificate", with(t, func(m map[string]any) {
			proxyOf(m)["ca_pem"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}), StepValidate, "proxy.ca_pem", "certificate 1 does not parse"},
		{"ca_pem private key", with(t, func(m map[string]any) {
			proxyOf(m)["ca_pem"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		}), StepValidate, "proxy.ca_pem", `"PRIVATE KEY", want CERTIFICATE`},
		{"ca_pem trailing text", with(t, func(m map[string]any) { proxyOf(m)["ca_pem"] = caPEM + "junk" }), StepValidate, "proxy.ca_pem", "not a PEM certificate"},
		{"ca_pem leading text", with(t, func(m map[string]any) { proxyOf(m)["ca_pem"] = "junk\n" + caPEM }), StepValidate, "proxy.ca_pem", "text before certificate 1"},
		{"ca_pem text between certificates", with(t, func(m map[string]any) { proxyOf(m)["ca_pem"] = caPEM + "junk\n" + caPEM }), StepValidate, "proxy.ca_pem", "text before certificate 2"},
		{"ca_pem blank lines around", with(t, func(m map[string]any) { proxyOf(m)["ca_pem"] = "\n\n" + caPEM + "\n\n" + caPEM + "\n" }), "", "", ""},
		{"pin without prefix", with(t, func(m map[string]any) { proxyOf(m)["pins"] = []string{"Vj7eiZSAl7ORB3lLVXoVEIEpVuam/bQog/HDsEW5/fY="} }), StepValidate, "proxy.pins[0]", `proxy.pins[0]: "Vj7eiZSAl7ORB3lLVXoVEIEpVuam/bQog/HDsEW5/fY=" does not start with sha256/`},
		{"pin short", with(t, func(m map[string]any) { proxyOf(m)["pins"] = []string{testPin, "sha256/AAAA"} }), StepValidate, "proxy.pins[1]", "32-byte"},
		{"pin not base64", with(t, func(m map[string]any) { proxyOf(m)["pins"] = []string{"sha256/!!!"} }), StepValidate, "proxy.pins[0]", "32-byte"},
		{"destination missing", with(t, func(m map[string]any) { delete(m, "destination") }), StepValidate, "destination.host", "destination.host: missing"},
		{"destination host is a url", with(t, func(m map[string]any) { destOf(m)["host"] = "tn3270://mainframe" }), StepValidate, "destination.host", "looks like a URL"},
		{"destination host with port", with(t, func(m map[string]any) { destOf(m)["host"] = "mainframe:23" }), StepValidate, "destination.host", "a port goes in its own field"},
		{"destination host with newline", with(t, func(m map[string]any) { destOf(m)["host"] = "a\nb" }), StepValidate, "destination.host", `"a\x0ab"`},
		{"destination host with space", with(t, func(m map[string]any) { destOf(m)["host"] = "a b" }), StepValidate, "destination.host", "not allowed"},
		{"destination host bracketed", with(t, func(m map[string]any) { destOf(m)["host"] = "[::1]" }), StepValidate, "destination.host", "without brackets"},
		{"destination host idn", with(t, func(m map[string]any) { destOf(m)["host"] = "bücher.example" }), StepValidate, "destination.host", "punycode"},
		{"destination host zone", with(t, func(m map[string]any) { destOf(m)["host"] = "fe80::1%eth0" }), StepValidate, "destination.host", "zone"},
		{"destination port missing", with(t, func(m map[string]any) { delete(destOf(m), "port") }), StepValidate, "destination.port", "missing"},
		{"destination port 70000", with(t, func(m map[string]any) { destOf(m)["port"] = 70000 }), StepValidate, "destination.port", "70000 is not a port"},
		{"destination port negative", with(t, func(m map[string]any) { destOf(m)["port"] = -1 }), StepValidate, "destination.port", "-1 is not a port"},
		{"token missing", with(t, func(m map[string]any) { delete(m, "token") }), StepValidate, "token", "token: missing"},
		{"token null", with(t, func(m map[string]any) { m["token"] = nil }), StepValidate, "token", "token: missing"},
		{"token with newline", with(t, func(m map[string]any) { m["token"] = testToken + "\r\nX-Evil: 1" }), StepValidate, "token", "visible ASCII at byte 27"},
		{"token with space", with(t, func(m map[string]any) { m["token"] = "a b" + testToken }), StepValidate, "token", "visible ASCII at byte 1"},
		{"token too long", with(t, func(m map[string]any) { m["token"] = testToken + strings.Repeat("A", 16<<10) }), StepValidate, "token", "more than 16384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(tt.in)
			if tt.step == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if d.Proxy.TLSMin == "" || d.Proxy.TLSMax == "" {
					t.Errorf("TLS defaults not filled in: %+v", d.Proxy)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode accepted %s", tt.in)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *Error", err, err)
			}
			if de.Step != tt.step || de.Field != tt.field {
				t.Errorf("step %q field %q, want %q %q (%v)", de.Step, de.Field, tt.step, tt.field, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q does not contain %q", msg, tt.msg)
			}
			if !strings.HasPrefix(msg, "descriptor: ") {
				t.Errorf("error %q does not start with \"descriptor: \"", msg)
			}
			if strings.Contains(msg, testToken) || strings.ContainsAny(msg, "\x1b\n\r") {
				t.Errorf("error leaks the token or a control character: %q", msg)
			}
		})
	}
}

func readCAFromTestdata(t *testing.T) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFile(t, "testdata/descriptors/ok-full.json"), &m); err != nil {
		t.Fatal(err)
	}
	return proxyOf(m)["ca_pem"].(string)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDescriptorFiles decodes testdata/descriptors: ok-*.json must pass,
// bad-*.json must fail, so the fuzz seeds are known to cover both.
func TestDescriptorFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/descriptors/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Decode(readFile(t, f))
			switch {
			case strings.HasPrefix(filepath.Base(f), "ok-") && err != nil:
				t.Fatal(err)
			case strings.HasPrefix(filepath.Base(f), "bad-") && err == nil:
				t.Fatal("accepted")
			}
		})
	}
}

func TestDescriptorFull(t *testing.T) {
	d, err := Decode(readFile(t, "testdata/descriptors/ok-full.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Token.IsZero() {
		t.Error("token not carried over")
	}
	cfg := d.ConnectorConfig()
	if cfg.ProxyAddr != "proxy.example.com:8443" || cfg.Transport != connector.TransportConnect ||
		cfg.Destination != "mainframe.example.com:23" || cfg.TLSMin != tls.VersionTLS12 || cfg.TLSMax != tls.VersionTLS13 ||
		cfg.RootCAs == nil || len(cfg.Pins) != 1 || cfg.ServerName != "proxy.example.com" || cfg.EndToEndTLS {
		t.Errorf("ConnectorConfig = %+v", cfg)
	}
	if _, err := connector.New(cfg); err != nil {
		t.Errorf("connector.New refuses a validated descriptor: %v", err)
	}

	ws, err := Decode(readFile(t, "testdata/descriptors/ok-websocket.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = ws.ConnectorConfig()
	if cfg.Destination != "[2001:db8::23]:23" || cfg.TLSMin != tls.VersionTLS13 || !cfg.EndToEndTLS || cfg.Path != "/websockify" {
		t.Errorf("ConnectorConfig = %+v", cfg)
	}
	if _, err := connector.New(cfg); err != nil {
		t.Errorf("connector.New refuses a validated descriptor: %v", err)
	}
}

// TestDescriptorTokenReachesProxy checks that the token a descriptor
// carries is the one the proxy receives: connector.Token cannot be read
// back, by design, so the test asks a proxy.
func TestDescriptorTokenReachesProxy(t *testing.T) {
	dest, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	go func() {
		if c, err := dest.Accept(); err == nil {
			c.Close()
		}
	}()
	p := proxytest.NewConnectProxy()
	defer p.Close()
	m := goodDescriptor()
	proxyOf(m)["address"] = p.Addr
	destOf(m)["host"] = "127.0.0.1"
	destOf(m)["port"] = dest.Addr().(*net.TCPAddr).Port
	d, err := Decode(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	cfg := d.ConnectorConfig()
	cfg.RootCAs = p.RootCAs()
	c, err := connector.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := p.Tokens(); len(got) != 1 || got[0] != testToken {
		t.Fatalf("proxy received tokens %q, want [%q]", got, testToken)
	}
}

// TestDescriptorNeverPrintsToken prints a descriptor every way a program
// might and looks for the token.
func TestDescriptorNeverPrintsToken(t *testing.T) {
	d, err := Decode(readFile(t, "testdata/descriptors/ok-websocket.json"))
	if err != nil {
		t.Fatal(err)
	}
	const tok = "TOKEN-SECRET-WS"
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10.3v"} {
		outs = append(outs, fmt.Sprintf(verb, d), fmt.Sprintf(verb, *d), fmt.Sprintf(verb, []any{d}), fmt.Sprintf(verb, struct{ D *Descriptor }{d}))
	}
	outs = append(outs, d.String(), d.GoString())
	j, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("launch", "descriptor", d, "value", *d)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("launch", "descriptor", d)
	outs = append(outs, logged.String())
	for i, out := range outs {
		if strings.Contains(out, tok) || strings.Contains(out, fmt.Sprintf("%x", tok)) || strings.Contains(out, fmt.Sprintf("%X", tok)) {
			t.Errorf("output %d leaks the token: %s", i, out)
		}
		if strings.Contains(out, "\x1b") {
			t.Errorf("output %d carries an escape from the session name: %q", i, out)
		}
	}
	if !strings.Contains(d.String(), `\x1b[2J`) {
		t.Errorf("String does not show the session's escape visibly: %s", d)
	}
}

func FuzzDecodeDescriptor(f *testing.F) {
	files, err := filepath.Glob("testdata/descriptors/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		f.Add(readFile(f, file))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *Error: %v", err, err)
			}
			return
		}
		if d.Token.IsZero() {
			t.Fatal("accepted without a token")
		}
		// Nothing printed depends on the token: a copy with another token
		// prints the same, under every verb.
		other := *d
		other.Token = connector.NewToken("another-token")
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			if a, b := fmt.Sprintf(verb, d), fmt.Sprintf(verb, &other); a != b {
				t.Fatalf("%s output depends on the token:\n%s\n%s", verb, a, b)
			}
		}
		// An accepted descriptor re-encodes and re-decodes equal. The token
		// encodes as "[redacted]", itself a valid token.
		enc, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded descriptor refused: %v\n%s", err, enc)
		}
		// connector.Token cannot be compared (it holds a closure); compare
		// the rest. TestDescriptorTokenReachesProxy checks the value.
		a, b := *d, *d2
		a.Token, b.Token = connector.Token{}, connector.Token{}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip differs:\n%#v\n%#v", *d, *d2)
		}
		// A validated descriptor passes the connector's checks too: its
		// host rule is the looser one (checkHost), the others are shared.
		if _, err := connector.New(d.ConnectorConfig()); err != nil {
			t.Fatalf("connector.New refuses an accepted descriptor: %v", err)
		}
	})
}
