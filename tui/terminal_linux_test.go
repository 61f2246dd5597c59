package tui

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

func TestTerminalCommand(t *testing.T) {
	bin := testtmp.Dir(t)
	fake := func(name string) string {
		p := filepath.Join(bin, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	konsole := fake("konsole")
	xterm := fake("xterm")
	mine := fake("my-term")
	argv := []string{"/usr/bin/c3270", "127.0.0.1:4000"}
	tests := []struct {
		name string
		env  []string
		want []string
		err  error
	}{
		{"first installed, told to stay", []string{"PATH=" + bin, "DISPLAY=:5"}, append([]string{konsole, "--nofork", "-e"}, argv...), nil},
		{"$TERMINAL first", []string{"PATH=" + bin, "DISPLAY=:5", "TERMINAL=my-term"}, append([]string{mine, "-e"}, argv...), nil},
		{"wayland", []string{"PATH=" + bin, "WAYLAND_DISPLAY=wayland-0"}, append([]string{konsole, "--nofork", "-e"}, argv...), nil},
		{"no display", []string{"PATH=" + bin}, nil, ErrNoTerminalWindow},
		{"none installed", []string{"PATH=" + testtmp.Dir(t), "DISPLAY=:5"}, nil, ErrNoTerminalWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TerminalCommand(tt.env, argv)
			if !errors.Is(err, tt.err) || !slices.Equal(got, tt.want) {
				t.Errorf("TerminalCommand = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
	os.Remove(konsole)
	got, err := TerminalCommand([]string{"PATH=" + bin, "DISPLAY=:5"}, argv)
	if err != nil || got[0] != xterm {
		t.Errorf("fallback to xterm: %q, %v", got, err)
	}
}
