package launcher

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestBrokenProfileStopsOnlyItsLaunch: a typo in one profile makes that
// profile unusable, with every problem of the file reported, and leaves
// the others, so that a launch naming another one runs.
func TestBrokenProfileStopsOnlyItsLaunch(t *testing.T) {
	user := writeFile(t, testtmp.Dir(t), "profiles.toml", `[profile.good]
command = ["c3270", "{host}:{port}"]

[profile.typo]
comand = ["c3270", "{host}:{port}"]

[profile.worse]
command = ["c3270", "{user}"]
terminal = "yes"
`)
	ps, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: user})
	if err != nil {
		t.Fatalf("LoadProfiles: %v; a problem in an unused profile must not stop the launch", err)
	}
	if p, err := ps.Resolve("good"); err != nil || p.Argv[0] != "c3270" {
		t.Fatalf("Resolve(good) = %v, %v", p, err)
	}
	for name, want := range map[string]string{
		"typo":  user + `:4: profile "typo": no command`,
		"worse": user + `:8: profile "worse": command[1] has unknown placeholder "{user}"`,
	} {
		_, err := ps.Resolve(name)
		var pe *ProfileFileError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Resolve(%s) = %v, want %q", name, err, want)
		}
	}
	var got []string
	for _, p := range ps.Problems {
		got = append(got, p.Error())
	}
	want := []string{
		user + `:4: profile "typo": no command`,
		user + `:5: profile "typo": unknown key "comand"`,
		user + `:8: profile "worse": command[1] has unknown placeholder "{user}"`,
		user + `:9: profile "worse": terminal must be true or false`,
	}
	if len(got) != len(want) {
		t.Fatalf("problems %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want %q", i, got[i], want[i])
		}
	}
	if len(ps.Warnings) != len(want) {
		t.Errorf("warnings %q, want one per problem", ps.Warnings)
	}
}

// TestBrokenProfileHidesWhatItOverrides: a broken definition stops a
// launch of its name instead of letting what it was written to replace
// run: the built-in under a user's broken override, and a user's
// definition under the administrator's broken one.
func TestBrokenProfileHidesWhatItOverrides(t *testing.T) {
	builtin := "c3270"
	if runtime.GOOS == "windows" {
		builtin = "wc3270"
	}
	dir := testtmp.Dir(t)
	admin := writeFile(t, dir, "admin.toml", "[profile.payroll]\ncommand = [\"c3270\", \"{hots}\"]\n")
	user := writeFile(t, dir, "user.toml", "[profile.payroll]\ncommand = [\"c3270\", \"{host}:{port}\"]\n\n[profile."+builtin+"]\ncommand = \"c3270 {host}\"\n")
	ps, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: user, checkAdmin: acceptAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Resolve("payroll"); err == nil || !strings.HasPrefix(err.Error(), admin+":2:") {
		t.Errorf("Resolve(payroll) = %v, want the admin file's problem", err)
	}
	if _, err := ps.Resolve(builtin); err == nil || !strings.HasPrefix(err.Error(), user+":5:") {
		t.Errorf("Resolve(%s) = %v, want the user file's problem, not the built-in", builtin, err)
	}
	if p, err := ps.Resolve("raw"); err != nil || p.Kind != ProfileRaw {
		t.Errorf("Resolve(raw) = %v, %v", p, err)
	}
}

// TestProfileFileFatal: a file that is not TOML, or holds keys outside
// the profile tables, stops every launch: what it meant cannot be known.
func TestProfileFileFatal(t *testing.T) {
	for _, content := range []string{
		"[profile.a]\ncommand = [\"a\"\n",
		"[profile.a]\ncommand = [\"a\"]\n[profiles.b]\ncommand = [\"b\"]\n",
	} {
		user := writeFile(t, testtmp.Dir(t), "profiles.toml", content)
		if _, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: user}); err == nil {
			t.Errorf("%q: LoadProfiles succeeded", content)
		}
	}
}

func TestCheckProfileFile(t *testing.T) {
	file := writeFile(t, testtmp.Dir(t), "profiles.toml", "[profile.a]\ncommand = [\"a\"]\nlisten_port = 7\n[profile.b]\ncommand = [\"b\", \"{x}\"]\n")
	ps, probs, err := CheckProfileFile(file, false)
	if err != nil || len(ps) != 1 || ps[0].Name != "a" || len(probs) != 1 || probs[0].Line != 5 {
		t.Fatalf("admin: profiles %v, problems %v, err %v", ps, probs, err)
	}
	ps, probs, err = CheckProfileFile(file, true)
	if err != nil || len(ps) != 0 || len(probs) != 2 || !strings.Contains(probs[0].Msg, "listen_port is allowed only") {
		t.Fatalf("user: profiles %v, problems %v, err %v", ps, probs, err)
	}
}
