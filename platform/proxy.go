package platform

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// WindowsProxy is the user's proxy setting as Windows keeps it in
// HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings
// (ProxyEnable, ProxyServer, ProxyOverride, AutoConfigURL), read into what
// trustlaunch uses: the proxy for https connections and the hosts that
// bypass it.
type WindowsProxy struct {
	// HTTPSProxy is HOST:PORT of the proxy for https, "" for none.
	HTTPSProxy string
	// Local is ProxyOverride's "<local>": host names without a dot
	// bypass the proxy.
	Local bool
	// Bypass are ProxyOverride's other entries, "*" standing for any run
	// of characters ("*.corp.example", "10.*").
	Bypass []string
}

// ErrPACUnsupported is the error of a Windows proxy setting that is a PAC
// script (AutoConfigURL): trustlaunch does not run proxy scripts.
var ErrPACUnsupported = errors.New("the Windows proxy setting is a PAC script (AutoConfigURL), which trustlaunch does not run")

// PACError is ErrPACUnsupported with the script's address and what to set
// instead.
type PACError struct {
	URL string // scheme, host and path only (pacShown)
}

func (e *PACError) Error() string {
	return ErrPACUnsupported.Error() + " (" + e.URL + "): set HTTPS_PROXY=http://HOST:PORT, or run with --outbound-proxy http://HOST:PORT or --outbound-proxy none"
}

func (e *PACError) Unwrap() error { return ErrPACUnsupported }

// pacShown is the AutoConfigURL as a PACError shows it: scheme, host and
// path, without userinfo, query or fragment, where a script URL may carry
// a password or a key (credentials never reach error text).
func pacShown(raw string) string {
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
// AutoConfigURL is a *PACError; a proxy that is off (enable 0), none. It is pure Go, tested on every OS; SystemProxy
// reads the values from the registry on Windows.
func ParseWindowsProxy(enable uint32, server, override, autoConfigURL string) (WindowsProxy, error) {
	var p WindowsProxy
	// A setup script wins over the manual proxy in Windows, so a manual
	// proxy beside it is not what the user's browser uses either.
	if u := strings.TrimSpace(autoConfigURL); u != "" {
		return p, &PACError{URL: pacShown(u)}
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

// SystemProxy returns the user's system proxy setting: on Windows, the
// Internet Settings values of HKCU (ParseWindowsProxy); elsewhere there is
// none (the environment's HTTPS_PROXY is the setting there), and ok is
// false.
func SystemProxy() (p WindowsProxy, ok bool, err error) { return systemProxy() }
