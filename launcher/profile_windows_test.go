package launcher

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
)

// TestAdminGuideFixedPortProfiles loads the admin guide's PCOMM and ACS profiles
// (the toml block with listen_port) as an administrator's file on Windows,
// where their drive-letter paths are absolute: the example must be one
// that trustlaunch accepts, with the ports it shows. Neither emulator is
// installed, so each resolves to a missing program named by its path.
func TestAdminGuideFixedPortProfiles(t *testing.T) {
	guide, err := os.ReadFile("../docs/admin.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, part := range strings.Split(string(guide), "```toml\n")[1:] {
		body, _, _ := strings.Cut(part, "```")
		if strings.Contains(body, "listen_port") {
			block = body
			break
		}
	}
	if block == "" {
		t.Fatal("docs/admin.md has no toml block with listen_port")
	}
	admin := writeFile(t, testtmp.Dir(t), "profiles.toml", block)
	ps, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: noAdminProfiles, checkAdmin: acceptAdmin})
	if err != nil {
		t.Fatalf("the admin guide's example: %v", err)
	}
	for name, port := range map[string]int{"payroll-pcomm": 23023, "payroll-acs": 23024} {
		p, err := ps.Resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.ListenPort != port {
			t.Errorf("%s: ListenPort %d, want %d", name, p.ListenPort, port)
		}
		_, err = p.Command("127.0.0.1", port, "Payroll")
		var me *MissingCommandError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "is not an executable file") {
			t.Errorf("%s: Command error %v, want the missing program named", name, err)
		}
	}
}

// TestUserProfilesOthersCouldWriteIgnoredWindows: %AppData%\trustlaunch\
// profiles.toml, the default path, goes through the user whitelist's
// rule. As written it is read; once its DACL (or its folder's) lets
// Everyone write it, it is ignored as a whole, wc3270 is the built-in
// again, and the warning names the file and the icacls fix. Wine honours
// a DACL set with SetNamedSecurityInfo, mapping it onto the Unix mode
// bits, so this runs there too; the rule's verdicts on other descriptors
// are platform's usersd_test.go.
func TestUserProfilesOthersCouldWriteIgnoredWindows(t *testing.T) {
	for _, target := range []string{"file", "folder"} {
		t.Run(target, func(t *testing.T) {
			appData := testtmp.Dir(t)
			t.Setenv("APPDATA", appData)
			dir := filepath.Join(appData, "trustlaunch")
			if err := platform.MkdirPrivate(dir); err != nil {
				t.Fatal(err)
			}
			file := writeFile(t, dir, "profiles.toml", "[profile.wc3270]\ncommand = ['C:\\Windows\\System32\\cmd.exe', '{host}:{port}']\n")
			if def, err := DefaultUserProfilesFile(); err != nil || def != file {
				t.Fatalf("DefaultUserProfilesFile() = %q, %v; want %q", def, err, file)
			}
			load := func() *Profiles {
				t.Helper()
				ps, err := LoadProfiles(ProfileOptions{AdminFile: testAbs(noAdminProfiles)})
				if err != nil {
					t.Fatal(err)
				}
				return ps
			}
			if p, _ := load().Resolve("wc3270"); p == nil || p.Source != file+":1" {
				t.Fatalf("as written: wc3270 = %+v, want the file's", p)
			}
			obj := file
			if target == "folder" {
				obj = dir
			}
			grantEveryoneFullControl(t, obj)
			ps := load()
			if p, _ := ps.Resolve("wc3270"); p == nil || p.Source != "built-in" {
				t.Errorf("after Everyone was let write the %s: wc3270 = %+v, want the built-in", target, p)
			}
			if len(ps.Warnings) != 1 || !strings.Contains(ps.Warnings[0], "ignoring your profiles file") ||
				!strings.Contains(ps.Warnings[0], file) || !strings.Contains(ps.Warnings[0], "writable by") || !strings.Contains(ps.Warnings[0], "fix: icacls") {
				t.Errorf("warnings %q, want one naming %s, who can write it and the icacls fix", ps.Warnings, file)
			}
		})
	}
}

// grantEveryoneFullControl replaces obj's DACL with one that also lets
// Everyone (S-1-1-0) do anything.
func grantEveryoneFullControl(t *testing.T, obj string) {
	t.Helper()
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:(A;OICI;FA;;;SY)(A;OICI;FA;;;" + u.User.Sid.String() + ")(A;OICI;FA;;;WD)")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(obj, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatalf("SetNamedSecurityInfo(%s): %v", obj, err)
	}
}
