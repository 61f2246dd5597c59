package tui

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

func TestFindTerminal(t *testing.T) {
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
	tests := []struct {
		name string
		env  []string
		want Terminal
		err  error
	}{
		{"first installed, told to stay", []string{"PATH=" + bin, "DISPLAY=:5"}, Terminal{Argv: []string{konsole, "--nofork", "-e"}}, nil},
		{"$TERMINAL first", []string{"PATH=" + bin, "DISPLAY=:5", "TERMINAL=my-term"}, Terminal{Argv: []string{mine, "-e"}}, nil},
		{"$TERMINAL xterm", []string{"PATH=" + bin, "DISPLAY=:5", "TERMINAL=xterm"}, Terminal{Argv: []string{xterm, "-e"}, Inherits: true}, nil},
		{"$TERMINAL a path to xterm", []string{"PATH=" + bin, "DISPLAY=:5", "TERMINAL=" + xterm}, Terminal{Argv: []string{xterm, "-e"}}, nil},
		{"wayland", []string{"PATH=" + bin, "WAYLAND_DISPLAY=wayland-0"}, Terminal{Argv: []string{konsole, "--nofork", "-e"}}, nil},
		{"no display", []string{"PATH=" + bin}, Terminal{}, ErrNoTerminalWindow},
		{"none installed", []string{"PATH=" + testtmp.Dir(t), "DISPLAY=:5"}, Terminal{}, ErrNoTerminalWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindTerminal(tt.env)
			if !errors.Is(err, tt.err) || !slices.Equal(got.Argv, tt.want.Argv) || got.Inherits != tt.want.Inherits {
				t.Errorf("FindTerminal = %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
		})
	}
	os.Remove(konsole)
	got, err := FindTerminal([]string{"PATH=" + bin, "DISPLAY=:5"})
	if err != nil || !slices.Equal(got.Argv, []string{xterm, "-e"}) || !got.Inherits {
		t.Errorf("fallback to xterm: %+v, %v; want it, passing descriptors on", got, err)
	}
}
