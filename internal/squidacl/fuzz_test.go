package squidacl

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseRequest feeds arbitrary lines to the protocol parser and
// answers each. Invariants: no panic; a channel ID, parsed or kept for a
// BH, is digits only (never another part of the line, which may be a
// token); an answer is one line, "[channel ]CODE[ key=value...]", whose
// values Squid decodes back to what was given.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"0 Bearer%20abc.def.ghi 127.0.0.1 host.example 23 -",
		"Bearer%20abc 192.0.2.1 host 23 -",
		"7 - ::1 2001:db8::1 992 -",
		"7 Bearer%20abc 127.0.0.1 h 23",
		"x y z",
		"12 a  b c -",
		"3 %zz a b c -",
	} {
		f.Add(s, "reason: \"quoted\" and\nnewline")
	}
	f.Fuzz(func(t *testing.T, line, msg string) {
		if strings.ContainsAny(line, "\n") {
			return // Serve splits lines before parsing
		}
		r, err := ParseRequest(line)
		channel := r.Channel
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T", err)
			}
			channel = pe.Channel
		}
		if strings.Trim(channel, "0123456789") != "" || len(channel) > maxChannelDigits {
			t.Fatalf("channel %q from %q", channel, line)
		}
		for _, res := range []Result{{Code: OK, User: msg, Log: msg}, {Code: Denied, Message: msg}, {Code: Broken, Message: msg}} {
			out := string(res.AppendLine(nil, channel))
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Fatalf("answer %q is not one line", out)
			}
			fields := strings.Split(strings.TrimSuffix(out, "\n"), " ")
			if channel != "" {
				if fields[0] != channel {
					t.Fatalf("answer %q does not start with channel %q", out, channel)
				}
				fields = fields[1:]
			}
			if fields[0] != string(res.Code) {
				t.Fatalf("answer %q: code %q", out, fields[0])
			}
			for _, kv := range fields[1:] {
				_, v, ok := strings.Cut(kv, "=")
				dec, err := url.PathUnescape(v)
				if !ok || err != nil || dec != msg {
					t.Fatalf("answer %q: keyword %q does not decode to the value", out, kv)
				}
			}
		}
	})
}
