package launcher

import (
	"testing"

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
