//go:build !linux

package pac

import (
	"runtime"
	"strings"
	"testing"
)

// TestScriptNeedsTheMemoryLimit: where the child cannot limit its memory
// (macOS; Windows asks WinHTTP instead), it runs no script: FindProxy
// fails saying why, and the caller goes direct.
func TestScriptNeedsTheMemoryLimit(t *testing.T) {
	url := servePAC(t, `function FindProxyForURL(url, host) { return "PROXY a.test:3128"; }`)
	s, err := NewScript(Options{URL: url, Command: testCommand(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.FindProxy(t.Context(), "x.test", "443")
	if want := "memory limit is not supported on " + runtime.GOOS; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("FindProxy = %q, %v; want an error saying %q", got, err, want)
	}
}
