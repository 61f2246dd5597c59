package platform

import (
	"errors"
	"testing"
	"unicode/utf16"

	"golang.org/x/sys/windows/registry"
)

// TestSystemProxyRegistry writes the Internet Settings values in HKCU (of
// the test's Wine prefix, or a real user's: they are restored) and reads
// them back through SystemProxy. TestSystemProxyRegistryRestored checks the
// restore.
func TestSystemProxyRegistry(t *testing.T) {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, internetSettings, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the restoring cleanups below (cleanups run last first;
	// a defer would close it before any of them ran, and the test would
	// leave its PAC URL in the prefix for every later program).
	t.Cleanup(func() { k.Close() })
	// Restore what was there.
	for _, name := range []string{"ProxyEnable", "ProxyServer", "ProxyOverride", "AutoConfigURL"} {
		buf := make([]byte, 4096)
		n, typ, err := k.GetValue(name, buf)
		if errors.Is(err, registry.ErrNotExist) {
			t.Cleanup(func() { k.DeleteValue(name) })
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		old := append([]byte(nil), buf[:n]...)
		t.Cleanup(func() { setRaw(k, name, typ, old) })
	}
	set := func(enable uint32, server, override, pac string) {
		t.Helper()
		if err := k.SetDWordValue("ProxyEnable", enable); err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"ProxyServer": server, "ProxyOverride": override, "AutoConfigURL": pac} {
			if v == "" {
				k.DeleteValue(name)
				continue
			}
			if err := k.SetStringValue(name, v); err != nil {
				t.Fatal(err)
			}
		}
	}

	set(1, "http=web.corp:80;https=tls.corp:8443", "*.lab.corp;<local>", "")
	p, ok, err := SystemProxy()
	if err != nil || !ok || p.HTTPSProxy != "tls.corp:8443" || !p.Local || len(p.Bypass) != 1 || p.Bypass[0] != "*.lab.corp" {
		t.Errorf("SystemProxy = %+v, %v, %v", p, ok, err)
	}
	set(0, "proxy.corp:3128", "", "")
	if p, ok, err := SystemProxy(); err != nil || ok {
		t.Errorf("proxy off: SystemProxy = %+v, %v, %v; want none", p, ok, err)
	}
	set(0, "", "", "http://wpad.corp/proxy.pac")
	if p, ok, err := SystemProxy(); err != nil || !ok || p.AutoConfigURL != "http://wpad.corp/proxy.pac" {
		t.Errorf("PAC: SystemProxy = %+v, %v, %v; want the AutoConfigURL", p, ok, err)
	}
}

// TestSystemProxyRegistryRestored runs TestSystemProxyRegistry's body as a
// subtest and checks that HKCU holds afterwards what it held before.
func TestSystemProxyRegistryRestored(t *testing.T) {
	before, _, beforeErr := SystemProxy()
	t.Run("registry", TestSystemProxyRegistry)
	after, _, afterErr := SystemProxy()
	if (beforeErr == nil) != (afterErr == nil) || before.HTTPSProxy != after.HTTPSProxy || before.Local != after.Local {
		t.Errorf("Internet Settings not restored: before %+v, %v; after %+v, %v", before, beforeErr, after, afterErr)
	}
}

// setRaw writes a value back with its type, as it was read.
func setRaw(k registry.Key, name string, typ uint32, data []byte) {
	switch typ {
	case registry.DWORD:
		if len(data) >= 4 {
			k.SetDWordValue(name, uint32(data[0])|uint32(data[1])<<8|uint32(data[2])<<16|uint32(data[3])<<24)
		}
	default:
		// REG_SZ as UTF-16LE with its terminator.
		u := make([]uint16, 0, len(data)/2)
		for i := 0; i+1 < len(data); i += 2 {
			if c := uint16(data[i]) | uint16(data[i+1])<<8; c != 0 {
				u = append(u, c)
			}
		}
		k.SetStringValue(name, string(utf16.Decode(u)))
	}
}
