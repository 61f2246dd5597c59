package main

import (
	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/platform"
)

// pacSetting is the setting whose proxies the PAC script at rawURL
// chooses, evaluated by WinHTTP (platform.WinHTTPScript), as the
// browser's own proxy resolution does on Windows.
func pacSetting(source, rawURL string) (*connector.OutboundProxy, error) {
	return connector.NewOutboundScript(source, platform.NewWinHTTPScript(platform.WinHTTPOptions{URL: rawURL})), nil
}

// systemOutbound is the user's system proxy (Internet Settings): a PAC
// script (AutoConfigURL) or auto-detection (WPAD) through WinHTTP, else
// the manual proxy with its exceptions; env (direct) when none is set.
func systemOutbound(env *connector.OutboundProxy) (*connector.OutboundProxy, error) {
	sys, ok, err := platform.SystemProxy()
	if err != nil {
		return nil, err
	}
	switch {
	case sys.AutoConfigURL != "" || sys.AutoDetect:
		o := platform.WinHTTPOptions{URL: sys.AutoConfigURL, AutoDetect: sys.AutoDetect}
		if sys.HTTPSProxy != "" {
			// Auto-detection found nothing: the manual proxy, as the
			// browser falls back to it.
			o.Fallback = "PROXY " + sys.HTTPSProxy
		}
		return connector.NewOutboundScript(connector.SourceWindows, platform.NewWinHTTPScript(o)), nil
	case !ok:
		return env, nil
	}
	ob, err := connector.NewOutboundProxy(connector.SourceWindows, sys.HTTPSProxy, "")
	if err != nil {
		return nil, err
	}
	return ob.WithWindowsBypass(sys.Local, sys.Bypass), nil
}
