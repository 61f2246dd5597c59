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
	return p, p.HTTPSProxy != "", nil
}
