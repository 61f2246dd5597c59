package policy

import (
	"errors"

	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"howett.net/plist"

	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

const mpPath = "/Library/Managed Preferences/io.github.trustlaunch.plist"

// mpXML writes an XML property list whose dict holds body, as plutil
// -convert xml1 prints a configuration profile's payload.
func mpXML(body string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
` + body + `
</dict>
</plist>
`)
}

// TestManagedPrefsSettings: every key of the managed preferences reaches
// the policy and the admin list, in the XML form and in the binary form
// the system writes, and each setting names the file it came from.
func TestManagedPrefsSettings(t *testing.T) {
	key := testPublisherKey(t)
	settings := map[string]any{
		"AllowAdminListOnly": true,
		"RequireSigned":      uint64(1), // an integer, as some MDM consoles write a boolean
		"OSLog":              "warning",
		"MacOSLaunch":        true,
		"Servers":            []string{"portal.example.com", "portal2.example.com:8443"},
		"Proxies":            []string{"proxy.example.com:8443"},
		"Destinations":       []string{"mainframe.example.com:992 tls"},
		"Publishers":         map[string]string{"Payroll portal": key + " portal.example.com"},
	}
	for _, format := range []int{plist.XMLFormat, plist.BinaryFormat} {
		t.Run(plist.FormatNames[format], func(t *testing.T) {
			data, err := plist.Marshal(settings, format)
			if err != nil {
				t.Fatal(err)
			}
			mp, err := parseManagedPrefs(mpPath, data)
			if err != nil {
				t.Fatalf("parseManagedPrefs: %v", err)
			}
			src := mp.apply(Source{Path: "/x/policy.toml"})
			p := src.Policy
			if src.Err != nil || p == nil {
				t.Fatalf("apply: %+v", src)
			}
			if !p.RequireSigned || p.OSLog != oslog.LevelWarning || !p.MacOSLaunch || len(p.Proxies) != 1 || len(p.Destinations) != 1 || !p.Destinations[0].TLS || len(p.Publishers) != 1 || p.Publishers[0].Name != "Payroll portal" {
				t.Fatalf("policy %+v", p)
			}
			if p.Path != mpPath || p.MacOSLaunchFrom != mpPath+": MacOSLaunch" || p.ProxiesFrom != mpPath+": Proxies" {
				t.Fatalf("sources: path %q, MacOSLaunch from %q, proxies from %q", p.Path, p.MacOSLaunchFrom, p.ProxiesFrom)
			}
			admin := mp.applyAdmin(whitelist.Source{Path: "/x/whitelist.txt"})
			if admin.Err != nil || admin.List == nil || !admin.List.AdminOnly || len(admin.List.Entries) != 2 {
				t.Fatalf("applyAdmin: %+v", admin)
			}
		})
	}
}

// TestManagedPrefsMalformed: a key or value the policy cannot use is a
// *GPError naming the file and the key (and the item), with the managed
// preferences' hint, never skipped.
func TestManagedPrefsMalformed(t *testing.T) {
	tests := []struct {
		name, body, value, msg string
	}{
		{"unknown key", `<key>AllowEverything</key><true/>`, mpPath + ": AllowEverything", "unknown key"},
		{"mode as string", `<key>AllowAdminListOnly</key><string>1</string>`, mpPath + ": AllowAdminListOnly", "is a <string>, want <true/> or <false/>"},
		{"mode as 2", `<key>AllowAdminListOnly</key><integer>2</integer>`, mpPath + ": AllowAdminListOnly", "is an <integer>"},
		{"opt-in as string", `<key>MacOSLaunch</key><string>yes</string>`, mpPath + ": MacOSLaunch", "want <true/> or <false/>"},
		{"log level", `<key>OSLog</key><string>loud</string>`, mpPath + ": OSLog", "want one of"},
		{"servers as string", `<key>Servers</key><string>a.example.com</string>`, mpPath + ": Servers", "want an <array> of <string>"},
		{"server item not a string", `<key>Servers</key><array><string>a.example.com</string><integer>3</integer></array>`, mpPath + ": Servers item 2", "is an <integer>"},
		{"server item bad host", `<key>Servers</key><array><string>a.example.com</string><string>a..b</string></array>`, mpPath + ": Servers item 2", ""},
		{"publishers as array", `<key>Publishers</key><array/>`, mpPath + ": Publishers", "want a <dict>"},
		{"publisher key not base64", `<key>Publishers</key><dict><key>P</key><string>%%%</string></dict>`, mpPath + `: Publishers "P"`, "base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseManagedPrefs(mpPath, mpXML(tc.body))
			var ge *GPError
			if !errors.As(err, &ge) || ge.Value != tc.value || !strings.Contains(ge.Msg, tc.msg) {
				t.Fatalf("parseManagedPrefs = %v, want a *GPError naming %q with %q", err, tc.value, tc.msg)
			}
			if !strings.Contains(ge.Hint(), "configuration profile") {
				t.Fatalf("hint %q is not the managed preferences'", ge.Hint())
			}
		})
	}
	for name, data := range map[string][]byte{
		"not a plist": []byte("AllowAdminListOnly=1\n"),
		"not a dict":  []byte(`<?xml version="1.0"?><plist version="1.0"><array/></plist>`),
		"empty":       nil,
		"binary, torn": func() []byte {
			b, _ := plist.Marshal(map[string]any{"OSLog": "info"}, plist.BinaryFormat)
			return b[:len(b)-9]
		}(),
	} {
		var ge *GPError
		if _, err := parseManagedPrefs(mpPath, data); !errors.As(err, &ge) || ge.Value != mpPath {
			t.Errorf("%s: %v, want a *GPError naming the file", name, err)
		}
	}
}

// TestManagedPrefsFailClosed: managed preferences that cannot be used
// stop every launch (the policy's and the admin list's Err), whatever the
// files say; missing ones are no policy.
func TestManagedPrefsFailClosed(t *testing.T) {
	dir := testtmp.Dir(t)
	path := filepath.Join(dir, "io.github.trustlaunch.plist")
	ok := func(string) error { return nil }
	file := Source{Path: "/x/policy.toml", Policy: &Policy{Path: "/x/policy.toml"}}
	adminFile := whitelist.Source{Path: "/x/whitelist.txt", List: whitelist.NewList("/x/whitelist.txt", false, nil)}

	// Missing: nothing changes.
	mp := readManagedPrefs(path, ok)
	if src := mp.apply(file); src.Err != nil || src.Policy == nil || src.Policy.MacOSLaunch {
		t.Fatalf("missing: %+v", src)
	}
	if src := mp.apply(Source{Path: "/x/policy.toml"}); src.Err != nil || src.Policy != nil {
		t.Fatalf("missing, no file: %+v, want no policy", src)
	}

	unsafe := &platform.UnsafeFileError{Path: path, Reason: "directory /Library/Managed Preferences is writable by group", Fix: "sudo chmod g-w"}
	for name, tc := range map[string]struct {
		data  string
		check func(string) error
	}{
		"unsafe path":        {`<key>OSLog</key><string>info</string>`, func(string) error { return unsafe }},
		"unsafe, missing":    {"", func(string) error { return &platform.UnsafeFileError{Path: path, Reason: "x", Missing: true} }},
		"check fails":        {`<key>OSLog</key><string>info</string>`, func(string) error { return fs.ErrPermission }},
		"malformed":          {`<key>Servers</key><string>x</string>`, ok},
		"not a plist at all": {"garbage", ok},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.data != "" {
				data := mpXML(tc.data)
				if tc.data == "garbage" {
					data = []byte("garbage")
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(path)
			}
			mp := readManagedPrefs(path, tc.check)
			if src := mp.apply(file); src.Err == nil {
				t.Fatalf("apply: %+v, want an error that stops every launch", src)
			}
			if a := mp.applyAdmin(adminFile); a.Err == nil {
				t.Fatalf("applyAdmin: %+v, want an error", a)
			}
		})
	}

	// A well-formed file that sets the opt-in off leaves it off, even over
	// a policy file that sets it on: the managed preferences win, as Group
	// Policy does over the file.
	if err := os.WriteFile(path, mpXML(`<key>MacOSLaunch</key><false/>`), 0o644); err != nil {
		t.Fatal(err)
	}
	on := Source{Path: "/x/policy.toml", Policy: &Policy{Path: "/x/policy.toml", MacOSLaunch: true}}
	if src := readManagedPrefs(path, ok).apply(on); src.Err != nil || src.Policy.MacOSLaunch {
		t.Fatalf("MacOSLaunch false over macos_launch = true: %+v", src.Policy)
	}
}

// TestPolicyFileMacOSLaunch: macos_launch in policy.toml.
func TestPolicyFileMacOSLaunch(t *testing.T) {
	for in, want := range map[string]bool{"macos_launch = true\n": true, "macos_launch = false\n": false, "": false} {
		p, probs := Parse("policy.toml", []byte(in))
		if len(probs) > 0 || p.MacOSLaunch != want {
			t.Errorf("%q: MacOSLaunch %v, problems %v; want %v", in, p.MacOSLaunch, probs, want)
		}
	}
	if _, probs := Parse("policy.toml", []byte(`macos_launch = "yes"`)); len(probs) != 1 || !strings.Contains(probs[0].Msg, "true or false") {
		t.Errorf("macos_launch = \"yes\": %v", probs)
	}
}

// FuzzManagedPrefs: any bytes parse or give a *GPError; never a panic.
func FuzzManagedPrefs(f *testing.F) {
	f.Add(mpXML(`<key>Servers</key><array><string>a.example.com</string></array><key>MacOSLaunch</key><true/>`))
	b, _ := plist.Marshal(map[string]any{"OSLog": "info", "Proxies": []string{"p.example.com"}}, plist.BinaryFormat)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseManagedPrefs(mpPath, data)
		var ge *GPError
		if err != nil && !errors.As(err, &ge) {
			t.Fatalf("error %T %v, want a *GPError", err, err)
		}
	})
}

// TestManagedPrefsUnsafeKeepsFix: an unsafe path above the managed
// preferences is reported with the ownership check's own fix, and a
// malformed file as managed preferences, not as Group Policy.
func TestManagedPrefsUnsafeKeepsFix(t *testing.T) {
	unsafe := &platform.UnsafeFileError{Path: mpPath, Reason: "directory /Library/Managed Preferences is writable by group", Fix: "sudo chmod go-w '/Library/Managed Preferences'"}
	src := readManagedPrefs(mpPath, func(string) error { return unsafe }).apply(Source{Path: "/x/policy.toml"})
	var ue *platform.UnsafeFileError
	if !errors.As(src.Err, &ue) || ue.Fix != unsafe.Fix {
		t.Fatalf("apply: %v, want the *UnsafeFileError with its fix", src.Err)
	}
	_, err := parseManagedPrefs(mpPath, mpXML(`<key>Servers</key><string>x</string>`))
	if err == nil || !strings.HasPrefix(err.Error(), "managed preferences "+mpPath+": Servers: ") {
		t.Fatalf("error %q, want it to start with managed preferences and the key", err)
	}
}
