package policy

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

func gpDWORD(name string, n uint64) platform.RegistryValue {
	return platform.RegistryValue{Name: name, Type: platform.RegDWORD, Number: n}
}

func gpSZ(name, s string) platform.RegistryValue {
	return platform.RegistryValue{Name: name, Type: platform.RegSZ, String: s}
}

func gpList(name string, vals ...platform.RegistryValue) platform.RegistrySubkey {
	return platform.RegistrySubkey{Name: name, Values: vals}
}

// testPublisherKey returns an Ed25519 public key as the Publishers policy
// takes it: the base64 of its DER SubjectPublicKeyInfo.
func testPublisherKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// TestParseGroupPolicyMalformed: every malformed value is an error naming
// that value, never skipped (a skipped value would allow more than the
// administrator set).
func TestParseGroupPolicyMalformed(t *testing.T) {
	key := testPublisherKey(t)
	key2 := testPublisherKey(t)
	tests := []struct {
		name   string
		gp     platform.GroupPolicy
		value  string // the value the error must name
		reason string
	}{
		{"mode as string", platform.GroupPolicy{Values: []platform.RegistryValue{gpSZ("AllowAdminListOnly", "1")}}, `HKLM\Software\Policies\trustlaunch\AllowAdminListOnly`, "is REG_SZ, want REG_DWORD 0 or 1"},
		{"mode 2", platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("AllowAdminListOnly", 2)}}, `trustlaunch\AllowAdminListOnly`, "is 2, want REG_DWORD 0 or 1"},
		{"require signed as string", platform.GroupPolicy{Values: []platform.RegistryValue{gpSZ("RequireSigned", "true")}}, `trustlaunch\RequireSigned`, "want REG_DWORD"},
		{"os log as a number", platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("OSLog", 2)}}, `trustlaunch\OSLog`, "is REG_DWORD, want REG_SZ info, warning, error, off"},
		{"os log level unknown", platform.GroupPolicy{Values: []platform.RegistryValue{gpSZ("OSLog", "verbose")}}, `trustlaunch\OSLog`, `is "verbose", want one of info, warning, error, off`},
		{"unknown value", platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("RequireSignature", 1)}}, `trustlaunch\RequireSignature`, "unknown value"},
		{"unknown subkey", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Server", gpSZ("1", "a.example"))}}, `trustlaunch\Server`, "unknown subkey"},
		{"server not a host", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", gpSZ("1", "ok.example"), gpSZ("2", "a..b"))}}, `trustlaunch\Servers value "2"`, `invalid host "a..b"`},
		{"server wildcard", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", gpSZ("1", "*.example.com"))}}, `Servers value "1"`, "wildcards are not supported"},
		{"server URL", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", gpSZ("1", "https://portal.example.com/"))}}, `Servers value "1"`, "is a URL"},
		{"two servers in a value", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", gpSZ("1", "a.example b.example"))}}, `Servers value "1"`, "holds 2 entries"},
		{"server value name", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", gpSZ("first", "a.example"))}}, `Servers value "first"`, "value names in this list are 1, 2, 3"},
		{"server multi-string", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", platform.RegistryValue{Name: "1", Type: platform.RegMultiSZ})}}, `Servers value "1"`, "is REG_MULTI_SZ, want REG_SZ"},
		{"server expandable", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", platform.RegistryValue{Name: "1", Type: platform.RegExpandSZ, String: "%COMPUTERNAME%"})}}, `Servers value "1"`, "is REG_EXPAND_SZ, want REG_SZ"},
		{"server empty", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", gpSZ("1", "  "))}}, `Servers value "1"`, "is empty"},
		{"proxy pin", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Proxies", gpSZ("1", "proxy.example.com:8443 sha256/short"))}}, `Proxies value "1"`, `"sha256/short" is not sha256/`},
		{"proxy address", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Proxies", gpSZ("1", "proxy..example.com"))}}, `Proxies value "1"`, "invalid host"},
		{"destination token", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Destinations", gpSZ("1", "mf.example.com:992 tls=yes"))}}, `Destinations value "1"`, "a destination takes tls, sha256/PIN and ca=BASE64-DER"},
		{"destination ca not base64", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Destinations", gpSZ("1", "mf.example.com:992 ca=!!"))}}, `Destinations value "1"`, "is not ca= and the base64"},
		{"destination ca not a certificate", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Destinations", gpSZ("1", "mf.example.com:992 ca=AAAA"))}}, `Destinations value "1"`, "ca= certificate 1 does not parse"},
		{"publisher key", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Publishers", gpSZ("Portal", "bm90IGEga2V5"))}}, `Publishers value "Portal"`, "key does not parse"},
		{"publisher key not base64", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Publishers", gpSZ("Portal", "-----BEGIN"))}}, `Publishers value "Portal"`, "base64 of its DER SubjectPublicKeyInfo"},
		{"publisher origin", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Publishers", gpSZ("Portal", key+" https://portal.example.com/"))}}, `Publishers value "Portal"`, "is a URL"},
		{"publisher key twice", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Publishers", gpSZ("A", key), gpSZ("B", key))}}, `Publishers value "B"`, "the same key is given to two publishers"},
		{"publisher name", platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Publishers", gpSZ("bad\x1b[31m", key2))}}, `Publishers value "bad`, "1 to 100 printable characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGP(tc.gp)
			var ge *GPError
			if !errors.As(err, &ge) {
				t.Fatalf("ParseGP = %v, want a *GPError", err)
			}
			if !strings.Contains(ge.Value, tc.value) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q: want it to name %s and say %q", err, tc.value, tc.reason)
			}
			if strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("error carries an escape character: %q", err)
			}
		})
	}
}

// adminFile parses text as the admin list at path.
func adminFile(t *testing.T, path, text string) whitelist.Source {
	t.Helper()
	l, probs, err := whitelist.Parse(path, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return whitelist.Source{Path: path, List: l, Problems: probs}
}

// decideAdmin runs the decision for url with no user list and no prompter.
func decideAdmin(admin whitelist.Source, url string) whitelist.Decision {
	return whitelist.Decide(context.Background(), whitelist.Input{LaunchURL: url, Admin: admin, User: whitelist.Source{Path: "user.txt"}, Explain: true})
}

// TestMergeAdmin: each admin-list setting Group Policy gives replaces the
// file's, the others stay the file's, and the decision follows.
func TestMergeAdmin(t *testing.T) {
	const file = "/etc/trustlaunch/whitelist.txt"
	fileList := "# " + whitelist.Keyword + "\nfile.example.com\n"
	servers := gpList("Servers", gpSZ("1", "gp.example.com"), gpSZ("2", "other.example.com:8443"))
	const (
		fromFile = "https://file.example.com/s"
		fromGP   = "https://gp.example.com/s"
		neither  = "https://neither.example.com/s"
	)
	tests := []struct {
		name  string
		admin whitelist.Source
		gp    platform.GroupPolicy
		want  map[string]whitelist.Step
		trace string // a line of the explain trace for fromGP or fromFile
	}{
		{"no group policy", adminFile(t, file, fileList), platform.GroupPolicy{Absent: "no group policy on this OS"},
			map[string]whitelist.Step{fromFile: whitelist.StepAdminListed, fromGP: whitelist.StepAdminOnlyRefused},
			"admin list " + file + " (AllowAdminListOnly mode): line 2 file.example.com admits"},
		{"servers replace the file's entries; the file's mode stays", adminFile(t, file, fileList), platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{servers}},
			map[string]whitelist.Step{fromFile: whitelist.StepAdminOnlyRefused, fromGP: whitelist.StepAdminListed, neither: whitelist.StepAdminOnlyRefused},
			`admin list HKLM\Software\Policies\trustlaunch\Servers (AllowAdminListOnly mode from ` + file + `): value 1 gp.example.com admits`},
		{"mode 0 replaces the file's keyword", adminFile(t, file, fileList), platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("AllowAdminListOnly", 0)}},
			map[string]whitelist.Step{fromFile: whitelist.StepAdminListed, neither: whitelist.StepWouldPrompt},
			`admin list ` + file + ` (prompt mode from HKLM\Software\Policies\trustlaunch\AllowAdminListOnly): line 2 file.example.com admits`},
		{"mode 1 with a prompt-mode file", adminFile(t, file, "file.example.com\n"), platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("AllowAdminListOnly", 1)}},
			map[string]whitelist.Step{fromFile: whitelist.StepAdminListed, neither: whitelist.StepAdminOnlyRefused}, ""},
		{"no file: servers and mode from group policy", whitelist.Source{Path: file}, platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("AllowAdminListOnly", 1)}, Subkeys: []platform.RegistrySubkey{servers}},
			map[string]whitelist.Step{fromGP: whitelist.StepAdminListed, "https://other.example.com:8443/": whitelist.StepAdminListed, "https://other.example.com/": whitelist.StepAdminOnlyRefused, fromFile: whitelist.StepAdminOnlyRefused},
			`admin list HKLM\Software\Policies\trustlaunch\Servers (AllowAdminListOnly mode from HKLM\Software\Policies\trustlaunch\AllowAdminListOnly): value 1 gp.example.com admits`},
		{"no file: mode only", whitelist.Source{Path: file}, platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("AllowAdminListOnly", 1)}},
			map[string]whitelist.Step{fromFile: whitelist.StepAdminOnlyRefused}, ""},
		{"an empty list is not configured", adminFile(t, file, fileList), platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers")}},
			map[string]whitelist.Step{fromFile: whitelist.StepAdminListed, fromGP: whitelist.StepAdminOnlyRefused}, ""},
		{"unsafe file stays fatal", whitelist.Source{Path: file, Err: errors.New("owned by uid 1000")}, platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("AllowAdminListOnly", 0)}, Subkeys: []platform.RegistrySubkey{servers}},
			map[string]whitelist.Step{fromGP: whitelist.StepAdminFileUnsafe}, ""},
		{"malformed value stops every launch", adminFile(t, file, fileList), platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Servers", gpSZ("1", "gp.example.com"), gpSZ("2", "a..b"))}},
			map[string]whitelist.Step{fromFile: whitelist.StepAdminFileUnsafe, fromGP: whitelist.StepAdminFileUnsafe}, ""},
		{"malformed policy value stops every launch too", adminFile(t, file, fileList), platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Proxies", gpSZ("1", "*"))}},
			map[string]whitelist.Step{fromFile: whitelist.StepAdminFileUnsafe}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			admin := MergeAdmin(tc.admin, tc.gp, nil)
			traced := tc.trace == ""
			for url, want := range tc.want {
				d := decideAdmin(admin, url)
				if d.Step != want {
					t.Errorf("%s: step %s, want %s\n%s", url, d.Step, want, strings.Join(d.Trace, "\n"))
				}
				for _, line := range d.Trace {
					traced = traced || strings.Contains(line, tc.trace)
				}
				if want == whitelist.StepAdminFileUnsafe && tc.admin.Err == nil && !strings.Contains(d.Message, `HKLM\Software\Policies\trustlaunch\`) {
					t.Errorf("%s: the refusal does not name the Group Policy value: %s", url, d.Message)
				}
			}
			if !traced {
				t.Errorf("no trace line contains %q", tc.trace)
			}
		})
	}
}

// TestMergeAdminReadError: Group Policy that cannot be read stops every
// launch, naming the key (fail closed), on every OS the merge runs on.
func TestMergeAdminReadError(t *testing.T) {
	admin := MergeAdmin(whitelist.Source{Path: "w.txt"}, platform.GroupPolicy{}, errors.New("Access is denied."))
	var ge *GPError
	if !errors.As(admin.Err, &ge) || ge.Value != platform.GroupPolicyPath {
		t.Fatalf("MergeAdmin with a read error: Err = %v, want a *GPError naming %s", admin.Err, platform.GroupPolicyPath)
	}
	pol := Merge(Source{Path: "p.toml"}, platform.GroupPolicy{}, errors.New("Access is denied."))
	if !errors.As(pol.Err, &ge) {
		t.Fatalf("Merge with a read error: Err = %v, want a *GPError", pol.Err)
	}
}

// TestMergePolicy: proxies, destinations, publishers and require_signed
// from Group Policy replace the file's one by one, and refusals name the
// place the refusing setting came from.
func TestMergePolicy(t *testing.T) {
	const file = "/etc/trustlaunch/policy.toml"
	p, probs := Parse(file, []byte(`
[[proxies]]
address = "file-proxy.example.com:8443"

[[destinations]]
address = "file-host.example.com:23"
`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	filePol := Source{Path: file, Policy: p}
	desc := func(proxy, host string, port int) *descriptor.Descriptor {
		d := &descriptor.Descriptor{}
		d.Proxy.Address, d.Destination.Host, d.Destination.Port = proxy, host, port
		return d
	}

	t.Run("proxies replaced, destinations kept", func(t *testing.T) {
		src := Merge(filePol, platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Proxies", gpSZ("1", "gp-proxy.example.com:8443"))}}, nil)
		if src.Err != nil {
			t.Fatal(src.Err)
		}
		if _, err := src.Policy.Check(desc("gp-proxy.example.com:8443", "file-host.example.com", 23)); err != nil {
			t.Errorf("Group Policy's proxy and the file's destination: %v", err)
		}
		_, err := src.Policy.Check(desc("file-proxy.example.com:8443", "file-host.example.com", 23))
		var pe *Error
		if !errors.As(err, &pe) || pe.Path != `HKLM\Software\Policies\trustlaunch\Proxies` || pe.Field != "proxy.address" {
			t.Errorf("the file's proxy, replaced by Group Policy: %v, want a refusal naming the Proxies key", err)
		}
		_, err = src.Policy.Check(desc("gp-proxy.example.com:8443", "gp-host.example.com", 23))
		if !errors.As(err, &pe) || pe.Path != file || pe.Field != "destination" {
			t.Errorf("a destination the file does not list: %v, want a refusal naming %s", err, file)
		}
		if p.ProxiesFrom != "" || len(p.Proxies) != 1 || p.Proxies[0].Entry.Host != "file-proxy.example.com" {
			t.Errorf("Merge changed the file's policy: %+v", p)
		}
	})

	t.Run("destinations with tls and pins", func(t *testing.T) {
		pin := "sha256/" + base64.StdEncoding.EncodeToString(make([]byte, 32))
		src := Merge(filePol, platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Destinations", gpSZ("1", "mf.example.com:992 tls"), gpSZ("2", "pinned.example.com:992 "+pin))}}, nil)
		if src.Err != nil {
			t.Fatal(src.Err)
		}
		_, err := src.Policy.Check(desc("file-proxy.example.com:8443", "mf.example.com", 992))
		var pe *Error
		if !errors.As(err, &pe) || pe.Field != "destination.tls" || !strings.Contains(err.Error(), "value 1") {
			t.Errorf("without end-to-end TLS: %v, want a destination.tls refusal naming value 1", err)
		}
		d := desc("file-proxy.example.com:8443", "pinned.example.com", 992)
		d.Destination.TLS = true
		g, err := src.Policy.Check(d)
		if err != nil || g.Dest == nil || !slices.Equal(g.Dest.Pins, []string{pin}) || !g.Dest.TLS {
			t.Errorf("pinned destination: grant %+v, %v; want its pin and TLS", g.Dest, err)
		}
	})

	t.Run("require signed from group policy needs a publisher", func(t *testing.T) {
		src := Merge(filePol, platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("RequireSigned", 1)}}, nil)
		var ge *GPError
		if !errors.As(src.Err, &ge) || ge.Value != `HKLM\Software\Policies\trustlaunch\RequireSigned` {
			t.Fatalf("RequireSigned=1 and no publisher: %v, want an error naming RequireSigned", src.Err)
		}
		key := testPublisherKey(t)
		src = Merge(filePol, platform.GroupPolicy{
			Values:  []platform.RegistryValue{gpDWORD("RequireSigned", 1)},
			Subkeys: []platform.RegistrySubkey{gpList("Publishers", gpSZ("Payroll portal", key+" portal.example.com"))},
		}, nil)
		if src.Err != nil {
			t.Fatal(src.Err)
		}
		pol := src.Policy
		if !pol.RequireSigned || len(pol.Publishers) != 1 || pol.Publishers[0].Name != "Payroll portal" || pol.Publishers[0].Alg != "EdDSA" ||
			len(pol.Publishers[0].Origins) != 1 || pol.Publishers[0].Origins[0].Host != "portal.example.com" {
			t.Fatalf("merged policy: %+v", pol)
		}
		_, err := pol.Check(desc("file-proxy.example.com:8443", "file-host.example.com", 23))
		var pe *Error
		if !errors.As(err, &pe) || pe.Field != "signature" || pe.Path != `HKLM\Software\Policies\trustlaunch\RequireSigned` {
			t.Errorf("unsigned descriptor: %v, want a signature refusal naming RequireSigned", err)
		}
		if pol.PublishersSource() != `HKLM\Software\Policies\trustlaunch\Publishers` {
			t.Errorf("PublishersSource = %s", pol.PublishersSource())
		}
	})

	t.Run("require signed 0 replaces the file's true", func(t *testing.T) {
		key := testPublisherKey(t)
		der, _ := base64.StdEncoding.DecodeString(key)
		pemKey := "-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(der) + "\n-----END PUBLIC KEY-----\n"
		sp, probs := Parse(file, []byte("require_signed = true\n[[publishers]]\nname = \"P\"\nkey = \"\"\"\n"+pemKey+"\"\"\"\n"))
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		src := Merge(Source{Path: file, Policy: sp}, platform.GroupPolicy{Values: []platform.RegistryValue{gpDWORD("RequireSigned", 0)}}, nil)
		if src.Err != nil || src.Policy.RequireSigned {
			t.Fatalf("RequireSigned=0 over require_signed = true: %+v, %v", src.Policy, src.Err)
		}
		if _, err := src.Policy.Check(desc("x.example.com:1", "y.example.com", 2)); err != nil {
			t.Errorf("unsigned descriptor with RequireSigned=0: %v", err)
		}
	})

	t.Run("no file", func(t *testing.T) {
		src := Merge(Source{Path: file}, platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Destinations", gpSZ("1", "mf.example.com"))}}, nil)
		if src.Err != nil || src.Policy == nil || src.Policy.Path != platform.GroupPolicyPath {
			t.Fatalf("Group Policy without a file: %+v, %v", src.Policy, src.Err)
		}
		if src.Policy.RestrictProxies {
			t.Errorf("Group Policy gave no proxies, yet they are restricted")
		}
		if _, err := src.Policy.Check(desc("any.example.com:1", "other.example.com", 23)); err == nil {
			t.Errorf("a destination Group Policy does not list was allowed")
		}
	})

	t.Run("unusable file stays fatal", func(t *testing.T) {
		bad := Source{Path: file, Err: errors.New("owned by uid 1000")}
		if src := Merge(bad, platform.GroupPolicy{Subkeys: []platform.RegistrySubkey{gpList("Proxies", gpSZ("1", "p.example.com"))}}, nil); src.Err == nil {
			t.Errorf("an unusable policy file was replaced by Group Policy")
		}
	})

	t.Run("absent", func(t *testing.T) {
		src := Merge(filePol, platform.GroupPolicy{Absent: "no group policy on this OS"}, nil)
		if src.Policy != p || src.Err != nil {
			t.Errorf("absent Group Policy changed the policy")
		}
	})
}

// admx is the part of an ADMX file the test reads.
type admx struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions policyDefinitions"`
	Revision string   `xml:"revision,attr"`
	Schema   string   `xml:"schemaVersion,attr"`
	Target   struct {
		Prefix    string `xml:"prefix,attr"`
		Namespace string `xml:"namespace,attr"`
	} `xml:"policyNamespaces>target"`
	Resources struct {
		MinRequiredRevision string `xml:"minRequiredRevision,attr"`
	} `xml:"resources"`
	SupportedOn []struct {
		Name        string `xml:"name,attr"`
		DisplayName string `xml:"displayName,attr"`
	} `xml:"supportedOn>definitions>definition"`
	Categories []struct {
		Name        string `xml:"name,attr"`
		DisplayName string `xml:"displayName,attr"`
		ExplainText string `xml:"explainText,attr"`
	} `xml:"categories>category"`
	Policies []struct {
		Name         string `xml:"name,attr"`
		Class        string `xml:"class,attr"`
		DisplayName  string `xml:"displayName,attr"`
		ExplainText  string `xml:"explainText,attr"`
		Presentation string `xml:"presentation,attr"`
		Key          string `xml:"key,attr"`
		ValueName    string `xml:"valueName,attr"`
		Parent       struct {
			Ref string `xml:"ref,attr"`
		} `xml:"parentCategory"`
		Supported struct {
			Ref string `xml:"ref,attr"`
		} `xml:"supportedOn"`
		Enabled *struct {
			Decimal *struct {
				Value string `xml:"value,attr"`
			} `xml:"decimal"`
		} `xml:"enabledValue"`
		Disabled *struct {
			Decimal *struct {
				Value string `xml:"value,attr"`
			} `xml:"decimal"`
		} `xml:"disabledValue"`
		Lists []struct {
			ID            string  `xml:"id,attr"`
			Key           string  `xml:"key,attr"`
			ValuePrefix   *string `xml:"valuePrefix,attr"`
			ExplicitValue string  `xml:"explicitValue,attr"`
			Expandable    string  `xml:"expandable,attr"`
		} `xml:"elements>list"`
		Enums []struct {
			ID        string `xml:"id,attr"`
			Key       string `xml:"key,attr"`
			ValueName string `xml:"valueName,attr"`
			Required  string `xml:"required,attr"`
			Items     []struct {
				DisplayName string  `xml:"displayName,attr"`
				String      *string `xml:"value>string"`
			} `xml:"item"`
		} `xml:"elements>enum"`
	} `xml:"policies>policy"`
}

type adml struct {
	XMLName     xml.Name `xml:"http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions policyDefinitionResources"`
	DisplayName string   `xml:"displayName"`
	Strings     []struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"resources>stringTable>string"`
	Presentations []struct {
		ID       string `xml:"id,attr"`
		ListBoxs []struct {
			RefID string `xml:"refId,attr"`
		} `xml:"listBox"`
		Dropdowns []struct {
			RefID string `xml:"refId,attr"`
		} `xml:"dropdownList"`
	} `xml:"resources>presentationTable>presentation"`
}

// TestADMXMatchesCode: every policy trustlaunch.admx defines writes a value
// (or list subkey) that ParseGP reads, and every value and subkey
// the code reads is defined by a policy; booleans write REG_DWORD 1/0 and
// lists numbered REG_SZ values (or named ones for Publishers), the OS
// log's level a REG_SZ level, as the parser expects; and
// en-US/trustlaunch.adml defines every string and presentation the ADMX
// refers to.
func TestADMXMatchesCode(t *testing.T) {
	dir := filepath.Join("..", "packaging", "windows", "admx")
	var x admx
	readXML(t, filepath.Join(dir, "trustlaunch.admx"), &x)
	var l adml
	readXML(t, filepath.Join(dir, "en-US", "trustlaunch.adml"), &l)

	if x.Revision == "" || x.Schema != "1.0" || x.Target.Prefix == "" || x.Target.Namespace == "" || x.Resources.MinRequiredRevision == "" {
		t.Errorf("ADMX header incomplete: revision %q schemaVersion %q target %+v resources %+v", x.Revision, x.Schema, x.Target, x.Resources)
	}
	strs := map[string]bool{}
	for _, s := range l.Strings {
		if strs[s.ID] {
			t.Errorf("ADML defines string %s twice", s.ID)
		}
		strs[s.ID] = strings.TrimSpace(s.Text) != ""
	}
	pres := map[string][]string{}
	for _, p := range l.Presentations {
		for _, lb := range p.ListBoxs {
			pres[p.ID] = append(pres[p.ID], lb.RefID)
		}
		for _, dd := range p.Dropdowns {
			pres[p.ID] = append(pres[p.ID], dd.RefID)
		}
	}
	ref := regexp.MustCompile(`^\$\((string|presentation)\.([A-Za-z0-9_]+)\)$`)
	needString := func(where, s string) {
		m := ref.FindStringSubmatch(s)
		if m == nil || m[1] != "string" {
			t.Errorf("%s: %q is not $(string.ID)", where, s)
		} else if !strs[m[2]] {
			t.Errorf("%s: the ADML has no (non-empty) string %s", where, m[2])
		}
	}
	if l.DisplayName == "" {
		t.Errorf("ADML has no displayName")
	}
	supported := map[string]bool{}
	for _, s := range x.SupportedOn {
		supported[s.Name] = true
		needString("supportedOn "+s.Name, s.DisplayName)
	}
	cats := map[string]bool{}
	for _, c := range x.Categories {
		cats[c.Name] = true
		needString("category "+c.Name, c.DisplayName)
		needString("category "+c.Name, c.ExplainText)
	}

	const base = `Software\Policies\trustlaunch`
	if base != platform.GroupPolicyKey {
		t.Fatalf("platform.GroupPolicyKey is %s, the template writes %s", platform.GroupPolicyKey, base)
	}
	var values, lists, enums []string
	for _, p := range x.Policies {
		where := "policy " + p.Name
		if p.Class != "Machine" {
			t.Errorf("%s: class %q; trustlaunch reads HKLM only, so every policy is Machine", where, p.Class)
		}
		needString(where, p.DisplayName)
		needString(where, p.ExplainText)
		if !cats[p.Parent.Ref] {
			t.Errorf("%s: parent category %q is not defined", where, p.Parent.Ref)
		}
		if !supported[p.Supported.Ref] {
			t.Errorf("%s: supportedOn %q is not defined", where, p.Supported.Ref)
		}
		switch {
		case p.ValueName != "":
			if p.Key != base || len(p.Lists) > 0 {
				t.Errorf("%s: a value policy must write %s\\%s and nothing else (key %s, %d lists)", where, base, p.ValueName, p.Key, len(p.Lists))
			}
			if p.Enabled == nil || p.Enabled.Decimal == nil || p.Enabled.Decimal.Value != "1" || p.Disabled == nil || p.Disabled.Decimal == nil || p.Disabled.Decimal.Value != "0" {
				t.Errorf("%s: want enabledValue decimal 1 and disabledValue decimal 0 (REG_DWORD, what ParseGP reads)", where)
			}
			values = append(values, p.ValueName)
		case len(p.Enums) == 1 && len(p.Lists) == 0:
			// The OS log's level: one REG_SZ value, each item a level
			// the parser reads, every level offered.
			e := p.Enums[0]
			if p.Key != base || (e.Key != "" && e.Key != base) || e.ValueName == "" || e.Required != "true" {
				t.Errorf("%s: an enum must write a required value under %s (key %s, enum key %q, valueName %q)", where, base, p.Key, e.Key, e.ValueName)
			}
			var levels []string
			for _, it := range e.Items {
				needString(where+" item", it.DisplayName)
				if it.String == nil {
					t.Errorf("%s: item %s writes no REG_SZ", where, it.DisplayName)
					continue
				}
				if _, err := oslog.ParseLevel(*it.String); err != nil {
					t.Errorf("%s: item %s: %v", where, it.DisplayName, err)
				}
				levels = append(levels, *it.String)
			}
			if strings.Join(levels, ", ") != oslog.Levels() {
				t.Errorf("%s: items %v, want the levels %s", where, levels, oslog.Levels())
			}
			m := ref.FindStringSubmatch(p.Presentation)
			if m == nil || m[1] != "presentation" || !slices.Contains(pres[m[2]], e.ID) {
				t.Errorf("%s: presentation %q has no dropdownList for %s in the ADML", where, p.Presentation, e.ID)
			}
			values = append(values, e.ValueName)
			enums = append(enums, e.ValueName)
		case len(p.Lists) == 1:
			li := p.Lists[0]
			sub, ok := strings.CutPrefix(li.Key, base+`\`)
			if !ok || strings.Contains(sub, `\`) || p.Key != li.Key {
				t.Errorf("%s: list key %s must be one subkey of %s (and the policy's key)", where, li.Key, base)
			}
			if li.Expandable == "true" {
				t.Errorf("%s: an expandable list writes REG_EXPAND_SZ, which the code refuses", where)
			}
			if sub == GPPublishers {
				if li.ExplicitValue != "true" {
					t.Errorf("%s: publishers are named by their value names: want explicitValue=\"true\"", where)
				}
			} else if li.ExplicitValue == "true" || li.ValuePrefix == nil || *li.ValuePrefix != "" {
				t.Errorf("%s: the code reads values named 1, 2, 3, ...: want valuePrefix=\"\" and no explicitValue", where)
			}
			m := ref.FindStringSubmatch(p.Presentation)
			if m == nil || m[1] != "presentation" || !slices.Contains(pres[m[2]], li.ID) {
				t.Errorf("%s: presentation %q has no listBox for %s in the ADML", where, p.Presentation, li.ID)
			}
			lists = append(lists, sub)
		default:
			t.Errorf("%s: neither a value nor one list", where)
		}
	}
	slices.Sort(values)
	slices.Sort(lists)
	wantValues := slices.Sorted(slices.Values(GPValueNames))
	wantLists := slices.Sorted(slices.Values(GPListKeys))
	if !slices.Equal(values, wantValues) {
		t.Errorf("the ADMX writes the values %v; the code reads %v", values, wantValues)
	}
	if !slices.Equal(lists, wantLists) {
		t.Errorf("the ADMX writes the lists %v; the code reads %v", lists, wantLists)
	}

	// And the reverse, through the parser itself: each value the ADMX
	// writes, with the type it writes, is read without error.
	gp := platform.GroupPolicy{}
	for _, v := range values {
		if slices.Contains(enums, v) {
			gp.Values = append(gp.Values, gpSZ(v, "warning"))
			continue
		}
		gp.Values = append(gp.Values, gpDWORD(v, 1))
	}
	for _, sub := range lists {
		val := gpSZ("1", "host.example.com")
		if sub == GPPublishers {
			val = gpSZ("Portal", testPublisherKey(t))
		}
		gp.Subkeys = append(gp.Subkeys, gpList(sub, val))
	}
	set, err := ParseGP(gp)
	if err != nil {
		t.Fatalf("the values the ADMX writes do not parse: %v", err)
	}
	if !set.HasAdminOnly || !set.HasRequireSigned || !set.HasServers || !set.HasProxies || !set.HasDestinations || !set.HasPublishers || !set.HasOSLog {
		t.Errorf("a value the ADMX writes is not read: %+v", set)
	}
}

func readXML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestMergeOSLog: Group Policy's OSLog replaces the file's os_log, and
// gives the level on its own when there is no file.
func TestMergeOSLog(t *testing.T) {
	file, probs := Parse("policy.toml", []byte("os_log = \"warning\"\n"))
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	gp := platform.GroupPolicy{Values: []platform.RegistryValue{gpSZ("OSLog", "off")}}
	src := Merge(Source{Path: "policy.toml", Policy: file}, gp, nil)
	if src.Err != nil || src.OSLogLevel() != oslog.LevelOff || src.Policy.OSLogFrom != `HKLM\Software\Policies\trustlaunch\OSLog` {
		t.Errorf("file warning, Group Policy off: %+v", src)
	}
	if src := Merge(Source{Path: "policy.toml", Policy: file}, platform.GroupPolicy{}, nil); src.OSLogLevel() != oslog.LevelWarning || src.Policy.OSLogFrom != "" {
		t.Errorf("file warning, no Group Policy: %+v", src)
	}
	src = Merge(Source{Path: "policy.toml"}, platform.GroupPolicy{Values: []platform.RegistryValue{gpSZ("OSLog", "error")}}, nil)
	if src.Err != nil || src.OSLogLevel() != oslog.LevelError {
		t.Errorf("no file, Group Policy error: %+v", src)
	}
	if g, err := src.Policy.Check(&descriptor.Descriptor{}); err != nil || g.Dest != nil {
		t.Errorf("a policy that sets only the log's level refuses a descriptor: %v", err)
	}
}
