package sessiontoken

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// NormalizeDestination returns the canonical spelling of a "host:port"
// destination, the form the dst claim is compared in on both sides:
//
//   - a host name in ASCII lower case, one trailing dot removed (a name
//     with a trailing dot is the same name, fully qualified); labels of
//     letters, digits, "-" and "_", 1 to 63 bytes, 253 in all. An
//     internationalized name is given in its ASCII (punycode) form;
//   - an IPv4 address in dotted-decimal, exactly as net/netip writes it: the
//     other spellings some resolvers take ("0x7f.1", "0177.0.0.1",
//     "2130706433", "127.1") are refused as ambiguous, as is any name
//     whose last label is a number;
//   - an IPv6 address in brackets, as net/netip writes it (lower case,
//     zeros compressed); no zone;
//   - a port in decimal, 1 to 65535, without a sign or leading zeros.
//
// The client's CONNECT request and Squid's %DST and %PORT reach the same
// spelling, so "Mainframe.Example.com.:23" and "mainframe.example.com:23"
// are one destination, and "[2001:DB8::1]:992" is "[2001:db8::1]:992".
func NormalizeDestination(hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", fmt.Errorf("destination %s is not host:port (an IPv6 address goes in brackets: [2001:db8::1]:23)", safetext.QuoteExcerpt(hostport, 80))
	}
	return JoinDestination(host, port)
}

// JoinDestination is NormalizeDestination for a host and a port given
// apart, as Squid's %DST and %PORT give them. The host may be an IPv6
// address with or without brackets.
func JoinDestination(host, port string) (string, error) {
	p, err := normalizePort(port)
	if err != nil {
		return "", err
	}
	h, err := normalizeHost(host)
	if err != nil {
		return "", err
	}
	return h + ":" + p, nil
}

func normalizePort(port string) (string, error) {
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != port {
		return "", fmt.Errorf("destination port %s is not a port (1-65535 in decimal)", safetext.QuoteExcerpt(port, 20))
	}
	return port, nil
}

// normalizeHost returns the host part of a normalized destination: IPv6
// in brackets.
func normalizeHost(host string) (string, error) {
	q := safetext.QuoteExcerpt(host, 80)
	if b, ok := strings.CutPrefix(host, "["); ok {
		inner, ok := strings.CutSuffix(b, "]")
		if !ok {
			return "", fmt.Errorf("destination host %s has an unbalanced bracket", q)
		}
		host = inner
		if !strings.Contains(host, ":") {
			return "", fmt.Errorf("destination host %s: only an IPv6 address goes in brackets", q)
		}
	}
	if host == "" {
		return "", fmt.Errorf("destination host is empty")
	}
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		switch {
		case err != nil || !a.Is6():
			return "", fmt.Errorf("destination host %s is not an IPv6 address", q)
		case a.Zone() != "":
			return "", fmt.Errorf("destination host %s has an IPv6 zone, which is not allowed", q)
		}
		return "[" + a.String() + "]", nil
	}
	name := strings.TrimSuffix(host, ".")
	if len(name) > 253 || name == "" {
		return "", fmt.Errorf("destination host %s is not a host name (1 to 253 bytes)", q)
	}
	var b strings.Builder
	b.Grow(len(name))
	labelStart := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if n := i - labelStart; n == 0 || n > 63 {
				return "", fmt.Errorf("destination host %s has an empty label or one longer than 63 bytes", q)
			}
			labelStart = i + 1
			if i < len(name) {
				b.WriteByte('.')
			}
			continue
		}
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + ('a' - 'A'))
		default:
			return "", fmt.Errorf("destination host %s has a character other than letters, digits, \"-\", \"_\" and dots (give an internationalized name in punycode)", q)
		}
	}
	out := b.String()
	last := out[strings.LastIndexByte(out, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		// A number as the last label is an IPv4 address or nothing.
		a, err := netip.ParseAddr(out)
		if err != nil || !a.Is4() || a.String() != out {
			return "", fmt.Errorf("destination host %s is not a canonical dotted-decimal IPv4 address", q)
		}
	}
	return out, nil
}
