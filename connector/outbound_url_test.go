package connector

import (
	"strings"
	"testing"
)

// TestProxyURLErrorsHoldNoCredentials: an unencoded "/", "?" or "#" in a
// proxy password ends the URL's authority early, so what url.Parse calls the
// host is the user name and the start of the password. No error may quote
// it.
func TestProxyURLErrorsHoldNoCredentials(t *testing.T) {
	for _, raw := range []string{
		"http://alice:9999?x@proxy.corp:3128",
		"http://alice:4242/secret@proxy.corp:3128",
		"http://alice:p/ss@proxy.corp:3128",
		"http://alice:77#frag@proxy.corp:3128",
		"alice:9999?x@proxy.corp:3128",
	} {
		_, err := parseProxyURL(raw)
		if err == nil {
			t.Errorf("%s: accepted", raw)
			continue
		}
		for _, secret := range []string{"alice", "9999", "4242", "secret", "p/ss", "77"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error quotes %q: %v", raw, secret, err)
			}
		}
	}
	// A password with an unencoded "@" still parses (the last "@" ends it).
	if u, err := parseProxyURL("http://alice:p@ss@proxy.corp:3128"); err != nil || u.Host != "proxy.corp:3128" {
		t.Errorf("password with @: %v, %v", u, err)
	}
}
