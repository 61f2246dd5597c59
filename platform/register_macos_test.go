package platform

import (
	"errors"
	"strings"
	"testing"
)

func TestAppBundleOf(t *testing.T) {
	for exe, want := range map[string]string{
		"/Applications/trustlaunch.app/Contents/MacOS/trustlaunch":         "/Applications/trustlaunch.app",
		"/Users/u/Applications/trustlaunch.app/Contents/MacOS/trustlaunch": "/Users/u/Applications/trustlaunch.app",
		"/usr/local/bin/trustlaunch":                                       "",
		"/Applications/trustlaunch.app/Contents/trustlaunch":               "",
		"/Applications/trustlaunch/Contents/MacOS/trustlaunch":             "",
	} {
		got, err := appBundleOf(exe)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("appBundleOf(%q) = %q, %v; want %q", exe, got, err, want)
		}
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("appBundleOf(%q): %v does not wrap ErrUnsupported", exe, err)
		}
	}
}

func TestMacNeedsDefault(t *testing.T) {
	const us = "/Applications/trustlaunch.app"
	for _, tc := range []struct {
		name    string
		handler string
		force   bool
		set     bool
		other   bool
	}{
		{"already ours", us + "/", false, false, false},
		{"already ours, forced", us, true, false, false},
		{"nobody", "", false, true, false},
		{"another app", "/Applications/Other.app", false, false, true},
		{"another app, forced", "/Applications/Other.app", true, true, false},
		{"another copy of trustlaunch", "/Users/u/Applications/trustlaunch.app", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := macNeedsDefault(us, macHandler{App: tc.handler}, tc.force)
			if set != tc.set || errors.Is(err, ErrOtherHandler) != tc.other || (err != nil) != tc.other {
				t.Fatalf("macNeedsDefault = %v, %v; want set %v, other handler %v", set, err, tc.set, tc.other)
			}
		})
	}
}

func TestMacCheckReport(t *testing.T) {
	const us = "/Applications/trustlaunch.app"
	exe := us + "/Contents/MacOS/trustlaunch"
	if r := macCheckReport(exe, us, macHandler{App: us}); !r.OK() {
		t.Errorf("our bundle as handler: %+v", r)
	}
	for _, h := range []string{"", "/Applications/Other.app"} {
		r := macCheckReport(exe, us, macHandler{App: h})
		if r.OK() || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Fix, exe+" register") {
			t.Errorf("handler %q: %+v", h, r)
		}
	}
}
