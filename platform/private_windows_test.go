package platform

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestPrivateSDRule: the access list RestrictToOwner sets passes the
// private-file rule, and the rule refuses the lists a file gets otherwise
// (the folder's inherited entries; Users or Everyone allowed to read), run
// on descriptors built by Windows' own SDDL parser.
func TestPrivateSDRule(t *testing.T) {
	const user = testUserSID
	for _, c := range []struct{ sddl, want string }{
		{privateSDDL(user), "ok"},
		{"D:(A;;FA;;;" + user + ")", "inherits the folder's entries"},
		{"D:P(A;;FA;;;" + user + ")(A;;FR;;;BU)", "S-1-5-32-545 is allowed"},
		{"D:P(A;;FA;;;" + user + ")(A;;GA;;;WD)", "S-1-1-0 is allowed"},
		{"D:P(A;;FA;;;" + user + ")(A;;FA;;;SY)", "S-1-5-18 is allowed"},
		{"D:P(A;;FA;;;" + user + ")(D;;FA;;;WD)", "ok"},                      // a deny entry takes access away only
		{"D:P(A;;FA;;;" + user + ")(A;OICIIO;FA;;;BU)", "ok"},                // inherit-only: for children, not this file
		{"D:P(A;;FA;;;" + user + ")(A;;0x100000;;;BU)", "ok"},                // SYNCHRONIZE reads nothing
		{"D:P(A;;FA;;;" + user + ")(A;;WD;;;BU)", "S-1-5-32-545 is allowed"}, // WRITE_DAC gives the rest
	} {
		sd, err := windows.SecurityDescriptorFromString(c.sddl)
		if err != nil {
			t.Fatalf("%s: %v", c.sddl, err)
		}
		info, err := parseSD(unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length()))
		if err != nil {
			t.Fatalf("%s: %v", c.sddl, err)
		}
		checkSDProblem(t, c.sddl, privateSDProblem(info, user), c.want)
	}
}

// TestRestrictToOwnerWindows: RestrictToOwner sets the access list on a
// real file. Wine accepts the call and keeps no access lists, so what the
// file then holds is real Windows' to show; the list set is the one
// TestPrivateSDRule checks.
func TestRestrictToOwnerWindows(t *testing.T) {
	f, err := os.Create(testtmp.Dir(t) + `\key`)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := RestrictToOwner(f); err != nil {
		t.Fatal(err)
	}
	if !underWine() {
		sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
		if err != nil {
			t.Fatal(err)
		}
		info, err := parseSD(unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length()))
		if err != nil {
			t.Fatal(err)
		}
		tu, err := windows.GetCurrentProcessToken().GetTokenUser()
		if err != nil {
			t.Fatal(err)
		}
		if p := privateSDProblem(info, tu.User.Sid.String()); p != "" {
			t.Errorf("after RestrictToOwner: %s", p)
		}
	}
}
