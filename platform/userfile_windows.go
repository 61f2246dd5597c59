package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// openUserFile is CheckUserFile's rule on Windows, applied to what it
// opens: the folder is opened (following a link to it, as MkdirPrivate
// reads it) and its security descriptor read from that handle; the file is
// then opened relative to the folder's handle (NtCreateFile with a
// RootDirectory, the openat of Windows), without following a reparse
// point, and its own descriptor and attributes read from its handle. So
// what is returned is the file that passed. beforeOpen, when not nil, runs
// between the folder's check and the file's open, for tests. The rule
// itself is userSDProblem (usersd.go), pure Go over the descriptor's bytes.
func openUserFile(path string, beforeOpen func()) (*os.File, error) {
	tokenUser, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("read current user: %w", err)
	}
	userSID := tokenUser.User.Sid.String()

	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &UnsafeFileError{Path: path, Reason: "folder " + dir + " is " + describeType(fi.Mode()) + ", not a folder",
			Fix: "move " + cmdQuote(dir) + " aside; trustlaunch creates the folder again"}
	}
	dh, err := openHandle(dir, windows.GENERIC_READ, windows.FILE_FLAG_BACKUP_SEMANTICS)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(dh)
	if attrs, err := handleAttributes(dh, dir); err != nil {
		return nil, err
	} else if attrs&windows.FILE_ATTRIBUTE_DIRECTORY == 0 {
		return nil, fmt.Errorf("%s was replaced while it was checked", dir)
	}
	if what, err := handleSDProblem(dh, dir, userSID); err != nil {
		return nil, err
	} else if what != "" {
		return nil, &UnsafeFileError{Path: path, Reason: "folder " + dir + " is " + what,
			Fix: "icacls " + cmdQuote(dir) + " /setowner \"%USERNAME%\" && icacls " + cmdQuote(dir) + " /reset"}
	}

	// Looked at by name first, for the message: a folder or a link there
	// is named as such rather than failing the open below.
	if fi, err = os.Lstat(path); err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, userNotRegular(path, fi.Mode())
	}
	if beforeOpen != nil {
		beforeOpen()
	}
	fh, err := openInFolder(dh, filepath.Base(path))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fh), path)
	attrs, err := handleAttributes(fh, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		f.Close()
		return nil, userNotRegular(path, fs.ModeSymlink)
	case attrs&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		f.Close()
		return nil, userNotRegular(path, fs.ModeDir)
	}
	if t, err := windows.GetFileType(fh); err != nil || t != windows.FILE_TYPE_DISK {
		f.Close()
		return nil, userNotRegular(path, fs.ModeIrregular)
	}
	if what, err := handleSDProblem(fh, path, userSID); err != nil {
		f.Close()
		return nil, err
	} else if what != "" {
		f.Close()
		return nil, &UnsafeFileError{Path: path, Reason: what,
			Fix: "icacls " + cmdQuote(path) + " /setowner \"%USERNAME%\" && icacls " + cmdQuote(path) + " /reset"}
	}
	return f, nil
}

// userNotRegular is the verdict on a user file of mode m that is not a
// regular file.
func userNotRegular(path string, m fs.FileMode) error {
	return &UnsafeFileError{Path: path, Reason: describeType(m) + ", not a regular file (trustlaunch reads and rewrites only a regular file here)",
		Fix: "replace " + cmdQuote(path) + " with a regular file"}
}

// openHandle opens path with CreateFile for access, sharing everything, so
// that no writer or renamer of the user's files is kept waiting.
func openHandle(path string, access, flags uint32) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, flags, 0)
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return h, nil
}

// openInFolder opens the file name in the folder open as dir, for reading,
// without following a reparse point at name and never a folder.
func openInFolder(dir windows.Handle, name string) (windows.Handle, error) {
	objName, err := windows.NewNTUnicodeString(name)
	if err != nil {
		return 0, err
	}
	oa := &windows.OBJECT_ATTRIBUTES{RootDirectory: dir, ObjectName: objName, Attributes: windows.OBJ_CASE_INSENSITIVE}
	oa.Length = uint32(unsafe.Sizeof(*oa))
	var h windows.Handle
	var iosb windows.IO_STATUS_BLOCK
	err = windows.NtCreateFile(&h, windows.FILE_GENERIC_READ, oa, &iosb, nil, 0,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, windows.FILE_OPEN,
		windows.FILE_NON_DIRECTORY_FILE|windows.FILE_OPEN_REPARSE_POINT|windows.FILE_SYNCHRONOUS_IO_NONALERT, 0, 0)
	if st, ok := err.(windows.NTStatus); ok {
		return 0, st.Errno() // ERROR_FILE_NOT_FOUND and the like, which errors.Is understands
	}
	return h, err
}

// handleAttributes returns the file attributes of the open object h.
func handleAttributes(h windows.Handle, path string) (uint32, error) {
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return 0, fmt.Errorf("read attributes of %s: %w", path, err)
	}
	return info.FileAttributes, nil
}

// handleSDProblem applies the user-file rule to the security descriptor of
// the open object h.
func handleSDProblem(h windows.Handle, path, userSID string) (string, error) {
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", fmt.Errorf("read security descriptor of %s: %w", path, err)
	}
	what, err := userSDCheck(sd, userSID)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return what, nil
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
