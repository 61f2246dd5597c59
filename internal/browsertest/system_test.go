//go:build linux

package browsertest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Machine-wide paths the browser and the registered handler read. Neither can
// be redirected: Chromium compiles its policy directory in, and the browser
// runs "trustlaunch open -- URL" as registered, which reads the fixed admin
// path (docs/design.md "Whitelist files": never derived from the
// environment).
const (
	chromiumManagedPolicyDir = "/etc/chromium/policies/managed"
	adminDir                 = "/etc/trustlaunch"
	adminList                = "/etc/trustlaunch/whitelist.txt"
)

// requireRoot fails the test when it cannot write the machine-wide files.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("the browser test needs root: Chromium reads managed policies only from %s, "+
			"and the AllowAdminListOnly case needs the real admin list %s (CI runs as root; "+
			"locally: sudo go test ./internal/browsertest/)", chromiumManagedPolicyDir, adminList)
	}
}

// mkdirAllOwned creates dir and missing parents with mode 0755 and
// registers the removal of the ones it created, deepest first, once they
// are empty again (a directory some other file landed in stays).
func mkdirAllOwned(t testing.TB, dir string) {
	t.Helper()
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		created = append(created, d)
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := os.Mkdir(created[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			t.Fatal(err)
		}
		// Mkdir applies the umask, so set 0755 exactly: readable by
		// Chromium and by every user's trustlaunch, and not group- or
		// world-writable, which the admin list's ownership check refuses.
		if err := os.Chmod(created[i], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range created {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Logf("left %s in place: %v", d, err)
			}
		}
	})
}

// writeManagedPolicy writes policy as a uniquely named JSON file in
// Chromium's managed policy directory and removes it when the test ends.
func writeManagedPolicy(t testing.TB, policy map[string]any) string {
	t.Helper()
	mkdirAllOwned(t, chromiumManagedPolicyDir)
	data, err := json.MarshalIndent(policy, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	path := filepath.Join(chromiumManagedPolicyDir, fmt.Sprintf("%s%d-%s.json", policyPrefix, os.Getpid(), hex.EncodeToString(rnd[:])))
	writeNewFile(t, path, data)
	return path
}

// Marks of the files this test writes in /etc, with the pid of the test
// process, so that a later run can tell the leftovers of a run that was
// killed before its cleanup (go test -timeout, SIGKILL) from a file that
// belongs to the machine.
const (
	policyPrefix = "trustlaunch-browsertest-"
	adminMarker  = "# written by trustlaunch's browser test (internal/browsertest), pid "
)

var stalePolicyRE = regexp.MustCompile(`^` + policyPrefix + `(\d+)-[0-9a-f]+\.json$`)

// removeStaleFiles removes what a killed earlier run left in /etc: policy
// files and an admin list that carry this test's mark and the pid of a
// test process that no longer runs. A leftover admin list would otherwise
// put the machine in AllowAdminListOnly mode and make every later run
// refuse to start.
func removeStaleFiles(t testing.TB) {
	t.Helper()
	entries, _ := os.ReadDir(chromiumManagedPolicyDir)
	for _, e := range entries {
		if m := stalePolicyRE.FindStringSubmatch(e.Name()); m != nil && !testRunning(m[1]) {
			p := filepath.Join(chromiumManagedPolicyDir, e.Name())
			if err := os.Remove(p); err != nil {
				t.Fatalf("remove stale %s: %v", p, err)
			}
			t.Logf("removed %s, left by a killed run", p)
		}
	}
	f, err := os.Open(adminList)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if pid, ok := strings.CutPrefix(sc.Text(), adminMarker); ok && !testRunning(pid) {
			if err := os.Remove(adminList); err != nil {
				t.Fatalf("remove stale %s: %v", adminList, err)
			}
			t.Logf("removed %s, left by a killed run (pid %s)", adminList, pid)
			return
		}
	}
}

// testRunning reports whether pid is a running Go test binary.
func testRunning(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", n))
	return err == nil && strings.HasSuffix(strings.TrimSuffix(exe, " (deleted)"), ".test")
}

// installAdminList writes the real admin list, root-owned 0644 in a 0755
// directory as its ownership check demands, with keyword (the first line)
// and then entries, and removes it when the test ends. It refuses to
// replace an admin list that is already there: that one belongs to the
// machine's administrator.
func installAdminList(t testing.TB, keyword string, entries ...string) {
	t.Helper()
	if _, err := os.Lstat(adminList); err == nil {
		t.Fatalf("%s already exists: this machine has a real trustlaunch admin list, and the browser test "+
			"would have to replace it (the browser runs trustlaunch open with the fixed admin path); "+
			"run the test on a machine without one", adminList)
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	mkdirAllOwned(t, adminDir)
	if fi, err := os.Stat(adminDir); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm()&0o022 != 0 {
		t.Fatalf("%s is writable by group or others (%v): trustlaunch would refuse any admin list in it", adminDir, fi.Mode().Perm())
	}
	// The keyword counts only at the top of the file, so the mark comes
	// after it.
	content := keyword + "\n" + adminMarker + strconv.Itoa(os.Getpid()) + "\n" + strings.Join(entries, "\n") + "\n"
	writeNewFile(t, adminList, []byte(content))
}

// writeNewFile creates path (which must not exist) with mode 0644 and
// removes it when the test ends.
func writeNewFile(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("remove %s: %v", path, err)
		}
	})
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		t.Fatal(errors.Join(werr, cerr))
	}
	if err := os.Chmod(path, 0o644); err != nil { // the umask may have cut it
		t.Fatal(err)
	}
}
