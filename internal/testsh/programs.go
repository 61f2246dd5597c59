package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/trustlaunch/trustlaunch/internal/debpkg"
)

// packageDB is what the check asks of apt and dpkg.
type packageDB interface {
	// Closure returns the packages reached from pkgs over Depends and
	// Pre-Depends (pkgs included), virtual packages and every alternative
	// of an or-group included.
	Closure(pkgs []string) (map[string]bool, error)
	// Essential returns the installed packages marked Essential: yes,
	// which Debian guarantees on every system.
	Essential() (map[string]bool, error)
	// Owners returns the packages dpkg records as owning each of paths
	// (asked in one call: each call reads dpkg's whole database); a path
	// no package owns is absent from the map.
	Owners(paths []string) (map[string][]string, error)
}

// extraDirs are searched after PATH: Debian puts daemons in /usr/sbin (not on
// an ordinary user's PATH), and wine64's loader in /usr/lib/wine.
var extraDirs = []string{"/usr/sbin", "/sbin", "/usr/lib/wine"}

// checkPrograms returns one line for each program of debpkg.Programs that a
// fresh machine with only packages installed (and what they depend on) would
// not have, or whose record in debpkg is wrong.
func checkPrograms(packages []string, db packageDB) ([]string, error) {
	closure, err := db.Closure(packages)
	if err != nil {
		return nil, err
	}
	essential, err := db.Essential()
	if err != nil {
		return nil, err
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	gobin := filepath.Join(strings.TrimSpace(string(goroot)), "bin")

	names := make([]string, 0, len(debpkg.Programs))
	for name := range debpkg.Programs {
		names = append(names, name)
	}
	sort.Strings(names)
	type found struct{ path, real string }
	located := map[string]found{}
	var problems, asked []string
	for _, name := range names {
		path, err := lookPath(name)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: not found after the install step (recorded as from %s)", name, debpkg.Programs[name]))
			continue
		}
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		located[name] = found{path, real}
		asked = append(asked, spellings(path, real)...)
	}
	owners, err := db.Owners(asked)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		loc, ok := located[name]
		if !ok {
			continue
		}
		want := debpkg.Programs[name]
		if want == debpkg.GoToolchain {
			if filepath.Dir(loc.real) != gobin {
				problems = append(problems, fmt.Sprintf("%s: %s is not the Go toolchain's (%s)", name, loc.real, gobin))
			}
			continue
		}
		var by []string
		for _, p := range spellings(loc.path, loc.real) {
			if by = owners[p]; len(by) > 0 {
				break
			}
		}
		switch {
		case len(by) == 0:
			problems = append(problems, fmt.Sprintf("%s: %s belongs to no Debian package (installed by hand?)", name, loc.real))
		case !contains(by, want):
			problems = append(problems, fmt.Sprintf("%s: %s belongs to %s, not %s as internal/debpkg records", name, loc.real, strings.Join(by, ", "), want))
		case !closure[want] && !essential[want]:
			problems = append(problems, fmt.Sprintf("%s: %s belongs to %s, which DEBIAN_PACKAGES does not install (add it, or a package that depends on it, to DEBIAN_PACKAGES in test.sh)", name, loc.real, want))
		}
	}
	return problems, nil
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range extraDirs {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found", name)
}

// spellings are the paths dpkg is asked about for a program, in order. dpkg
// records the path a package shipped, which after /usr was merged may differ
// from the one a lookup finds (/bin/bash against /usr/bin/bash), and an
// alternative's link (/usr/bin/wineboot -> /etc/alternatives/...) belongs to
// no package while its target does.
func spellings(path, real string) []string {
	var out []string
	for _, p := range []string{real, usrToggled(real), path, usrToggled(path)} {
		if p != "" && !contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// usrToggled maps /usr/bin/x to /bin/x and back (the merged /usr).
func usrToggled(p string) string {
	for _, d := range []string{"/bin/", "/sbin/", "/lib/"} {
		if rest, ok := strings.CutPrefix(p, "/usr"+d); ok {
			return d + rest
		}
		if rest, ok := strings.CutPrefix(p, d); ok {
			return "/usr" + d + rest
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// systemDpkg asks this machine's apt-cache and dpkg.
type systemDpkg struct{}

func (systemDpkg) Closure(pkgs []string) (map[string]bool, error) {
	// Only Depends and Pre-Depends: the plain --recurse --no-recommends walk
	// also follows Suggests, Conflicts, Breaks, Replaces and Enhances and
	// reaches most of the archive (wine among it), which would hide a
	// missing package.
	args := append([]string{"depends", "--recurse", "--no-recommends", "--no-suggests",
		"--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"}, pkgs...)
	cmd := exec.Command("apt-cache", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache depends: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseClosure(out), nil
}

// parseClosure reads apt-cache depends --recurse: each package reached stands
// unindented on a line of its own (a virtual one in <angle brackets>), its
// dependencies indented below it.
func parseClosure(out []byte) map[string]bool {
	closure := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ' ' || line[0] == '|' {
			continue
		}
		name := strings.Trim(strings.TrimSpace(line), "<>")
		name, _, _ = strings.Cut(name, ":") // libc6:amd64
		closure[name] = true
	}
	return closure
}

func (systemDpkg) Essential() (map[string]bool, error) {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Package}\t${Essential}\n").Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-query: %w", err)
	}
	essential := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, flag, ok := strings.Cut(line, "\t"); ok && flag == "yes" {
			essential[name] = true
		}
	}
	return essential, nil
}

func (systemDpkg) Owners(paths []string) (map[string][]string, error) {
	cmd := exec.Command("dpkg-query", append([]string{"-S"}, paths...)...)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return nil, fmt.Errorf("dpkg-query -S: %w", err) // 1: some path has no owner
	}
	return parseOwners(out), nil
}

// parseOwners reads dpkg -S: "pkg1, pkg2:arch: /path" lines, and "diversion
// by ..." lines that name no owner.
func parseOwners(out []byte) map[string][]string {
	owners := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		pkgs, path, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(line, "diversion by ") {
			continue
		}
		for _, pkg := range strings.Split(pkgs, ", ") {
			pkg, _, _ = strings.Cut(pkg, ":")
			owners[path] = append(owners[path], pkg)
		}
	}
	return owners
}
