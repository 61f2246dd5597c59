package connector

import (
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
