package platform

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestParseWindowsProxy reads Internet Settings values as the Settings app
// and inetcpl.cpl write them.
func TestParseWindowsProxy(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		enable                uint32
		server, override, pac string
		want                  WindowsProxy
	}{
		{"off", 0, "proxy.corp:3128", "", "", WindowsProxy{}},
		{"one for all", 1, "proxy.corp:3128", "", "", WindowsProxy{HTTPSProxy: "proxy.corp:3128"}},
		{"per protocol", 1, "http=web.corp:80;https=tls.corp:8443;ftp=ftp.corp:21", "", "", WindowsProxy{HTTPSProxy: "tls.corp:8443"}},
		{"per protocol without https", 1, "http=web.corp:80;socks=s.corp:1080", "", "", WindowsProxy{}},
		{"scheme in server", 1, "http://proxy.corp:3128", "", "", WindowsProxy{HTTPSProxy: "proxy.corp:3128"}},
		{"override", 1, "proxy.corp:3128", "*.lab.corp; 10.*;<local>", "", WindowsProxy{HTTPSProxy: "proxy.corp:3128", Local: true, Bypass: []string{"*.lab.corp", "10.*"}}},
		{"override LOCAL case", 1, "proxy.corp:3128", "<LOCAL>", "", WindowsProxy{HTTPSProxy: "proxy.corp:3128", Local: true}},
		{"enabled but empty", 1, "", "<local>", "", WindowsProxy{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWindowsProxy(tc.enable, tc.server, tc.override, tc.pac)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseWindowsProxy = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for _, enable := range []uint32{0, 1} {
		_, err := ParseWindowsProxy(enable, "proxy.corp:3128", "", "http://wpad.corp/proxy.pac")
		var pe *PACError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPACUnsupported) || !strings.Contains(err.Error(), "http://wpad.corp/proxy.pac") || !strings.Contains(err.Error(), "HTTPS_PROXY=http://HOST:PORT") {
			t.Errorf("enable %d with a PAC URL: %v, want a *PACError saying what to set instead", enable, err)
		}
	}
	if _, err := ParseWindowsProxy(1, "http=web.corp:80;garbage", "", ""); err == nil {
		t.Errorf("a ProxyServer entry without = was accepted")
	}
}

// TestParseWindowsProxyErrorsHoldNoCredentials: an Internet Settings value
// that trustlaunch refuses may carry a proxy password (a ProxyServer entry
// typed as USER:PASSWORD@HOST:PORT, a PAC URL with userinfo or a key in
// its query); the error names what is wrong without repeating it, since
// open prints it on the terminal and in a desktop notification.
func TestParseWindowsProxyErrorsHoldNoCredentials(t *testing.T) {
	const secret = "s3cretPW"
	for _, tc := range []struct{ name, server, pac string }{
		{"entry without =", "http=web.corp:80;alice:" + secret + "@tls.corp:8443", ""},
		{"PAC URL with userinfo", "", "http://alice:" + secret + "@wpad.corp/proxy.pac"},
		{"PAC URL with a key in the query", "", "https://pac.corp/proxy.pac?key=" + secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWindowsProxy(1, tc.server, "", tc.pac)
			if err == nil {
				t.Fatalf("ParseWindowsProxy accepted %q %q", tc.server, tc.pac)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "alice") {
				t.Errorf("error repeats the credentials: %v", err)
			}
		})
	}
	// What is kept: the PAC script's host and path, to tell the user which
	// setting to change.
	_, err := ParseWindowsProxy(1, "", "", "https://pac.corp/proxy.pac?key="+secret)
	if !strings.Contains(err.Error(), "https://pac.corp/proxy.pac") {
		t.Errorf("PAC error %q does not name the script", err)
	}
}
