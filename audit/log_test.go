package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

func sampleRecord(i int) Record {
	exit := i % 3
	return Record{
		Schema:        Schema,
		Time:          time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC).Add(time.Duration(i) * time.Second),
		Action:        ActionLaunch,
		Origin:        "https://portal.example.com",
		Decision:      "launched",
		Step:          "emulator-exit",
		DescriptorURL: "https://portal.example.com/d/1",
		Session:       fmt.Sprintf("Payroll %d", i),
		Proxy:         "proxy.example.com:8443",
		Destination:   "mainframe.example.com:23",
		BytesUp:       int64(100 * i),
		BytesDown:     int64(1000 * i),
		Duration:      time.Duration(i) * time.Second,
		ExitStatus:    &exit,
		OSLog:         "off", // newTestLog's level
	}
}

func newTestLog(t *testing.T, maxSize int64) *Log {
	t.Helper()
	l, err := New(Options{Path: filepath.Join(testtmp.Dir(t), "state", "audit.log"), MaxSize: maxSize, OSLog: oslog.LevelOff})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAuditAppendAndRead(t *testing.T) {
	l := newTestLog(t, 0)
	recs, err := l.ReadRecent(10)
	if err != nil || len(recs) != 0 {
		t.Fatalf("ReadRecent of a missing log = %v, %v", recs, err)
	}
	for i := range 5 {
		if err := l.Append(t.Context(), sampleRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err = l.ReadRecent(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	for k, i := range []int{3, 4} {
		want := sampleRecord(i)
		if !reflect.DeepEqual(recs[k], want) {
			t.Errorf("record %d:\n got %+v\nwant %+v", k, recs[k], want)
		}
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(l.Path())
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("log mode %v, want 0600", fi.Mode().Perm())
		}
		di, err := os.Stat(filepath.Dir(l.Path()))
		if err != nil {
			t.Fatal(err)
		}
		if di.Mode().Perm() != 0o700 {
			t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
		}
	}
}

// TestAuditDefaultPath: the audit log is audit.log in the user's state
// directory, which $XDG_STATE_HOME moves on Linux and %LocalAppData% on
// Windows.
func TestAuditDefaultPath(t *testing.T) {
	dir := testtmp.Dir(t)
	switch runtime.GOOS {
	case "linux":
		t.Setenv("XDG_STATE_HOME", dir)
	case "windows":
		t.Setenv("LOCALAPPDATA", dir)
	default:
		t.Skip("the state directory of " + runtime.GOOS + " is not moved by the environment")
	}
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "trustlaunch", "audit.log"); l.Path() != want {
		t.Errorf("path %q, want %q", l.Path(), want)
	}
}

// TestAuditLineFields pins the JSON field names: they are an interface for
// whoever reads the log.
func TestAuditLineFields(t *testing.T) {
	line, err := sampleRecord(1).line(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	want := []string{"action", "bytes_down", "bytes_up", "decision", "descriptor_url", "destination", "duration_ms", "error", "exit_status", "origin", "os_log", "proxy", "schema", "session", "step", "time", "whitelist"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	if m["schema"] != float64(Schema) || m["action"] != "launch" {
		t.Errorf("schema %v, action %v; want %d, launch", m["schema"], m["action"], Schema)
	}
	if m["time"] != "2026-01-02T03:04:06.000006Z" {
		t.Errorf("time %v", m["time"])
	}
	if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Errorf("not one line: %q", line)
	}
}

// TestAuditNeverRecordsSecrets checks both locks: Record has no field
// that could hold the token or the ticket, and what reaches the file has
// neither, even when an error message quotes the full URL.
func TestAuditNeverRecordsSecrets(t *testing.T) {
	for f := range reflect.TypeFor[Record]().Fields() {
		name := strings.ToLower(f.Name)
		if strings.Contains(name, "token") || strings.Contains(name, "ticket") || strings.Contains(name, "secret") {
			t.Errorf("Record has a field %s", f.Name)
		}
	}
	// The descriptor package's seed with every field set.
	fullJSON, err := os.ReadFile(filepath.Join("..", "descriptor", "testdata", "descriptors", "ok-full.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := descriptor.Decode(fullJSON)
	if err != nil {
		t.Fatal(err)
	}
	const tok = "TOKEN-SECRET-FULL"
	const ticket = "TICKET-SECRET-7f3a9c"
	full := "https://portal.example.com/d/1?ticket=" + ticket + "&user=u#" + ticket
	l := newTestLog(t, 0)
	rec := Record{
		Origin:        "https://portal.example.com",
		Decision:      "failed",
		Step:          descriptor.StepFetch,
		DescriptorURL: full,
		Session:       d.Session + " " + d.String(),
		Proxy:         d.Proxy.Address,
		Destination:   fmt.Sprintf("%v", d.Destination),
		Error:         fmt.Sprintf("Get %q: boom; descriptor %v %+v %#v", full, d, d, d),
	}
	if err := l.Append(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{tok, ticket, "ticket="} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("audit log contains %q:\n%s", secret, data)
		}
	}
	if !bytes.Contains(data, []byte(`"descriptor_url":"https://portal.example.com/d/1"`)) {
		t.Errorf("descriptor URL not recorded without its query:\n%s", data)
	}
}

func TestAuditSanitizes(t *testing.T) {
	l := newTestLog(t, 0)
	rec := sampleRecord(1)
	rec.Session = "evil\x1b]52;c;ZXZpbA==\x07\u202e\r\nnext"
	rec.Error = strings.Repeat("e", 5000)
	if err := l.Append(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("\x1b")) || bytes.Contains(data, []byte(`\u001b`)) || bytes.Contains(data, []byte("\u202e")) {
		t.Errorf("control characters reached the log: %q", data)
	}
	recs, err := l.ReadRecent(1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("ReadRecent = %v, %v", recs, err)
	}
	if want := `evil\x1b]52;c;ZXZpbA==\x07\u202e\x0d\x0anext`; recs[0].Session != want {
		t.Errorf("session %q, want %q", recs[0].Session, want)
	}
	if n := len([]rune(recs[0].Error)); n != auditErrorRunes {
		t.Errorf("error is %d runes, want it cut to %d", n, auditErrorRunes)
	}
}

func TestAuditRotation(t *testing.T) {
	// Sample records 1 to 9 all have the same length.
	probe, err := sampleRecord(1).line(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(probe))
	l := newTestLog(t, 3*size)
	appendN := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := l.Append(t.Context(), sampleRecord(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	fileSize := func(p string) int64 {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			return -1
		}
		return fi.Size()
	}

	appendN(1, 4)
	if got := fileSize(l.Path()); got != 3*size {
		t.Fatalf("after 3 records the log is %d bytes, want %d", got, 3*size)
	}
	if fileSize(l.Path()+".1") != -1 {
		t.Fatal("rotated before reaching the threshold")
	}
	appendN(4, 5)
	if got, got1 := fileSize(l.Path()), fileSize(l.Path()+".1"); got != size || got1 != 3*size {
		t.Fatalf("after the 4th record: log %d bytes, .1 %d bytes; want %d and %d", got, got1, size, 3*size)
	}
	appendN(5, 8)
	if got, got1 := fileSize(l.Path()), fileSize(l.Path()+".1"); got != size || got1 != 3*size {
		t.Fatalf("after the 7th record: log %d bytes, .1 %d bytes; want %d and %d", got, got1, size, 3*size)
	}
	if fileSize(l.Path()+".2") != -1 {
		t.Error("more than one old file kept")
	}
	recs, err := l.ReadRecent(10)
	if err != nil {
		t.Fatal(err)
	}
	var sessions []string
	for _, r := range recs {
		sessions = append(sessions, r.Session)
	}
	if want := []string{"Payroll 4", "Payroll 5", "Payroll 6", "Payroll 7"}; !reflect.DeepEqual(sessions, want) {
		t.Errorf("ReadRecent across rotation = %q, want %q", sessions, want)
	}
}

func TestAuditOversizedRecordStillWritten(t *testing.T) {
	l := newTestLog(t, 10) // smaller than any record
	for i := range 2 {
		if err := l.Append(t.Context(), sampleRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := l.ReadRecent(5)
	if err != nil || len(recs) != 2 {
		t.Fatalf("ReadRecent = %d records, %v; want 2 (one per file)", len(recs), err)
	}
}

// TestAuditConcurrentAppends writes from many goroutines at once, each
// with its own Log as separate processes would have, and checks that
// every line is whole.
func TestAuditConcurrentAppends(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxSize int64
	}{{"no rotation", 0}, {"with rotation", 8 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(testtmp.Dir(t), "audit.log")
			const writers, each = 8, 40
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for w := range writers {
				wg.Go(func() {
					l, err := New(Options{Path: path, MaxSize: tc.maxSize})
					if err != nil {
						errs <- err
						return
					}
					for i := range each {
						rec := sampleRecord(i)
						rec.Session = fmt.Sprintf("writer %d record %d %s", w, i, strings.Repeat("x", 100*w))
						if err := l.Append(t.Context(), rec); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			total := 0
			for _, p := range []string{path, path + ".1"} {
				f, err := os.Open(p)
				if err != nil {
					if tc.maxSize == 0 && p != path {
						continue
					}
					t.Fatal(err)
				}
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					var al auditLine
					if err := json.Unmarshal(sc.Bytes(), &al); err != nil || !strings.HasPrefix(al.Session, "writer ") {
						t.Errorf("torn line in %s: %q", p, sc.Text())
					}
					total++
				}
				f.Close()
			}
			if tc.maxSize == 0 && total != writers*each {
				t.Errorf("%d lines, want %d", total, writers*each)
			}
		})
	}
}

func TestAuditSkipsBadLines(t *testing.T) {
	l := newTestLog(t, 0)
	if err := l.Append(t.Context(), sampleRecord(1)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("not json\n{\"time\":\"yesterday\"}\n{\"time\":\"2026-01-0")
	f.Close()
	if err := l.Append(t.Context(), sampleRecord(2)); err != nil {
		t.Fatal(err)
	}
	recs, err := l.ReadRecent(10)
	if err != nil {
		t.Fatal(err)
	}
	// The torn line is ended before the next record, so only it is lost.
	if len(recs) != 2 || recs[0].Session != "Payroll 1" || recs[1].Session != "Payroll 2" {
		t.Errorf("got %+v", recs)
	}
}

func TestAuditRefusesNonRegularFile(t *testing.T) {
	l := newTestLog(t, 0)
	if err := os.MkdirAll(l.Path(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(t.Context(), sampleRecord(1)); err == nil {
		t.Fatal("appended to a directory")
	}
	if _, err := l.ReadRecent(1); err == nil {
		t.Fatal("read a directory as a log")
	}
}

// TestAuditReadSanitizesTamperedFile writes raw control characters into the
// log as another program could, and checks ReadRecent escapes them.
func TestAuditReadSanitizesTamperedFile(t *testing.T) {
	l := newTestLog(t, 0)
	if err := l.Append(t.Context(), sampleRecord(1)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-01-02T03:04:05Z","session":"a\u001b[2J\u009b1m\\x1b","descriptor_url":"https://p/d?ticket=x"}` + "\n")
	f.Close()
	recs, err := l.ReadRecent(1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("ReadRecent = %v, %v", recs, err)
	}
	if want := `a\x1b[2J\u009b1m\x1b`; recs[0].Session != want {
		t.Errorf("session %q, want %q", recs[0].Session, want)
	}
	if recs[0].DescriptorURL != "https://p/d" {
		t.Errorf("descriptor URL %q kept its query", recs[0].DescriptorURL)
	}
	j, err := json.Marshal(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(j, []byte(`"session":"a\\x1b[2J\\u009b1m\\x1b"`)) {
		t.Errorf("MarshalJSON changed clean text: %s", j)
	}
}

// TestAuditSchema: Append writes the current schema whatever the record
// says, a demo's record is marked, and a line from before versions reads
// back as schema 0 with its decision as written.
func TestAuditSchema(t *testing.T) {
	l := newTestLog(t, 0)
	rec := sampleRecord(1)
	rec.Schema, rec.Demo = 0, true
	if err := l.Append(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	old := `{"time":"2026-01-02T03:04:05Z","origin":"https://portal.example.com","decision":"refused","step":"prompt-no","whitelist":"prompt-no","descriptor_url":"","session":"","proxy":"","destination":"","bytes_up":0,"bytes_down":0,"duration_ms":3,"exit_status":null,"error":""}` + "\n"
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(old)
	f.Close()
	recs, err := l.ReadRecent(2)
	if err != nil || len(recs) != 2 {
		t.Fatalf("ReadRecent: %v %v", recs, err)
	}
	if r := recs[0]; r.Schema != Schema || !r.Demo {
		t.Errorf("appended record: schema %d, demo %v; want %d, true", r.Schema, r.Demo, Schema)
	}
	if r := recs[1]; r.Schema != 0 || r.Decision != "refused" || r.Demo {
		t.Errorf("old line: %+v; want schema 0, decision refused", r)
	}
	b, err := json.Marshal(recs[1])
	if err != nil || bytes.Contains(b, []byte(`"schema"`)) || bytes.Contains(b, []byte(`"demo"`)) {
		t.Errorf("old line as log --json prints it: %s %v; want no schema and no demo", b, err)
	}
}

// TestAuditTimings: the timings are written in whole microseconds under
// the names Phases gives them (what `trustlaunch log --timings` and
// docs/admin.md show), read back unchanged, and left out when none was
// measured.
func TestAuditTimings(t *testing.T) {
	rec := sampleRecord(1)
	for i, f := range []*time.Duration{&rec.Timings.Decision, &rec.Timings.Prompt, &rec.Timings.Fetch, &rec.Timings.Policy,
		&rec.Timings.Proxy, &rec.Timings.ProxyTCP, &rec.Timings.ProxyTLS, &rec.Timings.ProxyRequest, &rec.Timings.Emulator, &rec.Timings.Session} {
		*f = time.Duration(i+1)*time.Millisecond + 7*time.Microsecond + 300 // the nanoseconds are dropped
	}
	line, err := rec.line(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Timings map[string]int64 `json:"timings_us"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	phases := rec.Timings.Phases()
	if len(m.Timings) != len(phases) {
		t.Errorf("timings_us %v, want the %d phases", m.Timings, len(phases))
	}
	for i, p := range phases {
		if want := int64((i+1)*1000 + 7); m.Timings[p.Name] != want {
			t.Errorf("timings_us.%s = %d, want %d", p.Name, m.Timings[p.Name], want)
		}
	}
	back, ok := parseAuditLine(line)
	if !ok {
		t.Fatal("the line does not parse back")
	}
	for i, p := range back.Timings.Phases() {
		if want := time.Duration(i+1)*time.Millisecond + 7*time.Microsecond; p.Took != want {
			t.Errorf("%s read back as %v, want %v", p.Name, p.Took, want)
		}
	}
	none, _ := sampleRecord(1).line(time.Now())
	if bytes.Contains(none, []byte("timings_us")) {
		t.Errorf("a record with no timing: %s", none)
	}
}
