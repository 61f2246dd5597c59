package launcher

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseLaunchURL(t *testing.T) {
	enc := url.QueryEscape("https://portal.example.com/d/1?ticket=a&x=b")
	tests := []struct {
		name, in, want, errHas string
	}{
		{"canonical", "trustlaunch://launch?url=" + enc, "https://portal.example.com/d/1?ticket=a&x=b", ""},
		{"upper case scheme", "TrustLaunch://LAUNCH?url=" + enc, "https://portal.example.com/d/1?ticket=a&x=b", ""},
		{"slash before query", "trustlaunch://launch/?url=" + enc, "https://portal.example.com/d/1?ticket=a&x=b", ""},
		{"http inside is passed on", "trustlaunch://launch?url=http%3A%2F%2Fa.example%2F", "http://a.example/", ""},
		{"duplicate url keys", "trustlaunch://launch?url=" + enc + "&url=https%3A%2F%2Fevil.example%2F", "", "more than once"},
		{"semicolon separator", "trustlaunch://launch?url=" + enc + ";url=x", "", `";"`},
		{"unknown parameter", "trustlaunch://launch?url=" + enc + "&debug=1", "", "unknown parameter"},
		{"no url", "trustlaunch://launch?x=1", "", "unknown parameter"},
		{"empty query", "trustlaunch://launch?", "", "not key=value"},
		{"no query", "trustlaunch://launch", "", "want trustlaunch://launch?url="},
		{"empty url", "trustlaunch://launch?url=", "", "empty"},
		{"bad escape", "trustlaunch://launch?url=https%3A%2F%2Fa%ZZ", "", "does not decode"},
		{"fragment", "trustlaunch://launch?url=" + enc + "#x", "", "fragment"},
		{"other host", "trustlaunch://evil?url=" + enc, "", "does not start with"},
		{"other path", "trustlaunch://launcher?url=" + enc, "", "want trustlaunch://launch?url="},
		{"other scheme", "https://portal.example.com/", "", "does not start with"},
		{"flag injection", "--help", "", "does not start with"},
		{"space", "trustlaunch://launch?url=https://a b", "", "a space"},
		{"newline", "trustlaunch://launch?url=https://a%0a\n", "", "control character"},
		{"too long", "trustlaunch://launch?url=" + strings.Repeat("a", 9000), "", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLaunchURL(tt.in)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ParseLaunchURL(%q) = %q, %v; want error with %q", tt.in, got, err, tt.errHas)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLaunchURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseLaunchURL(f *testing.F) {
	f.Add("trustlaunch://launch?url=https%3A%2F%2Fa.example%2F")
	f.Add("trustlaunch://launch?url=a&url=b")
	f.Add("trustlaunch://launch/?url=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := ParseLaunchURL(raw)
		if err != nil {
			return
		}
		// An accepted link re-encodes to a link that yields the same URL
		// (unless escaping grew it past the size cap).
		link := "trustlaunch://launch?url=" + url.QueryEscape(got)
		if len(link) > MaxLaunchURLLen {
			return
		}
		again, err := ParseLaunchURL(link)
		if err != nil || again != got {
			t.Fatalf("round trip of %q: %q, %v", got, again, err)
		}
	})
}
