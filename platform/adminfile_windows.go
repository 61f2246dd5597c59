package platform

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// absPath makes p absolute the way Win32 does before the kernel sees a path:
// lexically, folding "." and "..".
func absPath(p string) (string, error) { return filepath.Abs(p) }

// isAdminSID reports whether sid is one of the principals that may write
// admin files: SYSTEM, BUILTIN\Administrators or TrustedInstaller
// (trustedSID, the one list both file rules share).
func isAdminSID(sid *windows.SID) bool { return sid != nil && trustedSID(sid.String()) }

// winePrefixOwnerSID is winePrefixOwner for a SID string, the form the
// pure-Go rule works on.
func winePrefixOwnerSID(s string) bool {
	sid, err := windows.StringToSid(s)
	return err == nil && winePrefixOwner(sid)
}

// inspectNode checks one object on the way to an admin file: the rule is
// adminSDProblem (adminfile_sd.go), pure Go over the descriptor's bytes;
// this only reads them.
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
	info, err := parseSD(unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length()))
	if err != nil {
		return nil, fmt.Errorf("read security descriptor of %s: %w", path, err)
	}
	v := adminSDProblem(info, role, winePrefixOwnerSID, sidAccountName)
	switch {
	case v.what == "":
		return nil, nil
	case v.owner:
		return &problem{what: v.what,
			fix: "icacls " + cmdQuote(path) + " /setowner *S-1-5-32-544 && icacls " + cmdQuote(path) + " /reset"}, nil
	default:
		return &problem{what: v.what, fix: "icacls " + cmdQuote(path) + " /reset"}, nil
	}
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
