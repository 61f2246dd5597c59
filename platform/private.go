package platform

import (
	"fmt"
	"os"
)

// RestrictToOwner makes the open, still empty file f readable and writable by the
// current user only, before anything secret is written to it: mode 0600 on
// Unix; on Windows a protected access list that allows the user alone,
// since a file otherwise inherits its folder's entries (which, outside the
// user's profile, commonly let every user of the machine read it) and the
// mode bits are only the read-only attribute there. A private key (`descriptor
// keygen`) is written this way.
func RestrictToOwner(f *os.File) error {
	if err := restrictToOwner(f); err != nil {
		return fmt.Errorf("make %s private: %w", f.Name(), err)
	}
	return nil
}

// sdReadRights are the access rights that let a principal read a file's
// content or take it over (winnt.h): FILE_READ_DATA, GENERIC_READ,
// GENERIC_ALL, and the write rights (sdWriteRights: WRITE_DAC and
// WRITE_OWNER give the rest).
const sdReadRights = 0x1 | 0x80000000 | sdWriteRights

// privateSDProblem applies the private-file rule to a parsed descriptor:
// its access list is protected (nothing inherited from the folder) and
// allows nothing that reads or rewrites the file to anyone but userSID. It
// returns what is wrong, "" when the file is private.
func privateSDProblem(info sdInfo, userSID string) string {
	switch {
	case info.nullDACL:
		return "no access list: everyone may read it"
	case !info.protected:
		return "its access list inherits the folder's entries"
	}
	for _, ace := range info.aces {
		if ace.flags&aceFlagInheritOnly != 0 || ace.typ == aceTypeAccessDenied {
			continue
		}
		if ace.typ != aceTypeAccessAllowed {
			return fmt.Sprintf("an access control entry of unsupported type %d", ace.typ)
		}
		if ace.sid != userSID && ace.mask&sdReadRights != 0 {
			return fmt.Sprintf("%s is allowed access mask %#x", ace.sid, ace.mask&sdReadRights)
		}
	}
	return ""
}
