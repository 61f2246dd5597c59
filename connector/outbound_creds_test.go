package connector

import (
	"context"
	"strings"
	"testing"
)

func TestOutboundCredentials(t *testing.T) {
	inURL, err := NewOutboundProxy(SourceEnvironment, "http://alice:s3cret@proxy.corp:3128", "")
	if err != nil {
		t.Fatal(err)
	}
	if !inURL.PasswordInURL() {
		t.Error("PasswordInURL is false for a URL with a password")
	}
	if _, err := inURL.WithCredentials("bob", "pw"); err == nil || !strings.Contains(err.Error(), "holds a user name already") {
		t.Errorf("WithCredentials over a URL's credentials: %v", err)
	}
	plain, err := NewOutboundProxy(SourceFlag, "http://proxy.corp:3128", "")
	if err != nil {
		t.Fatal(err)
	}
	if plain.PasswordInURL() {
		t.Error("PasswordInURL is true for a URL without credentials")
	}
	withFile, err := plain.WithCredentials("bob", "from-file")
	if err != nil {
		t.Fatal(err)
	}
	if withFile.PasswordInURL() {
		t.Error("PasswordInURL is true for credentials from a file")
	}
	u := withFile.ProxyFor("secproxy.example:443")
	if pass, _ := u.User.Password(); u.User.Username() != "bob" || pass != "from-file" {
		t.Errorf("ProxyFor = %v, want bob's credentials", u.Redacted())
	}
	if plain.ProxyFor("secproxy.example:443").User != nil {
		t.Error("WithCredentials changed the setting it was called on")
	}
	if strings.Contains(withFile.String(), "from-file") {
		t.Errorf("String shows the password: %s", withFile)
	}
	if _, err := DirectOutbound(SourceFlag).WithCredentials("bob", "pw"); err == nil {
		t.Error("credentials for a direct setting were accepted")
	}
}

// stubScript is a PAC script's answer without a script.
type stubScript string

func (s stubScript) FindProxy(context.Context, string, string) (string, error) { return string(s), nil }
func (stubScript) String() string                                              { return "PAC http://wpad.test/wpad.dat" }

// TestCredentialsOnlyForTheNamedProxy: a password from a file goes to the
// one proxy the user named, never to the members of a list or to the
// proxies a PAC script, fetched over the network, would choose.
func TestCredentialsOnlyForTheNamedProxy(t *testing.T) {
	list, err := NewOutboundList(SourceFlag, "PROXY a.test:3128; PROXY b.test:3128", "")
	if err != nil {
		t.Fatal(err)
	}
	script := NewOutboundScript(SourceFlag, stubScript("PROXY evil.test:3128"))
	for name, ob := range map[string]*OutboundProxy{"list": list, "PAC": script} {
		if _, err := ob.WithCredentials("bob", "pw"); err == nil || !strings.Contains(err.Error(), "not to a proxy list or the proxies a PAC script chooses") {
			t.Errorf("credentials for a %s setting: err = %v, want a refusal", name, err)
		}
	}
}

// TestScriptHopsKerberosOnly: a proxy a PAC script chose is signed on to
// with Kerberos only (on Windows, Negotiate's NTLM fallback is refused);
// a proxy the setting names itself keeps the full Negotiate.
func TestScriptHopsKerberosOnly(t *testing.T) {
	list, err := NewOutboundList(SourceFlag, "PROXY a.test:3128", "")
	if err != nil {
		t.Fatal(err)
	}
	one, err := NewOutboundProxy(SourceFlag, "http://a.test:3128", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		ob   *OutboundProxy
		want bool
	}{
		"PAC":  {NewOutboundScript(SourceFlag, stubScript("PROXY a.test:3128")), true},
		"list": {list, false}, "one proxy": {one, false},
	} {
		if got := (routeDial{setting: tc.ob}).authFor().KerberosOnly; got != tc.want {
			t.Errorf("%s: KerberosOnly = %v, want %v", name, got, tc.want)
		}
	}
}
