package audit

import (
	"encoding/base64"
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

// TestAuditRecordWithoutSecrets: the record launcher.Launch and launcher.Detect append is
// scrubbed of every secret of the run's registry, in every field, in any
// spelling, before it is cut to its field lengths.
func TestAuditRecordWithoutSecrets(t *testing.T) {
	const pass, token = "Corp-Pr0xy/Pa55w0rd!Spring", "tl-audit-token-3c9e71a0f5d2"
	secrets := &redact.Set{}
	connector.NewToken(token).AddTo(secrets)
	secrets.Add(pass)
	planted := strings.ToUpper(token) + " " + base64.RawURLEncoding.EncodeToString([]byte("x:"+pass)) + " " + strings.Repeat("padding ", 200) + strings.ToLower(token)
	rec := Record{Origin: planted, Decision: Outcome(planted), Step: planted, Whitelist: planted, DescriptorURL: "https://portal.example.com/d/1?ticket=tkt-secret-0c4f",
		Session: planted, Proxy: planted, Destination: planted, Publisher: planted, Error: planted}
	line, err := rec.Scrubbed(secrets).line(rec.Time)
	if err != nil {
		t.Fatal(err)
	}
	checkNoSpelling(t, "the audit line", string(line), token)
	checkNoSpelling(t, "the audit line", string(line), pass)
	if n := strings.Count(string(line), "[redacted]"); n < 18 {
		t.Errorf("the audit line has %d [redacted], want two in each of the 9 text fields: %s", n, line)
	}
}
