package policy

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/testadmin"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
)

// publisherTOML returns a [[publishers]] table for key.
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

func mustPolicy(t testing.TB, text string) *Policy {
	t.Helper()
	p, probs := Parse("policy.toml", []byte(text))
	if len(probs) > 0 {
		t.Fatalf("policy problems: %v", probs)
	}
	return p
}

func TestParsePolicy(t *testing.T) {
	key, _ := descriptor.GenerateKey("EdDSA")
	p := mustPolicy(t, "\ufeff# comment\nrequire_signed = true\n\n[[proxies]]\naddress = \"Proxy.Example.com:8443\"\npins = [\"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n\n[[destinations]]\naddress = \"mainframe.example.com\"\n\n[[destinations]]\naddress = \"mainframe.example.com:992\"\npins = [\"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n\n"+
		publisherTOML(t, "Payroll portal", key, "portal.example.com"))
	if !p.RequireSigned || !p.RestrictProxies || len(p.Proxies) != 1 || p.Proxies[0].Entry.String() != "proxy.example.com:8443" || p.Proxies[0].Line != 5 {
		t.Errorf("proxies %+v", p.Proxies)
	}
	if len(p.Destinations) != 2 || p.Destinations[0].TLS || !p.Destinations[1].TLS {
		t.Errorf("destinations %+v (pins imply tls)", p.Destinations)
	}
	kid, _ := descriptor.KeyID(key.Public())
	if len(p.Publishers) != 1 || p.Publishers[0].KeyID != kid || p.Publishers[0].Alg != "EdDSA" || p.Publishers[0].Origins[0].String() != "portal.example.com" {
		t.Errorf("publishers %+v", p.Publishers)
	}
	if got := p.Summary(); got != "1 proxy, 2 destinations, 1 publisher, signature required" {
		t.Errorf("summary %q", got)
	}
}

