package platform

import (
	"testing"
)

// TestAdminPathsIgnoreEnvironment checks that the admin paths are the fixed
// Linux ones even when every variable a user could set points elsewhere.
func TestAdminPathsIgnoreEnvironment(t *testing.T) {
	for _, env := range []string{"XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "XDG_STATE_HOME", "HOME"} {
		t.Setenv(env, "/home/mallory/evil")
	}
	if got, want := AdminDir(), "/etc/trustlaunch"; got != want {
		t.Errorf("AdminDir() = %q, want %q", got, want)
	}
	if got, want := AdminWhitelistPath(), "/etc/trustlaunch/whitelist.txt"; got != want {
		t.Errorf("AdminWhitelistPath() = %q, want %q", got, want)
	}
}

func TestUserDirs(t *testing.T) {
	tests := []struct {
		name                    string
		home, configHome, state string // "" leaves the variable empty
		wantConfig, wantState   string
		wantErr                 bool
	}{
		{name: "XDG variables set",
			home: "/home/u", configHome: "/cfg", state: "/st",
			wantConfig: "/cfg/trustlaunch", wantState: "/st/trustlaunch"},
		{name: "XDG variables empty",
			home:       "/home/u",
			wantConfig: "/home/u/.config/trustlaunch", wantState: "/home/u/.local/state/trustlaunch"},
		{name: "XDG variables relative are ignored",
			home: "/home/u", configHome: "cfg", state: "./st",
			wantConfig: "/home/u/.config/trustlaunch", wantState: "/home/u/.local/state/trustlaunch"},
		{name: "XDG variables with trailing slash",
			home: "/home/u", configHome: "/cfg/", state: "/st/",
			wantConfig: "/cfg/trustlaunch", wantState: "/st/trustlaunch"},
		{name: "HOME and XDG variables empty", wantErr: true},
		{name: "HOME relative", home: "home/u", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", tt.home)
			t.Setenv("XDG_CONFIG_HOME", tt.configHome)
			t.Setenv("XDG_STATE_HOME", tt.state)

			config, cerr := UserConfigDir()
			state, serr := UserStateDir()
			whitelist, werr := UserWhitelistPath()
			if tt.wantErr {
				if cerr == nil || serr == nil || werr == nil {
					t.Fatalf("got %q, %q, %q (errors %v, %v, %v), want three errors", config, state, whitelist, cerr, serr, werr)
				}
				return
			}
			if cerr != nil || serr != nil || werr != nil {
				t.Fatalf("errors: %v, %v, %v", cerr, serr, werr)
			}
			if config != tt.wantConfig {
				t.Errorf("UserConfigDir() = %q, want %q", config, tt.wantConfig)
			}
			if state != tt.wantState {
				t.Errorf("UserStateDir() = %q, want %q", state, tt.wantState)
			}
			if want := tt.wantConfig + "/whitelist.txt"; whitelist != want {
				t.Errorf("UserWhitelistPath() = %q, want %q", whitelist, want)
			}
		})
	}
}
