package platform

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// securePrivateDir checks the owner of an existing dir. Windows has no mode
// bits to tighten; privacy comes from the ACL inherited from the user's
// profile, which only the owner (or an administrator) can change.
func securePrivateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read owner: %w", err)
	}
	if sd == nil {
		return errors.New("read owner: no security descriptor")
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("read owner: %w", err)
	}
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("read current user: %w", err)
	}
	if owner == nil || !(owner.Equals(user.User.Sid) || isAdminSID(owner)) {
		return fmt.Errorf("owned by %s, not by the current user %s", accountName(owner), accountName(user.User.Sid))
	}
	return nil
}
