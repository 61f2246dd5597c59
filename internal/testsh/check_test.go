//go:build linux

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

// debianPackages reads DEBIAN_PACKAGES from test.sh, as the install step
// gets it.
func debianPackages(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "test.sh"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	file, err := syntax.NewParser().Parse(f, "test.sh")
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	syntax.Walk(file, func(n syntax.Node) bool {
		a, ok := n.(*syntax.Assign)
		if !ok || a.Name.Value != "DEBIAN_PACKAGES" || a.Array == nil {
			return true
		}
		for _, e := range a.Array.Elems {
			pkgs = append(pkgs, e.Value.Lit())
		}
		return false
	})
	if len(pkgs) < 10 {
		t.Fatalf("read %d packages from test.sh's DEBIAN_PACKAGES: %q", len(pkgs), pkgs)
	}
	return pkgs
}

// TestInstallCheck runs the check against this machine, where test.sh's
// install step has run: with DEBIAN_PACKAGES as it is nothing is missing,
// and without wine (the list before wineboot's package was added, when only
// a hand install had put wineboot there) the check names wineboot.
func TestInstallCheck(t *testing.T) {
	pkgs := debianPackages(t)
	problems, err := checkPrograms(pkgs, systemDpkg{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("with test.sh's DEBIAN_PACKAGES: %s", p)
	}

	without := slices.DeleteFunc(slices.Clone(pkgs), func(p string) bool { return p == "wine" })
	problems, err = checkPrograms(without, systemDpkg{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "wineboot: ") || !strings.Contains(problems[0], "belongs to wine, which DEBIAN_PACKAGES does not install") {
		t.Errorf("without wine, the check said %q; want one line naming wineboot and wine", problems)
	}
}

func TestParseClosure(t *testing.T) {
	out := `wine
  Depends: wine64
 |Depends: wine32
  Depends: <libwine>
wine64
  PreDepends: dpkg
<libwine>
libc6:amd64
`
	got := parseClosure([]byte(out))
	for _, want := range []string{"wine", "wine64", "libwine", "libc6"} {
		if !got[want] {
			t.Errorf("closure lacks %s: %v", want, got)
		}
	}
	if got["wine32"] || got["dpkg"] {
		t.Errorf("closure holds a dependency that apt-cache did not list as reached: %v", got)
	}
}

func TestParseOwners(t *testing.T) {
	out := "coreutils: /bin/ls\n" +
		"libfoo:amd64, libfoo-dev: /usr/lib/x\n" +
		"diversion by dash from: /bin/sh\n" +
		"diversion by dash to: /bin/sh.distrib\n" +
		"dash: /bin/sh\n"
	got := parseOwners([]byte(out))
	want := map[string][]string{
		"/bin/ls":    {"coreutils"},
		"/usr/lib/x": {"libfoo", "libfoo-dev"},
		"/bin/sh":    {"dash"},
	}
	if len(got) != len(want) {
		t.Errorf("parseOwners = %q, want %q", got, want)
	}
	for path, w := range want {
		if !slices.Equal(got[path], w) {
			t.Errorf("owners of %s = %q, want %q", path, got[path], w)
		}
	}
}

func TestUsrToggled(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/bash": "/bin/bash", "/bin/bash": "/usr/bin/bash",
		"/usr/sbin/ip": "/sbin/ip", "/usr/lib/wine/wine64": "/lib/wine/wine64",
		"/opt/x": "", "/usr/share/x": "",
	} {
		if got := usrToggled(in); got != want {
			t.Errorf("usrToggled(%q) = %q, want %q", in, got, want)
		}
	}
}
