package platform

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// privateSDDL is the security descriptor RestrictToOwner gives a file: a
// protected DACL (P: no entry inherited from the folder) with one entry,
// full access for the user. SYSTEM and Administrators get no entry: an
// administrator can still take ownership, which no access list prevents.
func privateSDDL(userSID string) string { return "D:P(A;;FA;;;" + userSID + ")" }

func restrictToOwner(f *os.File) error {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("read current user: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString(privateSDDL(tu.User.Sid.String()))
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	// By name: os.Create's handle has no WRITE_DAC right. The file is
	// empty still, so nothing is readable before the list is in place.
	return windows.SetNamedSecurityInfo(f.Name(), windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
}
