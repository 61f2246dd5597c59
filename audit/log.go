package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/platform"
)

// DefaultMaxSize is the size at which the audit log is rotated.
const DefaultMaxSize = 10 << 20

// Options configures a Log.
type Options struct {
	// Path is the log file, audit.log in platform.UserStateDir when empty
	// (for example ~/.local/state/trustlaunch/audit.log).
	Path string
	// MaxSize is the size in bytes past which the log is rotated,
	// DefaultMaxSize when zero.
	MaxSize int64
	// OSLog is the least severe launch record that also goes to the OS's
	// log (journald or syslog, the Windows Event Log): the administrator's
	// setting, every record (oslog.LevelInfo) when zero.
	OSLog oslog.Level
	// OSLogOptions say where the OS's log is; the zero value is this
	// machine's (tests point it elsewhere).
	OSLogOptions oslog.Options
}

// Log is the user's audit log: JSON lines, one per launch. It is safe
// for use by several goroutines and processes at once. A launch's record
// goes to the OS's log as well (docs/admin.md "Launch records").
type Log struct {
	path     string
	maxSize  int64
	osLevel  oslog.Level
	osTarget oslog.Options
}

// DefaultPath returns audit.log in platform.UserStateDir.
func DefaultPath() (string, error) {
	dir, err := platform.UserStateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "audit.log"), nil
}

// New returns the audit log that opts name. It creates nothing:
// Append creates the directory and file when it first writes.
func New(opts Options) (*Log, error) {
	l := &Log{path: opts.Path, maxSize: opts.MaxSize, osLevel: opts.OSLog, osTarget: opts.OSLogOptions}
	if l.path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		l.path = p
	}
	if l.maxSize <= 0 {
		l.maxSize = DefaultMaxSize
	}
	return l, nil
}

// Path returns the log file's path.
func (l *Log) Path() string { return l.path }

// appendWait bounds how long AppendAfter waits for the log's lock.
const appendWait = 5 * time.Second

// AppendAfter appends rec even when ctx has ended, as an interrupted launch
// must still be recorded, waiting at most appendWait for the lock.
func (l *Log) AppendAfter(ctx context.Context, rec Record) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendWait)
	defer cancel()
	return l.Append(actx, rec)
}

// Append writes rec as one line, and a launch's record (Action
// ActionLaunch) to the OS's log first, within the level of Options.OSLog:
// the line says where that went (Record.OSLog).
//
// The directory is created private (platform.MkdirPrivate) and the file
// 0600. Each record is one write(2) to a file opened O_APPEND, so lines
// from several processes never interleave; the write happens under
// platform.Lock, which also makes rotation safe: when the record would take
// the file past MaxSize, the file is first renamed to audit.log.1 (the one
// old file kept). A failed rotation does not lose the record: it is
// written to the current file and the rotation error is returned.
func (l *Log) Append(ctx context.Context, rec Record) error {
	cl := rec.cleaned(time.Now())
	if cl.Action == ActionLaunch {
		cl.OSLog = l.toOSLog(ctx, cl)
	}
	line, err := cl.encode()
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if err := platform.MkdirPrivate(filepath.Dir(l.path)); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	lock, err := platform.Lock(ctx, l.path)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer lock.Unlock()
	rotErr := l.rotateIfNeeded(int64(len(line)))
	if err := l.write(line); err != nil {
		return errors.Join(fmt.Errorf("audit log: %w", err), rotErr)
	}
	return rotErr
}

// rotateIfNeeded renames the log to .1 when adding n bytes would take it
// past maxSize. A file that is empty is never rotated, so a record larger
// than maxSize still gets written.
func (l *Log) rotateIfNeeded(n int64) error {
	fi, err := os.Lstat(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if fi.Size() == 0 || fi.Size()+n <= l.maxSize {
		return nil
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("audit log: rotate: %w", err)
	}
	return nil
}

func (l *Log) write(line []byte) error {
	if fi, err := os.Lstat(l.path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", l.path)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	// A file that someone created with looser permissions is tightened:
	// the log names the servers and sessions a user opens.
	if fi.Mode().Perm()&0o077 != 0 {
		_ = f.Chmod(0o600)
	}
	// A crash in the middle of a write leaves a line without its end;
	// finish it, so that only that record is lost and not this one too.
	if size := fi.Size(); size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err == nil && last[0] != '\n' {
			line = append([]byte("\n"), line...)
		}
	}
	_, werr := f.Write(line)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// maxReadBytes bounds how much of each file ReadRecent reads, from the end.
const maxReadBytes = 16 << 20

// ReadRecent returns up to n of the most recent records, oldest first,
// reading audit.log.1 too when audit.log holds fewer than n. Lines that do
// not parse (a crash mid-write, an edit by hand) are skipped. A missing log
// has no records.
func (l *Log) ReadRecent(n int) ([]Record, error) {
	if n <= 0 {
		return nil, nil
	}
	recs, err := readRecords(l.path, n)
	if err != nil {
		return nil, err
	}
	if len(recs) < n {
		older, err := readRecords(l.path+".1", n-len(recs))
		if err != nil {
			return nil, err
		}
		recs = append(older, recs...)
	}
	return recs, nil
}

// readRecords returns the last n records of one file.
func readRecords(path string, n int) ([]Record, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("audit log: %s is not a regular file", path)
	}
	var r io.Reader = f
	skipFirst := false
	if size := fi.Size(); size > maxReadBytes {
		if _, err := f.Seek(size-maxReadBytes, io.SeekStart); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		r = io.LimitReader(f, maxReadBytes)
		skipFirst = true // we started mid-line
	}
	var recs []Record
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && !skipFirst {
			if rec, ok := parseAuditLine(line); ok {
				recs = append(recs, rec)
				if len(recs) > n {
					recs = recs[1:]
				}
			}
		}
		skipFirst = false
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("audit log: read %s: %w", path, err)
		}
	}
	return slices.Clone(recs), nil
}

// parseAuditLine decodes one line; ok is false for a line that is not a
// record.
func parseAuditLine(line []byte) (Record, bool) {
	var al auditLine
	if json.Unmarshal(line, &al) != nil {
		return Record{}, false
	}
	rec, err := al.record()
	return rec, err == nil
}
