package launcher

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/redact"
)

// checkNoSpelling fails if text holds secret in any case, percent-encoded,
// or a run of its base64 at any alignment.
func checkNoSpelling(t *testing.T, where, text, secret string) {
	t.Helper()
	lt := strings.ToLower(text)
	for _, s := range []string{secret, url.QueryEscape(secret)} {
		if strings.Contains(lt, strings.ToLower(s)) {
			t.Errorf("%s shows %q in some case: %s", where, s, text)
		}
	}
	if run, ok := base64RunIn(text, secret); ok {
		t.Errorf("%s shows the run %q of the base64 of %q: %s", where, run, secret, text)
	}
}

// TestAuditRecordWithoutSecrets: the record Launch and Detect append is
// scrubbed of every secret of the run's registry, in every field, in any
// spelling, before it is cut to its field lengths.
func TestAuditRecordWithoutSecrets(t *testing.T) {
	const pass, token = "Corp-Pr0xy/Pa55w0rd!Spring", "tl-audit-token-3c9e71a0f5d2"
	secrets := &redact.Set{}
	connector.NewToken(token).AddTo(secrets)
	secrets.Add(pass)
	planted := strings.ToUpper(token) + " " + base64.RawURLEncoding.EncodeToString([]byte("x:"+pass)) + " " + strings.Repeat("padding ", 200) + strings.ToLower(token)
	rec := AuditRecord{Origin: planted, Decision: planted, Step: planted, Whitelist: planted, DescriptorURL: "https://portal.example.com/d/1?ticket=tkt-secret-0c4f",
		Session: planted, Proxy: planted, Destination: planted, Publisher: planted, Error: planted}
	line, err := rec.withoutSecrets(secrets).line(rec.Time)
	if err != nil {
		t.Fatal(err)
	}
	checkNoSpelling(t, "the audit line", string(line), token)
	checkNoSpelling(t, "the audit line", string(line), pass)
	if n := strings.Count(string(line), "[redacted]"); n < 18 {
		t.Errorf("the audit line has %d [redacted], want two in each of the 9 text fields: %s", n, line)
	}
}
