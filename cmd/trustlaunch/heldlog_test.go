package main

import (
	"fmt"
	"slices"
	"testing"
)

func TestHeldLog(t *testing.T) {
	var out []string
	h := &heldLog{print: func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }}
	h.logf("before %d", 1)
	h.hold()
	h.logf("during %d", 1)
	h.logf("during %d", 2)
	if want := []string{"before 1"}; !slices.Equal(out, want) {
		t.Fatalf("while held, printed %q, want %q", out, want)
	}
	h.release()
	h.logf("after")
	if want := []string{"before 1", "during 1", "during 2", "after"}; !slices.Equal(out, want) {
		t.Fatalf("printed %q, want %q", out, want)
	}
}

func TestHeldLogBounded(t *testing.T) {
	var out []string
	h := &heldLog{print: func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }}
	h.hold()
	for i := range maxHeldLines + 5 {
		h.logf("line %d", i)
	}
	h.release()
	if len(out) != maxHeldLines+1 {
		t.Fatalf("printed %d lines, want %d kept and one count", len(out), maxHeldLines+1)
	}
	if out[0] != "5 earlier log lines of the session were dropped" || out[1] != "line 5" || out[len(out)-1] != fmt.Sprintf("line %d", maxHeldLines+4) {
		t.Fatalf("printed %q ... %q", out[:2], out[len(out)-1])
	}
}