// TestPolicyProblems checks that policy check's messages name the line and
// what is wrong, for each kind of mistake.
func TestPolicyProblems(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"toml syntax", "require_signed = \n", "policy.toml:1: "},
		{"unknown key", "\nallow_all = true\n", `policy.toml:2: unknown key "allow_all"`},
		{"require_signed not bool", "require_signed = \"yes\"\n", "policy.toml:1: require_signed must be true or false"},
		{"require_signed without publishers", "require_signed = true\n", "policy.toml:1: require_signed = true with no [[publishers]]"},
		{"proxy not a host", "[[proxies]]\naddress = \"https://proxy.example.com/\"\n", `policy.toml:2: "https://proxy.example.com/" is a URL, not a host; write proxy.example.com`},
		{"proxy wildcard", "[[proxies]]\naddress = \"*.example.com\"\n", "policy.toml:2: \"*.example.com\": wildcards are not supported"},
		{"proxy without address", "[[proxies]]\npins = []\n", "policy.toml:2: [[proxies]] has no address"},
		{"unknown proxy key", "[[proxies]]\naddress = \"p.example.com\"\nport = 8443\n", `policy.toml:3: unknown key "port" in [[proxies]]`},
		{"bad pin", "[[proxies]]\naddress = \"p.example.com\"\npins = [\"sha1/abc\"]\n", `policy.toml:3: "sha1/abc" does not start with sha256/`},
		{"short pin", "[[destinations]]\naddress = \"h.example.com\"\npins = [\"sha256/AAAA\"]\n", "policy.toml:3: \"sha256/AAAA\" is not sha256/ and the base64 of a 32-byte SHA-256 digest"},
		{"pins with tls false", "[[destinations]]\naddress = \"h.example.com\"\ntls = false\npins = [\"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n", "policy.toml:3: pins and ca_pem check the destination's certificate, which needs tls = true"},
		{"bad ca", "[[destinations]]\naddress = \"h.example.com\"\nca_pem = \"not pem\"\n", "policy.toml:3: ca_pem holds no PEM certificate"},
		{"proxies not tables", "proxies = \"p.example.com\"\n", "policy.toml:1: proxies must be tables"},
		{"bad key", "[[publishers]]\nname = \"x\"\nkey = \"ssh-ed25519 AAAA\"\n", "policy.toml:3: key must be one PEM block"},
		{"publisher without key", "[[publishers]]\nname = \"x\"\n", "policy.toml:2: [[publishers]] has no key"},
		{"publisher origin URL", "[[publishers]]\nname = \"x\"\nkey = \"k\"\norigins = [\"https://a.example.com/x\"]\n", "policy.toml:4: \"https://a.example.com/x\" is a URL"},
		{"os_log unknown level", "\nos_log = \"debug\"\n", "policy.toml:2: os_log must be one of info, warning, error, off"},
		{"os_log not a string", "os_log = 4\n", "policy.toml:1: os_log must be one of info, warning, error, off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Parse("policy.toml", []byte(tt.text))
			var got []string
			for _, p := range probs {
				got = append(got, p.Format("policy.toml"))
			}
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("problems %q, want one containing %q", got, tt.want)
			}
		})
	}
	t.Run("rsa key", func(t *testing.T) {
		const rsaPub = "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMmXhkrcBqXe5S6WFkQ1PHj2Ia5LH6i9\nGQ7p3yqFD1cvA2gwwsZvRHy/e9DKiiRs7hXGDT6zjRDlgAGWu6gu4lMCAwEAAQ==\n-----END PUBLIC KEY-----\n"
		_, probs := Parse("policy.toml", []byte("[[publishers]]\nname = \"x\"\nkey = \"\"\"\n"+rsaPub+"\"\"\"\n"))
		if len(probs) != 1 || !strings.Contains(probs[0].Msg, "want Ed25519 or ECDSA P-256") {
			t.Errorf("%v", probs)
		}
	})
	t.Run("two publishers, one key", func(t *testing.T) {
		key, _ := descriptor.GenerateKey("ES256")
		_, probs := Parse("policy.toml", []byte(publisherTOML(t, "a", key)+publisherTOML(t, "b", key)))
		if len(probs) != 1 || !strings.Contains(probs[0].Msg, "same key") {
			t.Errorf("%v", probs)
		}
	})
}

func TestLoadPolicy(t *testing.T) {
	dir := testtmp.Dir(t)
	ok := func(string) error { return nil }
	t.Run("absent", func(t *testing.T) {
		src := loadPolicy(filepath.Join(dir, "none.toml"), ok)
		if src.Err != nil || src.Policy != nil {
			t.Fatalf("%+v", src)
		}
	})
	t.Run("a problem stops launches", func(t *testing.T) {
		path := filepath.Join(dir, "bad.toml")
		os.WriteFile(path, []byte("[[proxies]]\naddress = \"a..b\"\n"), 0o644)
		src := loadPolicy(path, ok)
		var pe *FileError
		if !errors.As(src.Err, &pe) || !strings.Contains(src.Err.Error(), path+":2: ") || !strings.Contains(pe.Hint(), "trustlaunch policy check "+path) {
			t.Fatalf("%v", src.Err)
		}
	})
	t.Run("unsafe file", func(t *testing.T) {
		// A temporary directory never passes the admin check (/tmp is
		// writable by everyone; on Windows the file is the user's): the
		// real check must refuse it.
		testadmin.RequireRealCheck(t)
		path := filepath.Join(dir, "policy.toml")
		os.WriteFile(path, []byte("require_signed = false\n"), 0o644)
		src := Load(path)
		var uf *platform.UnsafeFileError
		if !errors.As(src.Err, &uf) || src.Policy != nil || !strings.Contains(src.Err.Error(), path) {
			t.Fatalf("%+v", src)
		}
	})
}

