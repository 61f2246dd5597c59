package macpkg

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Entry is one file, directory or symlink of a payload.
type Entry struct {
	// Path is slash-separated and relative to the payload's root, without
	// a leading "./"; "." is the root itself.
	Path string
	Mode fs.FileMode // type bits and permissions
	Data []byte      // a regular file's content
	Link string      // a symlink's target
}

// Tree is a payload: its entries, parents before children, and the owner
// and time every entry gets (an installed file belongs to root:wheel
// whoever built the package, and the time is the commit's, so the package
// is reproducible).
type Tree struct {
	Entries  []Entry
	UID, GID uint32
	ModTime  time.Time
}

// ReadTree reads the directory root into a Tree, in breadth-first order
// with names sorted within each directory (the order of the Bom's Paths).
// Permissions are normalized: directories and executables 0755, other
// files 0644, so the umask of the build machine does not leak into the
// package. Anything but files, directories and symlinks is refused.
func ReadTree(root string, modTime time.Time) (*Tree, error) {
	t := &Tree{ModTime: modTime}
	queue := []string{"."}
	t.Entries = append(t.Entries, Entry{Path: ".", Mode: fs.ModeDir | 0o755})
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		des, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(des))
		for _, de := range des {
			names = append(names, de.Name())
		}
		slices.Sort(names)
		for _, name := range names {
			p := path.Join(dir, name)
			full := filepath.Join(root, filepath.FromSlash(p))
			st, err := os.Lstat(full)
			if err != nil {
				return nil, err
			}
			switch m := st.Mode(); {
			case m.IsDir():
				t.Entries = append(t.Entries, Entry{Path: p, Mode: fs.ModeDir | 0o755})
				queue = append(queue, p)
			case m.IsRegular():
				data, err := os.ReadFile(full)
				if err != nil {
					return nil, err
				}
				perm := fs.FileMode(0o644)
				if m&0o111 != 0 {
					perm = 0o755
				}
				t.Entries = append(t.Entries, Entry{Path: p, Mode: perm, Data: data})
			case m&fs.ModeSymlink != 0:
				target, err := os.Readlink(full)
				if err != nil {
					return nil, err
				}
				t.Entries = append(t.Entries, Entry{Path: p, Mode: fs.ModeSymlink | 0o755, Link: target})
			default:
				return nil, fmt.Errorf("%s: %v is neither a file, a directory nor a symlink", full, m.Type())
			}
		}
	}
	return t, nil
}

// check refuses what the writers cannot represent: a path that escapes
// the root or is not clean, an entry before its parent, a duplicate.
func (t *Tree) check() error {
	seen := map[string]bool{}
	for i, e := range t.Entries {
		if i == 0 {
			if e.Path != "." || !e.Mode.IsDir() {
				return fmt.Errorf("payload: the first entry must be the root directory \".\", not %q", e.Path)
			}
			seen["."] = true
			continue
		}
		if e.Path == "." || path.Clean(e.Path) != e.Path || path.IsAbs(e.Path) || strings.HasPrefix(e.Path, "../") || e.Path == ".." {
			return fmt.Errorf("payload: path %q is not clean and relative", e.Path)
		}
		if seen[e.Path] {
			return fmt.Errorf("payload: %q twice", e.Path)
		}
		if !seen[path.Dir(e.Path)] {
			return fmt.Errorf("payload: %q comes before its directory", e.Path)
		}
		seen[e.Path] = true
	}
	return nil
}

// unixMode returns e's mode as st_mode bits (S_IFDIR 040000, S_IFREG
// 0100000, S_IFLNK 0120000, and the permissions).
func (e Entry) unixMode() uint32 {
	perm := uint32(e.Mode.Perm())
	switch {
	case e.Mode.IsDir():
		return 0o040000 | perm
	case e.Mode&fs.ModeSymlink != 0:
		return 0o120000 | perm
	}
	return 0o100000 | perm
}

// size is what the payload stores for e: the content, or the link target.
func (e Entry) size() int {
	if e.Mode&fs.ModeSymlink != 0 {
		return len(e.Link)
	}
	return len(e.Data)
}
