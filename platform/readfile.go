package platform

import (
	"fmt"
	"io"
	"os"
)

// RefusedFileError is a file that ReadRegularFile or ReadUserFile will not
// read for what it is rather than for who could have written it (that is
// an *UnsafeFileError): not a regular file, or larger than the caller's
// limit.
type RefusedFileError struct {
	Path   string // the file as the caller named it
	Reason string // "a named pipe, not a regular file", "larger than 1 MiB"
}

// Error returns "<path>: <reason>".
func (e *RefusedFileError) Error() string { return e.Path + ": " + e.Reason }

// ReadRegularFile reads the regular file at path, at most limit bytes: the
// one reader for every file that a user or an administrator names (a
// policy or whitelist to lint, a token file, a key, a CA bundle, an admin
// file after CheckAdminFile). A symlink at path is followed. A file that
// is not regular, or holds more than limit bytes, is a *RefusedFileError;
// a missing one an error for which errors.Is(err, fs.ErrNotExist) is true.
//
// Opening a FIFO for reading blocks until a writer comes, in open(2)
// itself, where no signal handler of this process can end it; a device may
// never reach its end. So the file is looked at before it is opened, and
// opened without blocking (O_NONBLOCK on Unix), and what was opened is
// looked at again: a FIFO swapped in between the two is refused too, never
// waited on.
func ReadRegularFile(path string, limit int64) ([]byte, error) {
	return readRegularFile(path, limit, nil)
}

// readRegularFile is ReadRegularFile; beforeOpen, when not nil, runs
// between the look and the open, so that tests can swap the file there.
func readRegularFile(path string, limit int64, beforeOpen func()) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	if beforeOpen != nil {
		beforeOpen()
	}
	f, err := openNonblocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	return readCapped(f, path, limit)
}

// notRegular is the *RefusedFileError for a file of mode m.
func notRegular(path string, m os.FileMode) error {
	return &RefusedFileError{Path: path, Reason: describeType(m) + ", not a regular file"}
}

// readCapped reads f, a regular file opened as path, to its end, refusing
// more than limit bytes.
func readCapped(f *os.File, path string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, &RefusedFileError{Path: path, Reason: "larger than " + SizeName(limit)}
	}
	return data, nil
}

// SizeName writes a byte count the way the limits of files and downloads
// are documented: "4 MiB", "16 KiB", "100 bytes".
func SizeName(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
