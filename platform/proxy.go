package platform

import (
	"fmt"
	"net/url"
	"strings"
)

// WindowsProxy is the user's proxy setting as Windows keeps it in
// HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings
// (ProxyEnable, ProxyServer, ProxyOverride, AutoConfigURL, and the
// auto-detect flag of Connections\DefaultConnectionSettings), read into
// what trustlaunch uses: a PAC script or auto-detection (WPAD), which
// WinHTTP evaluates (WinHTTPScript), else the proxy for https connections
// and the hosts that bypass it.
type WindowsProxy struct {
	// AutoConfigURL is the PAC script's URL, "" for none. It may carry a
	// key in its query: messages show PACShown(AutoConfigURL).
	AutoConfigURL string
	// AutoDetect is "Automatically detect settings": WPAD, through DHCP
	// and DNS.
	AutoDetect bool
	// HTTPSProxy is HOST:PORT of the proxy for https, "" for none.
	HTTPSProxy string
	// Local is ProxyOverride's "<local>": host names without a dot
	// bypass the proxy.
	Local bool
	// Bypass are ProxyOverride's other entries, "*" standing for any run
	// of characters ("*.corp.example", "10.*").
	Bypass []string
}

// PACShown is a PAC script's URL as messages show it: scheme, host and
// path, without userinfo, query or fragment, where a script URL may carry
// a password or a key (credentials never reach error text).
func PACShown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "a URL that does not parse"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// ParseWindowsProxy reads the Internet Settings values. ProxyServer is
// either one "HOST:PORT" for every protocol or per-protocol entries,
// "http=HOST:PORT;https=HOST:PORT;ftp=...": the https entry counts, and
// without one there is no proxy for https (as WinINet does). An
// AutoConfigURL is returned alone: a setup script wins over the manual
// proxy in Windows, so a manual proxy beside it is not what the user's
// browser uses either. A proxy that is off (enable 0) is none. It is pure
// Go, tested on every OS; SystemProxy reads the values from the registry
// on Windows.
func ParseWindowsProxy(enable uint32, server, override, autoConfigURL string) (WindowsProxy, error) {
	var p WindowsProxy
	if u := strings.TrimSpace(autoConfigURL); u != "" {
		if pu, err := url.Parse(u); err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
			// Not quoted: the URL may hold a password or a key.
			return p, fmt.Errorf("AutoConfigURL %s is not an http:// or https:// URL of a PAC script", PACShown(u))
		}
		if pu, _ := url.Parse(u); pu.User != nil {
			return p, fmt.Errorf("AutoConfigURL %s has a user name or password, which trustlaunch does not send", PACShown(u))
		}
		return WindowsProxy{AutoConfigURL: u}, nil
	}
	if enable == 0 {
		return p, nil
	}
	server = strings.TrimSpace(server)
	if strings.Contains(server, "=") {
		for i, part := range strings.Split(server, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				// Not quoted: a mistyped entry may be USER:PASSWORD@HOST:PORT,
				// and the error goes to the terminal and a notification.
				return WindowsProxy{}, fmt.Errorf("ProxyServer entry %d of %s (not shown: it may hold a password): want PROTOCOL=HOST:PORT", i+1, "\"http=...;https=...\"")
			}
			if strings.EqualFold(strings.TrimSpace(k), "https") {
				p.HTTPSProxy = strings.TrimSpace(v)
			}
		}
	} else {
		p.HTTPSProxy = server
	}
	// WinINet accepts "http://host:port" in ProxyServer too.
	p.HTTPSProxy = strings.TrimPrefix(p.HTTPSProxy, "http://")
	if p.HTTPSProxy == "" {
		return WindowsProxy{}, nil
	}
	for _, e := range strings.FieldsFunc(override, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' || r == '\r' || r == '\n' }) {
		if strings.EqualFold(e, "<local>") {
			p.Local = true
			continue
		}
		p.Bypass = append(p.Bypass, e)
	}
	return p, nil
}

// ParseConnectionSettings reads the auto-detect flag ("Automatically
// detect settings") from the binary DefaultConnectionSettings value of
// Internet Settings\Connections: a version and a counter (4 bytes each),
// then the flags, where 8 is PROXY_TYPE_AUTO_DETECT. A value too short to
// hold the flags has none set.
func ParseConnectionSettings(blob []byte) (autoDetect bool) {
	const proxyTypeAutoDetect = 0x08
	return len(blob) >= 12 && blob[8]&proxyTypeAutoDetect != 0
}

// SystemProxy returns the user's system proxy setting: on Windows, the
// Internet Settings values of HKCU (ParseWindowsProxy,
// ParseConnectionSettings); elsewhere there is none (the environment's
// HTTPS_PROXY is the setting there), and ok is false. ok is true for a
// PAC script or auto-detection as for a manual proxy.
func SystemProxy() (p WindowsProxy, ok bool, err error) { return systemProxy() }
