package descriptor

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// TestDescriptorIPTrailingDot: an IPv4 address with a trailing dot is
// refused in every host field: the policy reads "10.1.2.3." as 10.1.2.3,
// and a proxy may look it up as a DNS name.
func TestDescriptorIPTrailingDot(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(m map[string]any)
	}{
		{"destination.host", func(m map[string]any) { destOf(m)["host"] = "10.1.2.3." }},
		{"proxy.address", func(m map[string]any) { proxyOf(m)["address"] = "10.1.2.3.:8443" }},
		{"proxy.server_name", func(m map[string]any) { proxyOf(m)["server_name"] = "10.1.2.3." }},
	} {
		_, err := Decode(with(t, tc.edit))
		var de *Error
		if !errors.As(err, &de) || de.Field != tc.field || !strings.Contains(err.Error(), "trailing dot") {
			t.Errorf("%s with a trailing dot: %v; want a descriptor error naming the field and the dot", tc.field, err)
		}
	}
}

// TestDescriptorHostSpelling: the descriptor's hosts are kept in the one
// spelling the admin policy decides on (lower case, no trailing dot, IPv6
// as RFC 5952 writes it), and the connector is given that spelling.
func TestDescriptorHostSpelling(t *testing.T) {
	for _, tc := range []struct {
		proxy, dest         string
		wantProxy, wantDest string
	}{
		{"Proxy.Example.COM.:8443", "MainFrame.Example.com.", "proxy.example.com:8443", "mainframe.example.com"},
		{"[2001:DB8:0:0::1]:443", "2001:DB8::0:17", "[2001:db8::1]:443", "2001:db8::17"},
		{"10.1.2.3:8443", "mainframe", "10.1.2.3:8443", "mainframe"},
	} {
		d, err := Decode(with(t, func(m map[string]any) {
			proxyOf(m)["address"] = tc.proxy
			destOf(m)["host"] = tc.dest
		}))
		if err != nil {
			t.Fatalf("%s, %s: %v", tc.proxy, tc.dest, err)
		}
		if d.Proxy.Address != tc.wantProxy || d.Destination.Host != tc.wantDest {
			t.Errorf("%s, %s: decoded as %s, %s; want %s, %s", tc.proxy, tc.dest, d.Proxy.Address, d.Destination.Host, tc.wantProxy, tc.wantDest)
		}
		cfg := d.ConnectorConfig()
		if want := net.JoinHostPort(tc.wantDest, "23"); cfg.ProxyAddr != tc.wantProxy || cfg.Destination != want {
			t.Errorf("%s, %s: the connector is given %s and %s; want %s and %s", tc.proxy, tc.dest, cfg.ProxyAddr, cfg.Destination, tc.wantProxy, want)
		}
	}
}
