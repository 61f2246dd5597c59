package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// checkUserFile is CheckUserFile on Windows: the rule itself is
// userSDProblem (usersd.go), pure Go over the descriptor's bytes.
func checkUserFile(path string) error {
	tokenUser, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("read current user: %w", err)
	}
	userSID := tokenUser.User.Sid.String()

	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &UnsafeFileError{Path: path, Reason: "folder " + dir + " is " + describeType(fi.Mode()) + ", not a folder",
			Fix: "move " + cmdQuote(dir) + " aside; trustlaunch creates the folder again"}
	}
	// The folder is read through a link, as MkdirPrivate reads it.
	dirSD, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read security descriptor of %s: %w", dir, err)
	}
	if what, err := userSDCheck(dirSD, userSID); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	} else if what != "" {
		return &UnsafeFileError{Path: path, Reason: "folder " + dir + " is " + what,
			Fix: "icacls " + cmdQuote(dir) + " /setowner \"%USERNAME%\" && icacls " + cmdQuote(dir) + " /reset"}
	}

	fi, err = os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &UnsafeFileError{Path: path, Reason: describeType(fi.Mode()) + ", not a regular file (trustlaunch reads and rewrites only a regular file here)",
			Fix: "replace " + cmdQuote(path) + " with a regular file"}
	}
	// The file's own descriptor, not a reparse target's (adminfile_windows.go).
	sd, err := securityDescriptor(path)
	if err != nil {
		return err
	}
	if what, err := userSDCheck(sd, userSID); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	} else if what != "" {
		return &UnsafeFileError{Path: path, Reason: what,
			Fix: "icacls " + cmdQuote(path) + " /setowner \"%USERNAME%\" && icacls " + cmdQuote(path) + " /reset"}
	}
	return nil
}

// userSDCheck runs userSDProblem on the bytes of a self-relative
// descriptor, which is what x/sys/windows returns on the Go heap.
func userSDCheck(sd *windows.SECURITY_DESCRIPTOR, userSID string) (string, error) {
	if sd == nil {
		return "", errors.New("no security descriptor")
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length())
	info, err := parseSD(b)
	if err != nil {
		return "", err
	}
	return userSDProblem(info, userSID, sidAccountName), nil
}

// sidAccountName names a SID string as DOMAIN\name when Windows knows it.
func sidAccountName(s string) string {
	sid, err := windows.StringToSid(s)
	if err != nil {
		return s
	}
	return accountName(sid)
}
