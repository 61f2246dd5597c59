package whitelist

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/trustlaunch/trustlaunch/platform"
)

// LoadAdmin reads the admin list at path. The file must pass
// platform.CheckAdminFile: an admin list that a non-administrator could have
// written, or that cannot be read, is returned as Source.Err, which stops the
// launch (fail closed). A missing file is not an error: prompt mode.
func LoadAdmin(path string) Source {
	src := Source{Path: path}
	if err := platform.CheckAdminFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return src
		}
		src.Err = err
		return src
	}
	src.List, src.Problems, src.Err = load(path)
	if errors.Is(src.Err, fs.ErrNotExist) {
		// Removed between the check and the read: as if it never existed.
		src.Err = nil
	}
	return src
}

// LoadUser reads the user list at path. A missing file is not an error. The
// file is read only under the writer's rule, through platform.ReadUserFile,
// which checks the very file it reads: a list that another user owns or can
// write, or whose directory they own or can write, or a symlink, is returned
// as Source.Err (an *platform.UnsafeFileError) and not read, so whatever it
// says admits nothing and the prompt decides (docs/design.md "Fail closed").
// The caller warns with the error and its Fix.
func LoadUser(path string) Source {
	src := Source{Path: path}
	data, err := readFile(path, platform.ReadUserFile)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			src.Err = err
		}
		return src
	}
	src.List, src.Problems, src.Err = Parse(path, data)
	return src
}

// ReadFile reads and parses the whitelist at path with no ownership check, for
// `whitelist check`.
func ReadFile(path string) (*List, []Problem, error) { return load(path) }

// load reads and parses a list that a user or an administrator names; the
// admin list is checked (CheckAdminFile) before.
func load(path string) (*List, []Problem, error) {
	data, err := readFile(path, platform.ReadRegularFile)
	if err != nil {
		return nil, nil, err
	}
	return Parse(path, data)
}

// readFile reads at most MaxFileSize bytes of path with read, one of
// platform's readers, which refuse anything that is not a regular file (a
// FIFO would block the launch). What they refuse for its kind or size is a
// *FormatError, as every other reason a list cannot be used.
func readFile(path string, read func(string, int64) ([]byte, error)) ([]byte, error) {
	data, err := read(path, MaxFileSize)
	var re *platform.RefusedFileError
	if errors.As(err, &re) {
		return nil, &FormatError{Path: path, Msg: re.Reason}
	}
	return data, err
}

// AddToUserList adds e to the user list at path unless an entry already
// admits it. The update holds an exclusive lock, re-reads the file under it,
// and replaces it atomically, so concurrent Always answers from several
// launches lose nothing and a crash never leaves a torn file. Existing lines
// and comments are kept. It reports whether the file changed.
func AddToUserList(ctx context.Context, path string, e Entry) (bool, error) {
	return updateUserList(ctx, path, func(l *List, text string) (string, bool, error) {
		for _, old := range l.Entries {
			if old.Host == e.Host && (old.Port == 0 || old.Port == e.Port) {
				return text, false, nil
			}
		}
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return text + e.String() + "\n", true, nil
	})
}

// RemoveFromUserList removes every entry equal to e (same host and port)
// from the user list at path, keeping other entries and comments on the same
// lines. It reports whether the file changed.
func RemoveFromUserList(ctx context.Context, path string, e Entry) (bool, error) {
	return updateUserList(ctx, path, func(_ *List, text string) (string, bool, error) {
		lines := strings.SplitAfter(text, "\n")
		changed := false
		for i, line := range lines {
			body, comment, hasComment := strings.Cut(strings.TrimRight(line, "\r\n"), "#")
			var keep []string
			removed := false
			for _, tok := range strings.Fields(body) {
				if got, err := ParseEntry(tok); err == nil && got.Host == e.Host && got.Port == e.Port {
					removed = true
					continue
				}
				keep = append(keep, tok)
			}
			if !removed {
				continue
			}
			changed = true
			nl := line[len(strings.TrimRight(line, "\r\n")):]
			newLine := strings.Join(keep, " ")
			if hasComment {
				newLine = strings.TrimSpace(newLine + " #" + comment)
			}
			if newLine == "" {
				nl = ""
			}
			lines[i] = newLine + nl
		}
		return strings.Join(lines, ""), changed, nil
	})
}

// updateUserList is the one locked read-modify-write path for the user list.
func updateUserList(ctx context.Context, path string, change func(l *List, text string) (string, bool, error)) (bool, error) {
	if err := platform.MkdirPrivate(filepath.Dir(path)); err != nil {
		return false, fmt.Errorf("create user list directory: %w", err)
	}
	lock, err := platform.Lock(ctx, path)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	defer lock.Unlock()

	// The reader's rule (LoadUser): never rewrite, and so re-bless, entries
	// that someone else could have written.
	data, err := readFile(path, platform.ReadUserFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("refusing to rewrite %s: %w", path, err)
	}
	// Parse before changing: a file we cannot read must not be overwritten.
	l, _, err := Parse(path, data)
	if err != nil {
		return false, fmt.Errorf("refusing to rewrite %s: %w", path, err)
	}
	text, _ := decode(path, data) // cannot fail: Parse decoded it
	newText, changed, err := change(l, text)
	if err != nil || !changed {
		return false, err
	}
	if err := platform.WriteFileAtomic(path, []byte(newText), 0o600); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}
