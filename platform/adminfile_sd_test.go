package platform

import (
	"strings"
	"testing"
)

// adminSDRoles maps the role word of testdata/adminsd.txt to the part the
// object plays on the way to an admin file.
var adminSDRoles = map[string]nodeRole{"file": roleFile, "dir": roleDir, "root": roleRootDir}

// TestAdminSDRule runs the Windows admin-file rule (docs/design.md
// "Whitelist files": not writable by non-admin principals; owner Administrators, SYSTEM or TrustedInstaller)
// on security descriptors that Windows' SDDL parser built, on every OS:
// Wine keeps no ACLs, so this is where the real ACL logic is tested.
func TestAdminSDRule(t *testing.T) {
	name := func(sid string) string { return sid }
	for _, c := range readSDCases(t, "testdata/adminsd.txt") {
		t.Run(c.name, func(t *testing.T) {
			word, _, _ := strings.Cut(c.name, ":")
			role, ok := adminSDRoles[word]
			if !ok {
				t.Fatalf("case %q: role %q is not file, dir or root", c.name, word)
			}
			info, err := parseSD(c.sd)
			if err != nil {
				t.Fatalf("parseSD(%s): %v", c.sddl, err)
			}
			v := adminSDProblem(info, role, nil, name)
			if checkSDProblem(t, c.sddl, v.what, c.want) && v.owner != strings.HasPrefix(c.want, "owned by") {
				t.Errorf("%s: verdict %+v: owner fault %v, want %v", c.sddl, v, v.owner, !v.owner)
			}
		})
	}
}

// TestAdminSDRuleEdited covers what SDDL cannot express under Wine, by
// editing captured descriptors: a NULL DACL (present, offset 0), an allow
// entry of a type the rule does not read, no owner; and the one extra
// principal the wineprefix test build may accept, which must not leak to
// anyone else.
func TestAdminSDRuleEdited(t *testing.T) {
	cases := readSDCases(t, "testdata/adminsd.txt")
	byName := map[string][]byte{}
	for _, c := range cases {
		byName[c.name] = c.sd
	}
	get := func(name string) []byte {
		t.Helper()
		b, ok := byName[name]
		if !ok {
			t.Fatalf("testdata/adminsd.txt has no case %q", name)
		}
		return append([]byte(nil), b...)
	}
	id := func(s string) string { return s }
	check := func(label string, b []byte, role nodeRole, also func(string) bool, want string) {
		t.Helper()
		checkSDProblem(t, label, adminSDProblem(mustParseSD(t, b), role, also, id).what, want)
	}

	good := get("file: Administrators own it, Users may read and execute")
	check("captured", good, roleFile, nil, "ok")

	null := append([]byte(nil), good...)
	copy(null[16:20], []byte{0, 0, 0, 0}) // DACL present, but at offset 0: a NULL DACL
	check("NULL DACL", null, roleFile, nil, "without an access control list")
	check("NULL DACL on the volume root", null, roleRootDir, nil, "without an access control list")

	callback := append([]byte(nil), good...)
	callback[0x24+8] = 0x9 // first ACE (the DACL follows the 16-byte BA owner): ACCESS_ALLOWED_CALLBACK_ACE_TYPE
	check("callback allow entry", callback, roleFile, nil, "unsupported type 9")

	noOwner := append([]byte(nil), good...)
	copy(noOwner[4:8], []byte{0, 0, 0, 0})
	check("no owner", noOwner, roleFile, nil, "owned by no one")

	// The wineprefix relaxation: a file the prefix's owner owns and may
	// write passes only when the rule is told to accept that owner.
	const prefixUser = "S-1-5-21-1004336348-1177238915-682003330-1002"
	isPrefixUser := func(s string) bool { return s == prefixUser }
	owned := get("file: owned by a user")
	check("owned by a user, no relaxation", owned, roleFile, nil, "owned by "+prefixUser)
	check("owned by the prefix's owner, relaxation on", owned, roleFile, isPrefixUser, "ok")
	writer := get("file: a user may write")
	check("written by the prefix's owner, relaxation on", writer, roleFile, isPrefixUser, "ok")
	check("Users may write, relaxation on", get("file: Users may write"), roleFile, isPrefixUser, "writable by S-1-5-32-545")

	// The volume root tolerates "create folders" and nothing more.
	check("root: Users may write", get("file: Users may write"), roleRootDir, nil, "writable by S-1-5-32-545 (access mask 0x2)")
}
