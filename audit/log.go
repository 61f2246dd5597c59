package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
)

// DefaultMaxSize is the size at which the audit log is rotated.
const DefaultMaxSize = 10 << 20

// Field limits for an audit line, in runes after sanitizing. They keep a
// record well under the size of one write, so records never interleave.
const (
	auditFieldRunes = 300
	auditErrorRunes = 1000
)

// Record is one launch, or one launch attempt, in the audit log. It
// has no field for the token, and DescriptorURL loses its query and
// fragment (the ticket) when written, so neither can be recorded.
type Record struct {
	Time          time.Time     // when the launch ended; Append uses the current time when zero
	Origin        string        // the origin decided on, https://host[:port]
	Decision      string        // e.g. "launched", "refused", "failed", "interrupted"
	Step          string        // the step that decided or failed: a whitelist.Step, descriptor.StepFetch, ...
	Whitelist     string        // the whitelist step that admitted or refused the origin (admin-listed, user-listed, prompt-yes, ...)
	DescriptorURL string        // written without user info, query and fragment
	Session       string        // the descriptor's session name
	Proxy         string        // the proxy address
	Destination   string        // host:port behind the proxy
	Publisher     string        // the admin policy's name of the publisher that signed the descriptor; "" unsigned
	BytesUp       int64         // emulator to host
	BytesDown     int64         // host to emulator
	Reconnects    int           // tunnels the emulator opened after the first, with the same token (a drop, a second window)
	Duration      time.Duration // from start of the launch to the end
	ExitStatus    *int          // the emulator's exit status; nil when none ran
	Error         string        // why it failed, if it did
	// Told is how the user learned of a failure or a refusal: "terminal"
	// (the launch had one), "notification", "window" (a window of its
	// own), or "nobody: why"; "" for a launch that went ahead or was
	// interrupted (tui.Told* name them).
	Told string
}

// Scrubbed returns the record with every spelling of the run's secrets
// (the token, the outbound proxy's credentials, the tickets seen) scrubbed
// from its text fields: what launcher.Launch and launcher.Detect append. The
// descriptor URL is left for line, which drops its query.
func (r Record) Scrubbed(secrets *redact.Set) Record {
	for _, f := range []*string{&r.Origin, &r.Decision, &r.Step, &r.Whitelist, &r.Session, &r.Proxy, &r.Destination, &r.Publisher, &r.Error, &r.Told} {
		*f = secrets.Scrub(*f)
	}
	return r
}

// auditLine is the JSON form of a record, one per line.
type auditLine struct {
	Time          string `json:"time"`
	Origin        string `json:"origin"`
	Decision      string `json:"decision"`
	Step          string `json:"step"`
	Whitelist     string `json:"whitelist"`
	DescriptorURL string `json:"descriptor_url"`
	Session       string `json:"session"`
	Proxy         string `json:"proxy"`
	Destination   string `json:"destination"`
	Publisher     string `json:"publisher,omitempty"`
	BytesUp       int64  `json:"bytes_up"`
	BytesDown     int64  `json:"bytes_down"`
	Reconnects    int    `json:"reconnects,omitempty"`
	DurationMS    int64  `json:"duration_ms"`
	ExitStatus    *int   `json:"exit_status"`
	Error         string `json:"error"`
	Told          string `json:"told,omitempty"`
}

// line returns the record as one JSON line ending in "\n", as Append
// writes it. Every text field is sanitized and cut to a bounded length. The
// descriptor URL loses its query and fragment, and each query value is
// scrubbed from the other fields too, so a ticket that reached an error
// message stays out of the log.
func (r Record) line(now time.Time) ([]byte, error) {
	if r.Time.IsZero() {
		r.Time = now
	}
	return r.encode(func(s string, n int) string { return safetext.Excerpt(s, n) }, descriptor.RedactURL)
}

// MarshalJSON encodes the record in the form of the log, for
// `trustlaunch log --json`. Unlike Append it does not sanitize again:
// records from ReadRecent are clean already, and sanitizing twice would
// double every backslash. It still drops the descriptor URL's query and
// scrubs its values.
func (r Record) MarshalJSON() ([]byte, error) {
	b, err := r.encode(func(s string, _ int) string { return s }, stripQuery)
	return bytes.TrimSuffix(b, []byte("\n")), err
}