func TestPolicyCheck(t *testing.T) {
	const pin = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	p := mustPolicy(t, "[[proxies]]\naddress = \"proxy.example.com:8443\"\npins = [\""+pin+"\"]\n[[proxies]]\naddress = \"any-port.example.com\"\n"+
		"[[destinations]]\naddress = \"mainframe.example.com\"\n[[destinations]]\naddress = \"mainframe.example.com:992\"\ntls = true\n")
	desc := func(proxy, host string, port int, tls bool) *descriptor.Descriptor {
		return &descriptor.Descriptor{Proxy: descriptor.Proxy{Address: proxy}, Destination: descriptor.Destination{Host: host, Port: port, TLS: tls}}
	}
	tests := []struct {
		name  string
		d     *descriptor.Descriptor
		field string // "" allowed
		pins  bool
	}{
		{"listed", desc("proxy.example.com:8443", "mainframe.example.com", 23, false), "", true},
		{"listed any port", desc("any-port.example.com:9", "mainframe.example.com", 23, false), "", false},
		{"proxy other port", desc("proxy.example.com:443", "mainframe.example.com", 23, false), "proxy.address", false},
		{"proxy subdomain", desc("evil.proxy.example.com:8443", "mainframe.example.com", 23, false), "proxy.address", false},
		{"proxy unlisted", desc("proxy.evil.example:8443", "mainframe.example.com", 23, false), "proxy.address", false},
		{"destination unlisted", desc("proxy.example.com:8443", "db.example.com", 5432, false), "destination", false},
		{"destination port rule wins over bare host", desc("proxy.example.com:8443", "mainframe.example.com", 992, false), "destination.tls", false},
		// descriptor.Decode writes hosts in lower case, without a trailing
		// dot: the spelling Check compares.
		{"destination with tls", desc("proxy.example.com:8443", "mainframe.example.com", 992, true), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := p.Check(tt.d)
			var pe *Error
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.field != "" && (!errors.As(err, &pe) || pe.Field != tt.field || !strings.Contains(err.Error(), "policy.toml")):
				t.Fatalf("err %v, want a refusal of %s naming the file", err, tt.field)
			case tt.field == "" && (len(g.ProxyPins) > 0) != tt.pins:
				t.Errorf("grant %+v", g)
			}
		})
	}
	t.Run("require_signed", func(t *testing.T) {
		key, _ := descriptor.GenerateKey("")
		p := mustPolicy(t, "require_signed = true\n"+publisherTOML(t, "p", key))
		d := desc("a.example.com:1", "b.example.com", 2, false)
		if _, err := p.Check(d); err == nil || !strings.Contains(err.Error(), "not signed") {
			t.Fatalf("%v", err)
		}
		d.Publisher = "p"
		if _, err := p.Check(d); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no policy", func(t *testing.T) {
		var none *Policy
		if _, err := none.Check(desc("a.example.com:1", "b.example.com", 2, false)); err != nil {
			t.Fatal(err)
		}
	})
}

// The policy is the key lookup of a signed descriptor.
var _ descriptor.Publishers = (*Policy)(nil)

