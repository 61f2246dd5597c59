package platform

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
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
		// A setup script wins over the manual proxy, as in Windows.
		got, err := ParseWindowsProxy(enable, "proxy.corp:3128", "", " http://wpad.corp/proxy.pac ")
		if err != nil || !reflect.DeepEqual(got, WindowsProxy{AutoConfigURL: "http://wpad.corp/proxy.pac"}) {
			t.Errorf("enable %d with a PAC URL: %+v, %v", enable, got, err)
		}
	}
	if _, err := ParseWindowsProxy(1, "", "", "file:///c:/proxy.pac"); err == nil {
		t.Errorf("a file: AutoConfigURL was accepted")
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
		{"PAC URL of another scheme with a key in the query", "", "ftp://pac.corp/proxy.pac?key=" + secret},
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
	_, err := ParseWindowsProxy(1, "", "", "ftp://pac.corp/proxy.pac?key="+secret)
	if !strings.Contains(err.Error(), "ftp://pac.corp/proxy.pac") {
		t.Errorf("PAC error %q does not name the script", err)
	}
}

func TestParseConnectionSettings(t *testing.T) {
	for _, tc := range []struct {
		blob []byte
		want bool
	}{
		{nil, false},
		{[]byte{0x46, 0, 0, 0, 5, 0, 0, 0, 0x09, 0, 0, 0}, true},
		{[]byte{0x46, 0, 0, 0, 5, 0, 0, 0, 0x01, 0, 0, 0}, false},
		{[]byte{0x46, 0, 0, 0, 5, 0, 0, 0, 0x0d}, false},
	} {
		if got := ParseConnectionSettings(tc.blob); got != tc.want {
			t.Errorf("ParseConnectionSettings(% x) = %v", tc.blob, got)
		}
	}
}

func TestWinHTTPProxyList(t *testing.T) {
	for _, tc := range []struct {
		access      uint32
		proxy, want string
	}{
		{winHTTPAccessNoProxy, "", "DIRECT"},
		{winHTTPAccessNamedProxy, "a.corp:3128", "PROXY a.corp:3128"},
		{winHTTPAccessNamedProxy, "a.corp:3128;b.corp:3128", "PROXY a.corp:3128; PROXY b.corp:3128"},
		{winHTTPAccessNamedProxy, "a.corp:3128 b.corp:3128", "PROXY a.corp:3128; PROXY b.corp:3128"},
		{winHTTPAccessNamedProxy, "http=web:80;https=tls:8443;ftp=f:21", "PROXY web:80; PROXY tls:8443"},
		{winHTTPAccessNamedProxy, "http://a.corp:3128", "PROXY a.corp:3128"},
		{winHTTPAccessNamedProxy, "ftp=f:21", ""},
		{winHTTPAccessNamedProxy, "", ""},
		{7, "a:1", ""},
	} {
		got, err := WinHTTPProxyList(tc.access, tc.proxy)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("WinHTTPProxyList(%d, %q) = %q, %v; want %q", tc.access, tc.proxy, got, err, tc.want)
		}
	}
}

// TestWinHTTPScript runs the bounding and the answer's reading with
// injected WinHTTP answers: a call that never returns is abandoned at the
// timeout and fails every later query at once; a failed auto-detection
// falls back to the manual proxy when one is set.
func TestWinHTTPScript(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	hang := NewWinHTTPScript(WinHTTPOptions{URL: "http://wpad.corp/loop.pac?key=k9", Timeout: 100 * time.Millisecond,
		resolve: func(WinHTTPOptions, string) (uint32, string, error) { <-block; return 0, "", nil }})
	start := time.Now()
	_, err := hang.FindProxy(t.Context(), "secproxy.test", "8443")
	if err == nil || !strings.Contains(err.Error(), "did not answer within 100ms") || time.Since(start) > 5*time.Second {
		t.Fatalf("a hanging call: %v after %v", err, time.Since(start))
	}
	start = time.Now()
	if _, err2 := hang.FindProxy(t.Context(), "portal.test", "443"); err2 == nil || time.Since(start) > 50*time.Millisecond {
		t.Errorf("the second query: %v after %v, want the first failure at once", err2, time.Since(start))
	}
	if s := hang.String(); s != "PAC http://wpad.corp/loop.pac (WinHTTP)" {
		t.Errorf("String = %q", s)
	}

	var asked string
	list := NewWinHTTPScript(WinHTTPOptions{URL: "http://wpad.corp/wpad.dat", resolve: func(o WinHTTPOptions, target string) (uint32, string, error) {
		asked = target
		return winHTTPAccessNamedProxy, "a.corp:3128;b.corp:3128", nil
	}})
	if got, err := list.FindProxy(t.Context(), "secproxy.test", "8443"); err != nil || got != "PROXY a.corp:3128; PROXY b.corp:3128" || asked != "https://secproxy.test:8443/" {
		t.Errorf("FindProxy = %q, %v for %q", got, err, asked)
	}

	failed := errors.New("WinHTTP found no PAC script by auto-detection (WPAD, error 12180)")
	wpad := func(fallback string) *WinHTTPScript {
		return NewWinHTTPScript(WinHTTPOptions{AutoDetect: true, Fallback: fallback,
			resolve: func(WinHTTPOptions, string) (uint32, string, error) { return 0, "", failed }})
	}
	if got, err := wpad("PROXY manual.corp:8080").FindProxy(t.Context(), "x", "443"); err != nil || got != "PROXY manual.corp:8080" {
		t.Errorf("WPAD failed with a manual proxy: %q, %v", got, err)
	}
	if _, err := wpad("").FindProxy(t.Context(), "x", "443"); !errors.Is(err, failed) {
		t.Errorf("WPAD failed without a manual proxy: %v", err)
	}
}
