package platform

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// internetSettings is the key of the user's proxy setting (what the
// Settings app and inetcpl.cpl write).
const internetSettings = `Software\Microsoft\Windows\CurrentVersion\Internet Settings`

// systemProxy reads ProxyEnable, ProxyServer, ProxyOverride and
// AutoConfigURL from HKCU. A missing key or value is "not set"; any other
// read error is returned, never taken for "no proxy".
func systemProxy() (WindowsProxy, bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, internetSettings, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return WindowsProxy{}, false, nil
	}
	if err != nil {
		return WindowsProxy{}, false, fmt.Errorf(`HKCU\%s: %w`, internetSettings, err)
	}
	defer k.Close()
	enable, _, err := k.GetIntegerValue("ProxyEnable")
	if err != nil && !errors.Is(err, registry.ErrNotExist) {
		return WindowsProxy{}, false, fmt.Errorf(`HKCU\%s\ProxyEnable: %w`, internetSettings, err)
	}
	str := func(name string) (string, error) {
		v, _, err := k.GetStringValue(name)
		if err != nil && !errors.Is(err, registry.ErrNotExist) {
			return "", fmt.Errorf(`HKCU\%s\%s: %w`, internetSettings, name, err)
		}
		return v, nil
	}
	server, err := str("ProxyServer")
	if err != nil {
		return WindowsProxy{}, false, err
	}
	override, err := str("ProxyOverride")
	if err != nil {
		return WindowsProxy{}, false, err
	}
	pac, err := str("AutoConfigURL")
	if err != nil {
		return WindowsProxy{}, false, err
	}
	p, err := ParseWindowsProxy(uint32(enable), server, override, pac)
	if err != nil {
		return WindowsProxy{}, false, fmt.Errorf(`HKCU\%s: %w`, internetSettings, err)
	}
	if p.AutoConfigURL == "" {
		detect, err := autoDetect()
		if err != nil {
			return WindowsProxy{}, false, err
		}
		// Auto-detection comes first in Windows; the manual proxy, when
		// one is set too, is what its failure falls back to
		// (WinHTTPOptions.Fallback).
		p.AutoDetect = detect
	}
	return p, p.HTTPSProxy != "" || p.AutoConfigURL != "" || p.AutoDetect, nil
}

// connectionsKey holds DefaultConnectionSettings, whose flags say whether
// "Automatically detect settings" is on.
const connectionsKey = internetSettings + `\Connections`

// autoDetect reads the auto-detect flag; a missing key or value is off.
func autoDetect() (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, connectionsKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf(`HKCU\%s: %w`, connectionsKey, err)
	}
	defer k.Close()
	blob, _, err := k.GetBinaryValue("DefaultConnectionSettings")
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf(`HKCU\%s\DefaultConnectionSettings: %w`, connectionsKey, err)
	}
	return ParseConnectionSettings(blob), nil
}