// TestPolicyVerifiesSigned: a parsed policy's publishers verify a
// descriptor signed with their key and name the publisher; a key it does not
// list is refused naming the policy file; a nil *Policy, no policy, trusts
// no key and says so rather than failing on the nil.
func TestPolicyVerifiesSigned(t *testing.T) {
	key, _ := descriptor.GenerateKey("EdDSA")
	other, _ := descriptor.GenerateKey("ES256")
	p := mustPolicy(t, publisherTOML(t, "Payroll portal", key))
	now := time.Unix(1_900_000_000, 0)
	payload := []byte(`{"version":1,"session":"Payroll","profile":"c3270","proxy":{"address":"proxy.example.com:8443","transport":"connect"},"destination":{"host":"mainframe.example.com","port":23},"token":"tok-7f3a9c"}`)
	sign := func(k crypto.Signer) []byte {
		out, err := descriptor.Sign(payload, k, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	d, err := descriptor.VerifySigned(sign(key), descriptor.VerifyOptions{Publishers: p, Now: now})
	if err != nil || d.Publisher != "Payroll portal" {
		t.Fatalf("VerifySigned with the listed key = %v, %v", d, err)
	}
	if _, err := descriptor.VerifySigned(sign(other), descriptor.VerifyOptions{Publishers: p, Now: now}); err == nil || !strings.Contains(err.Error(), "the admin policy policy.toml names no publisher") {
		t.Errorf("VerifySigned with an unlisted key: %v", err)
	}
	var none *Policy
	if _, err := descriptor.VerifySigned(sign(key), descriptor.VerifyOptions{Publishers: none, Now: now}); err == nil || !strings.Contains(err.Error(), "there is no admin policy") {
		t.Errorf("VerifySigned with a nil *Policy: %v", err)
	}
}

// TestPolicyOSLog: os_log sets the level of the launch records in the OS's
// log; without it, or without a usable policy, every record goes there.
func TestPolicyOSLog(t *testing.T) {
	for _, tt := range []struct {
		text string
		want oslog.Level
	}{
		{"", oslog.LevelInfo},
		{"os_log = \"info\"\n", oslog.LevelInfo},
		{"os_log = \"warning\"\n", oslog.LevelWarning},
		{"os_log = \"error\"\n", oslog.LevelError},
		{"os_log = \"off\"\n", oslog.LevelOff},
	} {
		p, probs := Parse("policy.toml", []byte(tt.text))
		if len(probs) != 0 || p.OSLog != tt.want || (Source{Policy: p}).OSLogLevel() != tt.want {
			t.Errorf("%q: level %s, problems %v; want %s", tt.text, p.OSLog, probs, tt.want)
		}
	}
	if p, _ := Parse("policy.toml", []byte("os_log = \"off\"\n")); !strings.Contains(p.Summary(), "os_log off") {
		t.Errorf("summary %q does not say os_log off", p.Summary())
	}
	if got := (Source{}).OSLogLevel(); got != oslog.LevelInfo {
		t.Errorf("no policy: level %s, want info", got)
	}
	if got := (Source{Err: errors.New("unsafe")}).OSLogLevel(); got != oslog.LevelInfo {
		t.Errorf("an unusable policy: level %s, want info", got)
	}
}

// TestOutboundPAC: outbound_pac takes an http or https URL, and a value
// that is not one is a problem on its line that quotes none of it.
func TestOutboundPAC(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{`"http://wpad.corp.example/wpad.dat"`, ""},
		{`"https://pac.corp.example/proxy.pac?key=k1"`, ""},
		{`"ftp://wpad.corp.example/wpad.dat"`, "want an http:// or https:// URL"},
		{`"http://alice:s3cret@wpad.corp.example/wpad.dat"`, "user name or password"},
		{`"http:///wpad.dat"`, "no host"},
		{`"http://wpad.corp.example/a b"`, "space or a control character"},
		{`42`, "outbound_pac must be"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			pol, probs := Parse("policy.toml", []byte("# policy\noutbound_pac = "+tc.value+"\n"))
			if tc.want == "" {
				if len(probs) != 0 || pol.OutboundPAC != strings.Trim(tc.value, `"`) {
					t.Fatalf("problems %v, OutboundPAC %q", probs, pol.OutboundPAC)
				}
				if strings.Contains(pol.Summary(), "k1") {
					t.Errorf("the summary shows the URL's query: %s", pol.Summary())
				}
				return
			}
			if len(probs) != 1 || probs[0].Line != 2 || !strings.Contains(probs[0].Msg, tc.want) || strings.Contains(probs[0].Msg, "s3cret") {
				t.Fatalf("problems %+v, want one on line 2 with %q", probs, tc.want)
			}
		})
	}
}
