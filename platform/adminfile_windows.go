package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// absPath makes p absolute the way Win32 does before the kernel sees a path:
// lexically, folding "." and "..".
func absPath(p string) (string, error) { return filepath.Abs(p) }

// trustedInstallerSID is NT SERVICE\TrustedInstaller, the owner of Windows'
// own files; it has no WELL_KNOWN_SID_TYPE.
const trustedInstallerSID = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"

// isAdminSID reports whether sid is one of the principals that may write
// admin files: SYSTEM, BUILTIN\Administrators or TrustedInstaller.
func isAdminSID(sid *windows.SID) bool {
	return sid.IsWellKnown(windows.WinLocalSystemSid) ||
		sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) ||
		sid.String() == trustedInstallerSID
}

// mayWriteAdminFiles reports whether sid may own or write an admin file:
// isAdminSID, or, only in a wineprefix test build running under Wine, the
// prefix's owner (wineprefix_on_windows.go).
func mayWriteAdminFiles(sid *windows.SID) bool {
	return isAdminSID(sid) || winePrefixOwner(sid)
}

// writeRights are the access rights that let a principal change an admin
// file's content or replace it: write and append (on a directory, add file
// and add subdirectory), delete child, delete, change the DACL or the owner,
// and the generic rights that map to them.
const writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | fileDeleteChild |
	windows.DELETE | windows.WRITE_DAC | windows.WRITE_OWNER | windows.GENERIC_WRITE | windows.GENERIC_ALL

// fileDeleteChild is FILE_DELETE_CHILD, which x/sys/windows does not define.
const fileDeleteChild = 0x40

// ACE types from winnt.h that only deny access. Any other type found in a
// DACL, other than ACCESS_ALLOWED_ACE_TYPE, is refused (see inspectNode).
const (
	accessDeniedObjectACEType         = 0x6
	accessDeniedCallbackACEType       = 0xA
	accessDeniedCallbackObjectACEType = 0xC
)

// inspectNode checks one object on the way to an admin file: owned by an
// administrator principal, and with a DACL that grants write access to no
// one else.
//
// The object is opened with FILE_FLAG_OPEN_REPARSE_POINT so that for a
// symlink we read the link's own security descriptor, matching the Lstat
// that walk did; a link that others can write could be re-pointed.
func inspectNode(path string, fi fs.FileInfo, role nodeRole) (*problem, error) {
	if role == roleFile && !fi.Mode().IsRegular() {
		return &problem{
			what: describeType(fi.Mode()) + ", not a regular file",
			fix:  "replace " + cmdQuote(path) + " with a regular file written by an administrator",
		}, nil
	}
	sd, err := securityDescriptor(path)
	if err != nil {
		return nil, err
	}

	owner, _, err := sd.Owner()
	if err != nil {
		return nil, fmt.Errorf("read owner of %s: %w", path, err)
	}
	// The owner may always rewrite the DACL, so an owner outside the admin
	// principals makes every DACL check below meaningless.
	if owner == nil || !mayWriteAdminFiles(owner) {
		return &problem{
			what: "owned by " + accountName(owner) + ", not Administrators, SYSTEM or TrustedInstaller",
			fix:  "icacls " + cmdQuote(path) + " /setowner *S-1-5-32-544 && icacls " + cmdQuote(path) + " /reset",
		}, nil
	}

	resetFix := "icacls " + cmdQuote(path) + " /reset"
	dacl, _, err := sd.DACL()
	if errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) || (err == nil && dacl == nil) {
		// No DACL, or a NULL one, grants everyone full access.
		return &problem{what: "without an access control list, so everyone may write it", fix: resetFix}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read access control list of %s: %w", path, err)
	}

	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, fmt.Errorf("read access control entry %d of %s: %w", i, path, err)
		}
		// An inherit-only entry applies to children created later, not to
		// this object; the children we care about are inspected themselves.
		if ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue
		}
		switch ace.Header.AceType {
		case windows.ACCESS_ALLOWED_ACE_TYPE:
		case windows.ACCESS_DENIED_ACE_TYPE, accessDeniedObjectACEType,
			accessDeniedCallbackACEType, accessDeniedCallbackObjectACEType:
			// Deny entries only take access away. Ignoring them can make us
			// refuse a file that is in fact safe, never the reverse.
			continue
		default:
			// Object and conditional (callback) allow entries do not occur on
			// files in practice; rather than half-understand them, refuse.
			return &problem{
				what: fmt.Sprintf("protected by an access control entry of unsupported type %d", ace.Header.AceType),
				fix:  resetFix,
			}, nil
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		// OWNER RIGHTS stands for the owner, checked above to be an admin.
		if mayWriteAdminFiles(sid) || sid.IsWellKnown(windows.WinCreatorOwnerRightsSid) {
			continue
		}
		rights := uint32(ace.Mask) & writeRights
		if role == roleRootDir {
			// Windows gives Authenticated Users "create folders" on C:\ by
			// default. That lets them add new top-level folders but not
			// rename or replace existing ones such as Program Files (which
			// needs DELETE on it or FILE_DELETE_CHILD here), so tolerate it
			// at the volume root only.
			rights &^= windows.FILE_APPEND_DATA
		}
		if rights != 0 {
			return &problem{
				what: fmt.Sprintf("writable by %s (access mask %#x)", accountName(sid), rights),
				fix:  resetFix,
			}, nil
		}
	}
	return nil, nil
}

// securityDescriptor reads the owner and DACL of the object at path itself,
// not of what a reparse point at path leads to.
func securityDescriptor(path string) (*windows.SECURITY_DESCRIPTOR, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	h, err := windows.CreateFile(p, windows.READ_CONTROL,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer windows.CloseHandle(h)
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, fmt.Errorf("read security descriptor of %s: %w", path, err)
	}
	if sd == nil {
		return nil, fmt.Errorf("read security descriptor of %s: none returned", path)
	}
	return sd, nil
}

// accountName names sid for messages as DOMAIN\name when Windows can look
// it up, and as the SID string otherwise.
func accountName(sid *windows.SID) string {
	if sid == nil {
		return "no one"
	}
	account, domain, _, err := sid.LookupAccount("")
	if err != nil {
		return sid.String()
	}
	if domain == "" {
		return account
	}
	return domain + `\` + account
}

// cmdQuote quotes a path for cmd.exe and PowerShell; Windows file names
// cannot contain a double quote.
func cmdQuote(p string) string { return `"` + p + `"` }
