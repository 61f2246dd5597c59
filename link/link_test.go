package link

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDescriptorURL(t *testing.T) {
	enc := url.QueryEscape("https://portal.example.com/d/1?ticket=a&x=b")
	tests := []struct {
		name, in, want, errHas string
	}{
		{"canonical", "trustlaunch://launch?url=" + enc, "https://portal.example.com/d/1?ticket=a&x=b", ""},
		{"upper case scheme", "TrustLaunch://LAUNCH?url=" + enc, "https://portal.example.com/d/1?ticket=a&x=b", ""},
		{"slash before query", "trustlaunch://launch/?url=" + enc, "https://portal.example.com/d/1?ticket=a&x=b", ""},
		{"plus in the query", "trustlaunch://launch?url=https://portal4.test/d?ticket=AB+CD/EF==", "https://portal4.test/d?ticket=AB+CD/EF==", ""},
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

		// The url value is decoded once, with "+" kept: portals put base64
		// tickets there unencoded, and a URL has no use for a space.
		{"unencoded plus kept", "trustlaunch://launch?url=https://portal.example.com/d?t=SECRET+AB/C==", "https://portal.example.com/d?t=SECRET+AB/C==", ""},
		{"encoded plus", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%2BAB", "https://portal.example.com/d?t=SECRET+AB", ""},
		{"decoded once", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%2541", "https://portal.example.com/d?t=SECRET%41", ""},
		{"unicode host", "trustlaunch://launch?url=https%3A%2F%2Fp%C3%B6rtal.example%2Fd%3Ft%3DSECRET", "https://p\u00f6rtal.example/d?t=SECRET", ""},
		{"decoded space", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%20x", "", "holds a space at character 38 of the decoded URL"},
		{"decoded newline", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%0Ax", "", "holds control character U+000A at character 38"},
		{"decoded quote", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%22", "", `holds '"' (U+0022) at character 38`},
		{"decoded angle bracket", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2F%3Cd%3Ft%3DSECRET", "", "holds '<' (U+003C) at character 28"},
		{"decoded backslash", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%5Cd%3Ft%3DSECRET", "", "holds a backslash at character 27"},
		{"decoded brace", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%7B", "", "holds '{' (U+007B) at character 38"},
		{"decoded C1 control", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%C2%9B", "", "holds control character U+009B at character 38"},
		{"decoded noncharacter", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%EF%BF%BE", "", `holds '\ufffe' (U+FFFE) at character 38`},
		// A bidi override is a URL code point: the prompt shows it escaped.
		{"decoded bidi override", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%E2%80%AE", "https://portal.example.com/d\u202e", ""},
		{"decoded bad escape", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%25zz", "", `holds a "%" that is not followed by two hex digits at character 38`},
		{"decoded invalid UTF-8", "trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fd%3Ft%3DSECRET%FF", "", "holds a byte that is not UTF-8 at character 38"},
		{"https URL instead of a link", "https://portal.example.com/d?t=SECRET", "", `"https://portal.example.com/d" does not start with`},
		{"query part without =", "trustlaunch://launch?url=https://portal.example.com/d?a=1&SECRET", "", "query part 2 is not key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DescriptorURL(tt.in)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("DescriptorURL(%q) = %q, %v; want error with %q", tt.in, got, err, tt.errHas)
				}
				// The link carries a single-use ticket: an error names
				// what is wrong and where, never the URL's query.
				if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "\n") {
					t.Errorf("error shows the ticket or raw text: %q", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DescriptorURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzDescriptorURL(f *testing.F) {
	f.Add("trustlaunch://launch?url=https%3A%2F%2Fa.example%2F")
	f.Add("trustlaunch://launch?url=a&url=b")
	f.Add("trustlaunch://launch/?url=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := DescriptorURL(raw)
		if err != nil {
			return
		}
		// An accepted link re-encodes to a link that yields the same URL
		// (unless escaping grew it past the size cap).
		link := "trustlaunch://launch?url=" + url.QueryEscape(got)
		if len(link) > MaxLen {
			return
		}
		again, err := DescriptorURL(link)
		if err != nil || again != got {
			t.Fatalf("round trip of %q: %q, %v", got, again, err)
		}
		// What is accepted can stand in a request line as it is, apart
		// from non-ASCII letters, which the fetch percent-encodes.
		if !utf8.ValidString(got) || strings.ContainsAny(got, " \"<>\\^`{|}\x7f") || strings.ContainsFunc(got, func(r rune) bool { return r < ' ' }) {
			t.Fatalf("accepted %q", got)
		}
	})
}

// TestParse checks the second accepted form, trustlaunch://detect
// (docs/design.md "The link and the descriptor URL"): the same parsing rules
// as a launch link, and a detect link is never taken for a launch.
func TestParse(t *testing.T) {
	enc := url.QueryEscape("https://portal.example.com/detect?id=SECRET")
	tests := []struct {
		name, in string
		action   Action
		want     string
		errHas   string
	}{
		{"launch", "trustlaunch://launch?url=" + enc, ActionLaunch, "https://portal.example.com/detect?id=SECRET", ""},
		{"detect", "trustlaunch://detect?url=" + enc, ActionDetect, "https://portal.example.com/detect?id=SECRET", ""},
		{"detect upper case", "TRUSTLAUNCH://Detect?url=" + enc, ActionDetect, "https://portal.example.com/detect?id=SECRET", ""},
		{"detect slash before query", "trustlaunch://detect/?url=" + enc, ActionDetect, "https://portal.example.com/detect?id=SECRET", ""},
		{"detect http passed on to the decision", "trustlaunch://detect?url=http%3A%2F%2Fa.example%2F", ActionDetect, "http://a.example/", ""},
		{"detect url twice", "trustlaunch://detect?url=" + enc + "&url=https%3A%2F%2Fevil.example%2F", "", "", "more than once"},
		{"detect unknown parameter", "trustlaunch://detect?url=" + enc + "&id=SECRET", "", "", "unknown parameter"},
		{"detect fragment", "trustlaunch://detect?url=" + enc + "#SECRET", "", "", "fragment"},
		{"detect no query", "trustlaunch://detect", "", "", "or trustlaunch://detect?url="},
		{"detect other path", "trustlaunch://detector?url=" + enc, "", "", "want trustlaunch://launch?url="},
		{"detect semicolon", "trustlaunch://detect?url=" + enc + ";x=SECRET", "", "", `";"`},
		{"detect decoded space", "trustlaunch://detect?url=https%3A%2F%2Fportal.example.com%2Fd%3Fid%3DSECRET%20x", "", "", "holds a space"},
		{"neither", "trustlaunch://status?url=" + enc, "", "", "does not start with trustlaunch://launch?url= or trustlaunch://detect?url="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Parse(%q) = %+v, %v; want error with %q", tt.in, got, err, tt.errHas)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error shows the query: %q", err)
				}
				return
			}
			if err != nil || got.Action != tt.action || got.URL != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %s %q", tt.in, got, err, tt.action, tt.want)
			}
		})
	}
	// A detect link is not a launch: DescriptorURL, which `whitelist
	// explain` and older callers use, refuses it.
	if u, err := DescriptorURL("trustlaunch://detect?url=" + enc); err == nil || !strings.Contains(err.Error(), "detect link") {
		t.Errorf("DescriptorURL(detect link) = %q, %v; want an error naming the detect link", u, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("trustlaunch://detect?url=https%3A%2F%2Fa.example%2Fd%3Fid%3D1")
	f.Add("trustlaunch://launch?url=https%3A%2F%2Fa.example%2F")
	f.Add("trustlaunch://detect/?url=a&url=b")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Parse(raw)
		if err != nil {
			return
		}
		if got.Action != ActionLaunch && got.Action != ActionDetect {
			t.Fatalf("Parse(%q) = action %q", raw, got.Action)
		}
		// The action is the link's own, never guessed: re-encoding gives
		// the same action and URL, and only a launch link is a launch.
		link := "trustlaunch://" + string(got.Action) + "?url=" + url.QueryEscape(got.URL)
		if len(link) <= MaxLen {
			again, err := Parse(link)
			if err != nil || again != got {
				t.Fatalf("round trip of %+v: %+v, %v", got, again, err)
			}
		}
		if u, err := DescriptorURL(raw); (err == nil) != (got.Action == ActionLaunch) || (err == nil && u != got.URL) {
			t.Fatalf("DescriptorURL(%q) = %q, %v; Parse says %+v", raw, u, err, got)
		}
	})
}
