package macpkg

import (
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
)

// WriteCpio writes t as a cpio archive in the "odc" format (POSIX.1-1988,
// the portable character format, magic 070707), which is what a package's
// Payload and Scripts hold, gzip-compressed: every header field is an octal
// number in ASCII of fixed width (dev 6, ino 6, mode 6, uid 6, gid 6,
// nlink 6, rdev 6, mtime 11, namesize 6, filesize 11), followed by the
// name with its NUL and the content, with no padding; the archive ends with
// the entry "TRAILER!!!". Names start with "./", as pkgbuild writes them.
func WriteCpio(w io.Writer, t *Tree) error {
	if err := t.check(); err != nil {
		return err
	}
	mtime := t.ModTime.Unix()
	if mtime < 0 {
		mtime = 0
	}
	write := func(name string, ino int, mode uint32, nlink int, uid, gid uint32, data []byte) error {
		size := len(data)
		hdr := fmt.Sprintf("070707%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o",
			0, ino, mode, uid, gid, nlink, 0, mtime, len(name)+1, size)
		if len(hdr) != 76 {
			return fmt.Errorf("cpio: %s: a field does not fit its width", name)
		}
		if _, err := io.WriteString(w, hdr+name+"\x00"); err != nil {
			return err
		}
		_, err := w.Write(data)
		return err
	}
	for i, e := range t.Entries {
		name := "."
		if e.Path != "." {
			name = "./" + e.Path
		}
		data := e.Data
		nlink := 1
		switch {
		case e.Mode.IsDir():
			data, nlink = nil, 2
		case e.Mode&fs.ModeSymlink != 0:
			data = []byte(e.Link)
		}
		if err := write(name, i+1, e.unixMode(), nlink, t.UID, t.GID, data); err != nil {
			return err
		}
	}
	return write("TRAILER!!!", 0, 0, 1, 0, 0, nil)
}

// WriteGzipCpio writes t as a gzip-compressed odc cpio archive, the form
// of a package's Payload and Scripts. The gzip header carries no name and
// no time, so the output depends on t alone.
func WriteGzipCpio(w io.Writer, t *Tree) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := WriteCpio(zw, t); err != nil {
		return err
	}
	return zw.Close()
}
