package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/registry"
)

// regEnv stands in for HKCU\Software\Classes and HKLM\Software\Classes with
// two keys under HKCU\Software\trustlaunch-test-*, so the tests need no
// administrator and never touch the real classes.
type regEnv struct {
	base string
	exe  string
}

func newRegEnv(t *testing.T) *regEnv {
	t.Helper()
	e := &regEnv{base: fmt.Sprintf(`Software\trustlaunch-test-%d-%d`, os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() { deleteTree(registry.CURRENT_USER, e.base) })
	e.exe = filepath.Join(resolvedTempDir(t), "trustlaunch.exe")
	if err := os.WriteFile(e.exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *regEnv) opts(system bool) RegisterOptions {
	o := RegisterOptions{Executable: e.exe, System: system}
	o.test.userClasses = e.base + `\HKCU`
	o.test.machineClasses = e.base + `\HKLM`
	return o
}

func deleteTree(root registry.Key, path string) {
	k, err := registry.OpenKey(root, path, registry.ENUMERATE_SUB_KEYS)
	if err == nil {
		names, _ := k.ReadSubKeyNames(-1)
		k.Close()
		for _, n := range names {
			deleteTree(root, path+`\`+n)
		}
	}
	registry.DeleteKey(root, path)
}

func readValue(t *testing.T, path, name string) string {
	t.Helper()
	k, err := registry.OpenKey(registry.CURRENT_USER, path, registry.QUERY_VALUE)
	if err != nil {
		t.Fatalf("open HKCU\\%s: %v", path, err)
	}
	defer k.Close()
	v, _, err := k.GetStringValue(name)
	if err != nil {
		t.Fatalf("HKCU\\%s value %q: %v", path, name, err)
	}
	return v
}

func TestRegisterWindows(t *testing.T) {
	e := newRegEnv(t)
	if _, err := Register(t.Context(), e.opts(false)); err != nil {
		t.Fatalf("Register: %v", err)
	}
	key := e.base + `\HKCU\trustlaunch`
	want, _ := windowsOpenCommand(e.exe)
	for _, c := range []struct{ path, name, want string }{
		{key, "", "URL:trustlaunch Protocol"},
		{key, "URL Protocol", ""},
		{key, registerMarker, markerValue},
		{key + `\DefaultIcon`, "", e.exe + ",0"},
		{key + `\shell\open`, "FriendlyAppName", "trustlaunch"},
		{key + `\shell\open\command`, "", want},
	} {
		if got := readValue(t, c.path, c.name); got != c.want {
			t.Errorf("%s [%s] = %q, want %q", c.path, c.name, got, c.want)
		}
	}
	r, err := CheckRegistration(t.Context(), e.opts(false))
	if err != nil || !r.OK() {
		t.Errorf("CheckRegistration: %v; problems: %+v", err, r.Problems)
	}

	r, err = Unregister(t.Context(), e.opts(false))
	if err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if _, err := registry.OpenKey(registry.CURRENT_USER, key, registry.QUERY_VALUE); !errors.Is(err, registry.ErrNotExist) {
		t.Errorf("key still there after Unregister: %v", err)
	}
}

func TestRegisterWindowsForeignKey(t *testing.T) {
	e := newRegEnv(t)
	key := e.base + `\HKCU\trustlaunch\shell\open\command`
	k, _, err := registry.CreateKey(registry.CURRENT_USER, key, registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	k.SetStringValue("", `"C:\other\other.exe" "%1"`)
	k.Close()

	_, err = Register(t.Context(), e.opts(false))
	var re *RegisterError
	if !errors.As(err, &re) || !errors.Is(err, ErrOtherHandler) || !strings.Contains(re.Fix, "--force") {
		t.Fatalf("Register over a foreign key: %v", err)
	}
	r, err := Unregister(t.Context(), e.opts(false))
	if err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if got := readValue(t, key, ""); got != `"C:\other\other.exe" "%1"` {
		t.Errorf("Unregister changed a foreign key: %q", got)
	}
	if len(r.Findings) == 0 || !strings.Contains(r.Findings[0].Value, "not written by trustlaunch register") {
		t.Errorf("findings: %+v", r.Findings)
	}
	opts := e.opts(false)
	opts.Force = true
	if _, err := Register(t.Context(), opts); err != nil {
		t.Fatalf("Register --force: %v", err)
	}
	if got, _ := windowsOpenCommand(e.exe); readValue(t, key, "") != got {
		t.Errorf("--force did not replace the command")
	}
}

// TestCheckWindowsShadow: a per-user key hides the machine-wide one, and
// check --system must say so.
func TestCheckWindowsShadow(t *testing.T) {
	e := newRegEnv(t)
	// The machine-wide registration runs this binary ...
	mopts := e.opts(true)
	if err := writeHandler(hive{"test HKLM", registry.CURRENT_USER, mopts.test.machineClasses + `\trustlaunch`}, e.exe, mustCommand(t, e.exe)); err != nil {
		t.Fatal(err)
	}
	// ... but the user's runs another.
	other := filepath.Join(filepath.Dir(e.exe), "old", "trustlaunch.exe")
	if err := writeHandler(hive{"test HKCU", registry.CURRENT_USER, mopts.test.userClasses + `\trustlaunch`}, other, mustCommand(t, other)); err != nil {
		t.Fatal(err)
	}
	r, err := checkRegistration(t.Context(), mopts, e.exe)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range r.Problems {
		if !p.Warning && strings.Contains(p.What, "shadows") {
			found = true
		}
	}
	if !found || r.OK() {
		t.Errorf("check --system did not report the shadowing HKCU key: %+v", r.Problems)
	}
}

func mustCommand(t *testing.T, exe string) string {
	t.Helper()
	c, err := windowsOpenCommand(exe)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheckWindowsMachineOnly: what an MSI writes, a valid HKLM key and no
// HKCU key, is a working registration for the user: register --check must
// report it valid (exit 0), not ask for a per-user key.
func TestCheckWindowsMachineOnly(t *testing.T) {
	e := newRegEnv(t)
	mopts := e.opts(true)
	if err := writeHandler(hive{"test HKLM", registry.CURRENT_USER, mopts.test.machineClasses + `\trustlaunch`}, e.exe, mustCommand(t, e.exe)); err != nil {
		t.Fatal(err)
	}
	for _, system := range []bool{false, true} {
		r, err := checkRegistration(t.Context(), e.opts(system), e.exe)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() {
			t.Errorf("check (system %v) of a valid HKLM-only registration: problems %+v", system, r.Problems)
		}
		var runs bool
		for _, f := range r.Findings {
			if f.Name == "runs this binary" && f.Value == "yes" {
				runs = true
			}
		}
		if !runs {
			t.Errorf("check (system %v): no finding that links run this binary: %+v", system, r.Findings)
		}
	}
}

// setValue writes one string value under HKCU\path, creating the key.
func setValue(t *testing.T, path, name, value string) {
	t.Helper()
	k, _, err := registry.CreateKey(registry.CURRENT_USER, path, registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := k.SetStringValue(name, value); err != nil {
		t.Fatal(err)
	}
}

func deleteValue(t *testing.T, path, name string) {
	t.Helper()
	k, err := registry.OpenKey(registry.CURRENT_USER, path, registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := k.DeleteValue(name); err != nil {
		t.Fatal(err)
	}
}

// problemsAbout returns the problems (warnings too) whose text names what.
func problemsAbout(r Report, what string) []Problem {
	var ps []Problem
	for _, p := range r.Problems {
		if strings.Contains(p.What, what) {
			ps = append(ps, p)
		}
	}
	return ps
}

// TestCheckWindowsIconNameProtocol: register --check reads back each value
// Register writes besides the command. A missing "URL Protocol" stops links
// (problem); a missing or foreign DefaultIcon or FriendlyAppName only
// changes what browsers show (warning, with the fix).
func TestCheckWindowsIconNameProtocol(t *testing.T) {
	for _, c := range []struct {
		name    string
		breakIt func(t *testing.T, key string)
		about   string
		warning bool
	}{
		{"no URL Protocol", func(t *testing.T, key string) { deleteValue(t, key, "URL Protocol") }, "URL Protocol", false},
		{"no FriendlyAppName", func(t *testing.T, key string) { deleteValue(t, key+`\shell\open`, "FriendlyAppName") }, "FriendlyAppName", true},
		{"other FriendlyAppName", func(t *testing.T, key string) { setValue(t, key+`\shell\open`, "FriendlyAppName", "Evil Corp Updater") }, "FriendlyAppName", true},
		{"no DefaultIcon", func(t *testing.T, key string) { deleteValue(t, key+`\DefaultIcon`, "") }, "DefaultIcon", true},
		{"other DefaultIcon", func(t *testing.T, key string) { setValue(t, key+`\DefaultIcon`, "", `C:\other\other.exe,0`) }, "DefaultIcon", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newRegEnv(t)
			if _, err := Register(t.Context(), e.opts(false)); err != nil {
				t.Fatalf("Register: %v", err)
			}
			r, err := CheckRegistration(t.Context(), e.opts(false))
			if err != nil || len(r.Problems) != 0 {
				t.Fatalf("check of a fresh registration: %v; problems %+v", err, r.Problems)
			}
			c.breakIt(t, e.base+`\HKCU\trustlaunch`)
			r, err = CheckRegistration(t.Context(), e.opts(false))
			if err != nil {
				t.Fatal(err)
			}
			ps := problemsAbout(r, c.about)
			if len(ps) != 1 || ps[0].Warning != c.warning || ps[0].Fix == "" {
				t.Fatalf("check after %s: want one problem about %s (warning %v) with a fix; got %+v", c.name, c.about, c.warning, r.Problems)
			}
			if r.OK() != c.warning {
				t.Errorf("check after %s: OK() = %v", c.name, r.OK())
			}
		})
	}
}

// writeMSIKey writes the handler key as packaging/windows/trustlaunch.wxs
// makes the MSI write it: the same values as Register, with the marker
// naming the MSI and its ProductCode.
func writeMSIKey(t *testing.T, h hive, exe, productCode string) {
	t.Helper()
	for _, v := range windowsHandlerValues(exe, mustCommand(t, exe), msiMarkerPrefix+" "+productCode) {
		p := h.path
		if v.Subkey != "" {
			p += `\` + v.Subkey
		}
		setValue(t, p, v.Name, v.Value)
	}
}

const testProductCode = "{2B3C4D5E-0000-4000-8000-00000000ABCD}"

// TestUnregisterSystemRefusesMSIKey: the MSI's keys belong to the MSI.
// unregister --system must leave them and name the MSI to uninstall;
// register --system must not overwrite them without --force.
func TestUnregisterSystemRefusesMSIKey(t *testing.T) {
	e := newRegEnv(t)
	mopts := e.opts(true)
	_, machine := hives(mopts)
	writeMSIKey(t, machine, e.exe, testProductCode)

	_, err := Unregister(t.Context(), mopts)
	var re *RegisterError
	if !errors.As(err, &re) || !errors.Is(err, ErrMSIOwned) {
		t.Fatalf("unregister --system of the MSI's key: %v, want ErrMSIOwned", err)
	}
	if !strings.Contains(err.Error(), "MSI") || !strings.Contains(re.Fix, "msiexec /x "+testProductCode) {
		t.Errorf("refusal does not name the MSI to uninstall: %v (fix: %s)", err, re.Fix)
	}
	if got := readValue(t, machine.path+`\`+commandSubkey, ""); got != mustCommand(t, e.exe) {
		t.Errorf("unregister --system changed the MSI's command: %q", got)
	}

	_, err = Register(t.Context(), mopts)
	if !errors.As(err, &re) || !errors.Is(err, ErrMSIOwned) || !strings.Contains(re.Fix, "--force") {
		t.Fatalf("register --system over the MSI's key: %v", err)
	}
	if got := readValue(t, machine.path, registerMarker); got != msiMarkerPrefix+" "+testProductCode {
		t.Errorf("register --system replaced the MSI's marker: %q", got)
	}
}

// TestCheckWindowsMSIEntry: what the MSI writes (HKLM only) is a valid
// registration, with no warning, and the report says the MSI wrote it.
func TestCheckWindowsMSIEntry(t *testing.T) {
	e := newRegEnv(t)
	_, machine := hives(e.opts(true))
	writeMSIKey(t, machine, e.exe, testProductCode)
	for _, system := range []bool{false, true} {
		r, err := CheckRegistration(t.Context(), e.opts(system))
		if err != nil || len(r.Problems) != 0 {
			t.Fatalf("check (system %v) of the MSI's entry: %v; problems %+v", system, err, r.Problems)
		}
		var named bool
		for _, f := range r.Findings {
			if strings.Contains(f.Value, "written by the trustlaunch MSI") && strings.Contains(f.Value, testProductCode) {
				named = true
			}
		}
		if !named {
			t.Errorf("check (system %v) does not say the MSI wrote the key: %+v", system, r.Findings)
		}
	}
}