// encode writes the record's JSON line, passing text fields through clean
// (with a length bound) and the descriptor URL through redactURL, after
// scrubbing the URL's query values from every field.
func (r Record) encode(clean func(s string, max int) string, redactURL func(string) string) ([]byte, error) {
	var secrets redact.Set
	secrets.AddQuery(r.DescriptorURL)
	c := func(s string, n int) string { return clean(secrets.Scrub(s), n) }
	l := auditLine{
		Time:          r.Time.UTC().Format(time.RFC3339Nano),
		Origin:        c(r.Origin, auditFieldRunes),
		Decision:      c(r.Decision, auditFieldRunes),
		Step:          c(r.Step, auditFieldRunes),
		Whitelist:     c(r.Whitelist, auditFieldRunes),
		DescriptorURL: c(redactURL(r.DescriptorURL), auditFieldRunes),
		Session:       c(r.Session, auditFieldRunes),
		Proxy:         c(r.Proxy, auditFieldRunes),
		Destination:   c(r.Destination, auditFieldRunes),
		Publisher:     c(r.Publisher, auditFieldRunes),
		BytesUp:       r.BytesUp,
		BytesDown:     r.BytesDown,
		Reconnects:    r.Reconnects,
		DurationMS:    r.Duration.Milliseconds(),
		ExitStatus:    r.ExitStatus,
		Error:         c(r.Error, auditErrorRunes),
		Told:          c(r.Told, auditFieldRunes),
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil { // Encode ends the line with "\n"
		return nil, err
	}
	return b.Bytes(), nil
}

// stripQuery cuts a URL at its query or fragment.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// record converts a line read back from the file. The file belongs to the
// user and anything may have edited it, so every text field is sanitized
// again, keeping the backslashes that Append's sanitizing wrote so that
// clean text comes back unchanged.
func (l auditLine) record() (Record, error) {
	t, err := time.Parse(time.RFC3339Nano, l.Time)
	if err != nil {
		return Record{}, err
	}
	return Record{
		Time:          t,
		Origin:        resanitize(l.Origin),
		Decision:      resanitize(l.Decision),
		Step:          resanitize(l.Step),
		Whitelist:     resanitize(l.Whitelist),
		DescriptorURL: resanitize(stripQuery(l.DescriptorURL)),
		Session:       resanitize(l.Session),
		Proxy:         resanitize(l.Proxy),
		Destination:   resanitize(l.Destination),
		Publisher:     resanitize(l.Publisher),
		BytesUp:       l.BytesUp,
		BytesDown:     l.BytesDown,
		Reconnects:    l.Reconnects,
		Duration:      time.Duration(l.DurationMS) * time.Millisecond,
		ExitStatus:    l.ExitStatus,
		Error:         resanitize(l.Error),
		Told:          resanitize(l.Told),
	}, nil
}

// resanitize is safetext.Sanitize for text that has been through it once:
// it escapes anything a terminal could act on but leaves backslashes as
// they are, so it is the identity on sanitized text.
func resanitize(s string) string {
	parts := strings.Split(s, `\`)
	for i, p := range parts {
		parts[i] = safetext.Sanitize(p)
	}
	return strings.Join(parts, `\`)
}

// Options configures an Log.
type Options struct {
	// Path is the log file, audit.log in platform.UserStateDir when empty
	// (for example ~/.local/state/trustlaunch/audit.log).
	Path string
	// MaxSize is the size in bytes past which the log is rotated,
	// DefaultMaxSize when zero.
	MaxSize int64
}

// Log is the user's audit log: JSON lines, one per launch. It is safe
// for use by several goroutines and processes at once.
type Log struct {
	path    string
	maxSize int64
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
	l := &Log{path: opts.Path, maxSize: opts.MaxSize}
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

// Append writes rec as one line.
//
// The directory is created private (platform.MkdirPrivate) and the file
// 0600. Each record is one write(2) to a file opened O_APPEND, so lines
// from several processes never interleave; the write happens under
// platform.Lock, which also makes rotation safe: when the record would take
// the file past MaxSize, the file is first renamed to audit.log.1 (the one
// old file kept). A failed rotation does not lose the record: it is
// written to the current file and the rotation error is returned.
func (l *Log) Append(ctx context.Context, rec Record) error {
	line, err := rec.line(time.Now())
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
