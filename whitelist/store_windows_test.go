package whitelist

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
)

// assertPrivateList is the Windows counterpart of the Unix 0600/0700
// check: Windows has no mode bits, so the owner and DACL the writer leaves
// on the list and its folder are put through the user-file rule, the
// shared pure-Go security-descriptor evaluator (platform/usersd.go) that
// the reader applies too: owned by the user, no other principal but
// SYSTEM, Administrators and OWNER RIGHTS granted a write right. Wine
// builds the DACL from the Unix mode bits, so under Wine this sees what
// the writer's files would give other users.
func assertPrivateList(t *testing.T, path string) {
	t.Helper()
	if err := platform.CheckUserFile(path); err != nil {
		t.Errorf("the writer left %s open to others: %v", path, err)
	}
}

// TestPrivateListCheckCanFail shows that assertPrivateList's check refuses
// a list, or its folder, that the writer had left open: it grants Everyone
// full control with SetNamedSecurityInfo (Wine honours a DACL set, mapping
// it onto the Unix mode bits) after a real AddToUserList.
func TestPrivateListCheckCanFail(t *testing.T) {
	for _, target := range []string{"file", "folder"} {
		t.Run(target, func(t *testing.T) {
			path := filepath.Join(testtmp.Dir(t), "sub", "whitelist.txt")
			e, _ := ParseEntry("portal.example.com")
			if _, err := AddToUserList(t.Context(), path, e); err != nil {
				t.Fatal(err)
			}
			if err := platform.CheckUserFile(path); err != nil {
				t.Fatalf("as written: %v", err)
			}
			obj := path
			if target == "folder" {
				obj = filepath.Dir(path)
			}
			grantEveryoneFullControl(t, obj)
			var u *platform.UnsafeFileError
			err := platform.CheckUserFile(path)
			if !errors.As(err, &u) || !strings.Contains(u.Reason, "writable by") {
				t.Fatalf("after granting Everyone full control on the %s: %v, want an *UnsafeFileError saying who can write it", target, err)
			}
			t.Logf("refused: %v", err)
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
