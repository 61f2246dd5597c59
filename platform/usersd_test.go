package platform

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

const testUserSID = "S-1-5-21-1004336348-1177238915-682003330-1001"

type sdCase struct {
	name, want, sddl string
	sd               []byte
}

// readSDCases reads testdata/usersd.txt or adminsd.txt (see their headers).
func readSDCases(t *testing.T, file string) []sdCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines)%4 != 0 || len(lines) == 0 {
		t.Fatalf("%s: %d lines, want groups of 4", file, len(lines))
	}
	var cases []sdCase
	for i := 0; i < len(lines); i += 4 {
		b, err := hex.DecodeString(lines[i+3])
		if err != nil {
			t.Fatalf("%s: %v", lines[i], err)
		}
		cases = append(cases, sdCase{lines[i], lines[i+1], lines[i+2], b})
	}
	return cases
}

// checkSDProblem checks a rule's problem text got for label against want:
// "ok" for none, else a text the problem must contain. It reports whether
// the check passed.
func checkSDProblem(t *testing.T, label, got, want string) bool {
	t.Helper()
	switch {
	case want == "ok" && got != "":
		t.Errorf("%s: %q, want it to pass", label, got)
	case want != "ok" && !strings.Contains(got, want):
		t.Errorf("%s: %q, want %q", label, got, want)
	default:
		return true
	}
	return false
}

// TestUserSDRule runs the Windows user-file rule (owner is the user, no
// other non-admin principal may write) on security descriptors
// that Windows' SDDL parser built, on every OS.
func TestUserSDRule(t *testing.T) {
	name := func(sid string) string { return sid }
	for _, c := range readSDCases(t, "testdata/usersd.txt") {
		t.Run(c.name, func(t *testing.T) {
			info, err := parseSD(c.sd)
			if err != nil {
				t.Fatalf("parseSD(%s): %v", c.sddl, err)
			}
			checkSDProblem(t, c.sddl, userSDProblem(info, testUserSID, name), c.want)
		})
	}
}

// TestUserSDRuleEdited covers what SDDL cannot express under Wine, by
// editing a captured descriptor: a NULL DACL (present, offset 0), an allow
// entry of a type the rule does not read, and malformed bytes, which must
// be errors and never pass.
func TestUserSDRuleEdited(t *testing.T) {
	cases := readSDCases(t, "testdata/usersd.txt")
	good := cases[0].sd
	if p := userSDProblem(mustParseSD(t, good), testUserSID, func(s string) string { return s }); p != "" {
		t.Fatalf("first case is not a passing one: %q", p)
	}

	null := append([]byte(nil), good...)
	copy(null[16:20], []byte{0, 0, 0, 0})
	if p := userSDProblem(mustParseSD(t, null), testUserSID, func(s string) string { return s }); !strings.Contains(p, "without an access control list") {
		t.Errorf("NULL DACL: %q", p)
	}

	callback := append([]byte(nil), good...)
	callback[0x30+8] = 0x9 // first ACE: ACCESS_ALLOWED_CALLBACK_ACE_TYPE
	if p := userSDProblem(mustParseSD(t, callback), testUserSID, func(s string) string { return s }); !strings.Contains(p, "unsupported type 9") {
		t.Errorf("callback ACE: %q", p)
	}

	noOwner := append([]byte(nil), good...)
	copy(noOwner[4:8], []byte{0, 0, 0, 0})
	if p := userSDProblem(mustParseSD(t, noOwner), testUserSID, func(s string) string { return s }); !strings.Contains(p, "owned by no one") {
		t.Errorf("no owner: %q", p)
	}

	// Every truncation of every captured descriptor is an error or a
	// result, never a panic; one shorter than the header is an error.
	for _, c := range cases {
		for n := 0; n < len(c.sd); n++ {
			if _, err := parseSD(c.sd[:n]); err == nil && n < 20 {
				t.Errorf("%s cut to %d bytes parsed", c.name, n)
			}
		}
	}
	for _, bad := range [][]byte{
		nil,
		{2, 0, 4, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},             // revision 2
		{1, 0, 4, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},             // absolute, not self-relative
		{1, 0, 4, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, // DACL far outside
	} {
		if _, err := parseSD(bad); err == nil {
			t.Errorf("parseSD(%x) succeeded", bad)
		}
	}
}

func mustParseSD(t *testing.T, b []byte) sdInfo {
	t.Helper()
	info, err := parseSD(b)
	if err != nil {
		t.Fatal(err)
	}
	return info
}
