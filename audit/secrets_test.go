package audit

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/redact/redacttest"
)

// checkNoSpelling fails if text holds a spelling of secret
// (redacttest.Leak).
func checkNoSpelling(t *testing.T, where, text, secret string) {
	t.Helper()
	if run, ok := redacttest.Leak(text, secret); ok {
		t.Errorf("%s shows the run %q of a spelling of %q: %s", where, run, secret, text)
	}
}

// plantedRecord returns a record with planted in every text field that
// Scrubbed scrubs (all but DescriptorURL, which loses its query instead,
// and OSLog, which Append writes), found by reflection so that a field
// added to Record is planted too; and how many fields it planted.
func plantedRecord(t *testing.T, planted string) (Record, int) {
	t.Helper()
	rec := Record{DescriptorURL: "https://portal.example.com/d/1?ticket=tkt-secret-0c4f"}
	v := reflect.ValueOf(&rec).Elem()
	n := 0
	for _, f := range reflect.VisibleFields(v.Type()) {
		if f.Type.Kind() != reflect.String || f.Name == "DescriptorURL" || f.Name == "OSLog" {
			continue
		}
		v.FieldByIndex(f.Index).SetString(planted)
		n++
	}
	if n < 12 {
		t.Fatalf("only %d text fields planted", n)
	}
	return rec, n
}

// TestAuditRecordWithoutSecrets: the record launcher.Launch and launcher.Detect append is
// scrubbed of every secret of the run's registry, in every field, in any
// spelling, before it is cut to its field lengths.
func TestAuditRecordWithoutSecrets(t *testing.T) {
	const pass, token = "Corp-Pr0xy/Pa55w0rd!Spring", "tl-audit-token-3c9e71a0f5d2"
	secrets := &redact.Set{}
	connector.NewToken(token).AddTo(secrets)
	secrets.Add(pass)
	planted := strings.ToUpper(token) + " " + base64.RawURLEncoding.EncodeToString([]byte("x:"+pass)) + " " + strings.Repeat("padding ", 200) + strings.ToLower(token)
	rec, fields := plantedRecord(t, planted)
	line, err := rec.Scrubbed(secrets).line(rec.Time)
	if err != nil {
		t.Fatal(err)
	}
	checkNoSpelling(t, "the audit line", string(line), token)
	checkNoSpelling(t, "the audit line", string(line), pass)
	if n := strings.Count(string(line), "[redacted]"); n < 2*fields {
		t.Errorf("the audit line has %d [redacted], want two in each of the %d text fields: %s", n, fields, line)
	}
}
