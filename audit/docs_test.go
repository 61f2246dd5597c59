package audit

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// adminSection returns the lines of docs/admin.md's section whose heading
// (any level) starts with heading, up to the next heading of that level
// or above.
func adminSection(t *testing.T, heading string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash("../docs/admin.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	level := 0
	for _, line := range strings.Split(string(data), "\n") {
		hashes := len(line) - len(strings.TrimLeft(line, "#"))
		isHeading := hashes > 0 && strings.HasPrefix(line[hashes:], " ")
		switch {
		case level == 0 && isHeading && strings.HasPrefix(line[hashes+1:], heading):
			level = hashes
			out = append(out, line)
		case level > 0 && isHeading && hashes <= level:
			return out
		case level > 0:
			out = append(out, line)
		}
	}
	if level == 0 {
		t.Fatalf("docs/admin.md has no section %q", heading)
	}
	return out
}

// tableRows returns the first cell's code spans and the other cells of
// each row of the first Markdown table in lines whose header's first cell
// is header: a cell "`session`, `proxy`" names two fields.
func tableRows(t *testing.T, lines []string, header string) (names [][]string, cells [][]string) {
	t.Helper()
	code := regexp.MustCompile("`([^`]+)`")
	in := false
	for _, line := range lines {
		if !strings.HasPrefix(line, "|") {
			if in {
				break
			}
			continue
		}
		row := strings.Split(strings.Trim(line, "|"), "|")
		for i := range row {
			row[i] = strings.TrimSpace(row[i])
		}
		switch {
		case !in && row[0] == header:
			in = true
		case in && strings.Trim(row[0], "-") == "":
		case in:
			var n []string
			for _, m := range code.FindAllStringSubmatch(row[0], -1) {
				n = append(n, m[1])
			}
			names, cells = append(names, n), append(cells, row[1:])
		}
	}
	if !in {
		t.Fatalf("no table headed %q", header)
	}
	return names, cells
}

// TestSchemaDocumented holds the section "The record (schema N)" of
// docs/admin.md to the record's JSON form: the schema's number, one row for every field the
// line can hold and none it cannot, and the timings' keys, so that a field
// another change adds is documented with the schema, or this fails.
func TestSchemaDocumented(t *testing.T) {
	sec := adminSection(t, "The record (schema ")
	if want := "### The record (schema " + strconv.Itoa(Schema) + ")"; sec[0] != want {
		t.Errorf("docs/admin.md heading %q, want %q", sec[0], want)
	}
	names, cells := tableRows(t, sec, "field")
	var documented []string
	for i, n := range names {
		if len(n) == 0 {
			t.Errorf("row %d of the record's table names no field", i+1)
		}
		documented = append(documented, n...)
		if slices.Contains(n, "schema") && cells[i][0] != strconv.Itoa(Schema) {
			t.Errorf("the table gives schema as %q, want %d", cells[i][0], Schema)
		}
	}
	var fields []string
	for f := range reflect.TypeFor[auditLine]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields = append(fields, name)
	}
	if !slices.Equal(slices.Sorted(slices.Values(documented)), slices.Sorted(slices.Values(fields))) {
		t.Errorf("docs/admin.md documents the fields\n%v\nthe record's JSON has\n%v", documented, fields)
	}

	keys, _ := tableRows(t, sec, "key")
	var phases, want []string
	for _, k := range keys {
		phases = append(phases, k...)
	}
	for _, p := range (Timings{}).Phases() {
		want = append(want, p.Name)
	}
	if !slices.Equal(phases, want) {
		t.Errorf("docs/admin.md documents the timings %v, the record has %v", phases, want)
	}
}

// TestOutcomesDocumented holds docs/admin.md's tables of outcomes to the
// code's: each launch outcome in order, its Windows event ID and severity,
// and its journald MESSAGE_ID.
func TestOutcomesDocumented(t *testing.T) {
	sev := map[string]string{"info": "information", "warning": "warning", "error": "error"}
	names, cells := tableRows(t, adminSection(t, "Outcomes: one classification"), "`decision`")
	var got []Outcome
	for i, n := range names {
		o := Outcome(strings.Join(n, " "))
		got = append(got, o)
		c := cells[i]
		if len(c) != 4 || c[2] != strconv.Itoa(int(o.EventID())) || c[3] != sev[o.Severity().String()] {
			t.Errorf("docs/admin.md: %s has event ID and severity %q, want %d and %s", o, c[2:], o.EventID(), sev[o.Severity().String()])
		}
	}
	if !slices.Equal(got, LaunchOutcomes) {
		t.Errorf("docs/admin.md lists the outcomes %v, want %v", got, LaunchOutcomes)
	}

	names, cells = tableRows(t, adminSection(t, "The same record in the system's log"), "`decision`")
	got = got[:0]
	for i, n := range names {
		o := Outcome(strings.Join(n, " "))
		got = append(got, o)
		if want := "`" + o.MessageID() + "`"; cells[i][0] != want {
			t.Errorf("docs/admin.md: %s has MESSAGE_ID %s, want %s", o, cells[i][0], want)
		}
	}
	if !slices.Equal(got, LaunchOutcomes) {
		t.Errorf("docs/admin.md lists MESSAGE_IDs for %v, want %v", got, LaunchOutcomes)
	}
}
