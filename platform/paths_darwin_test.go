package platform

import "testing"

func TestAdminPathsIgnoreEnvironment(t *testing.T) {
	for _, env := range []string{"XDG_CONFIG_HOME", "HOME"} {
		t.Setenv(env, "/Users/mallory/evil")
	}
	if got, want := AdminDir(), "/Library/Application Support/trustlaunch"; got != want {
		t.Errorf("AdminDir() = %q, want %q", got, want)
	}
	if got, want := AdminWhitelistPath(), "/Library/Application Support/trustlaunch/whitelist.txt"; got != want {
		t.Errorf("AdminWhitelistPath() = %q, want %q", got, want)
	}
}

func TestUserDirs(t *testing.T) {
	t.Setenv("HOME", "/Users/u")
	t.Setenv("XDG_CONFIG_HOME", "/ignored")
	want := "/Users/u/Library/Application Support/trustlaunch"
	if got, err := UserConfigDir(); got != want || err != nil {
		t.Errorf("UserConfigDir() = %q, %v, want %q", got, err, want)
	}
	if got, err := UserStateDir(); got != want || err != nil {
		t.Errorf("UserStateDir() = %q, %v, want %q", got, err, want)
	}
	if got, err := UserWhitelistPath(); got != want+"/whitelist.txt" || err != nil {
		t.Errorf("UserWhitelistPath() = %q, %v, want %q", got, err, want+"/whitelist.txt")
	}
}
