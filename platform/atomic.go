package platform

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data and permission bits perm so that
// every reader, and the file system after a crash, sees either the old
// content or the new one, never a mix (docs/design.md "Whitelist files": a
// crash never leaves a torn file).
//
// It writes a temp file ".<name>.tmp-*" in the same directory (a rename is
// atomic only within one file system), sets perm, writes, fsyncs and closes
// it, renames it over path, and on Unix fsyncs the directory so the rename
// itself survives a power cut. On any failure it removes the temp file and
// leaves path untouched.
//
// It refuses to replace anything but a regular file: a symlink, a directory
// or a device at path means the caller's idea of the file is wrong, and
// silently swapping a symlink for a file would break whatever the user
// linked. Concurrent writers must hold Lock; WriteFileAtomic only makes each
// write indivisible.
//
// perm is applied with chmod, so the umask does not narrow it. On Windows
// only the owner-write bit has an effect (it sets the read-only attribute),
// and the rename is os.Rename, that is MoveFileEx with
// MOVEFILE_REPLACE_EXISTING.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return writeAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic is WriteFileAtomic with the content supplied by fill, which
// lets tests make the write fail half way.
func writeAtomic(path string, perm fs.FileMode, fill func(io.Writer) error) error {
	// This check is about intent, not security: if someone swaps in a symlink
	// after it, rename replaces the link itself and never writes through it.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("write %s: refusing to replace %s with a regular file", path, describeType(fi.Mode()))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, err)
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: create temp file: %w", path, err)
	}
	if err := fillTemp(tmp, perm, fill); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: sync directory %s: %w", path, dir, err)
	}
	return nil
}

// fillTemp sets the temp file's mode, writes its content, and makes it
// durable before the rename publishes it; otherwise a crash could leave the
// new name pointing at a file whose data never reached the disk.
func fillTemp(tmp *os.File, perm fs.FileMode, fill func(io.Writer) error) error {
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("chmod temp file: %w", err)
	}
	if err := fill(tmp); err != nil {
		return fmt.Errorf("write temp file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync temp file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temp file: %w", err)
	}
	return nil
}
