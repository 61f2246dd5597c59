package launcher

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestReadmeFixedPortProfiles loads the README's PCOMM and ACS profiles
// (the toml block with listen_port) as an administrator's file on Windows,
// where their drive-letter paths are absolute: the example must be one
// that trustlaunch accepts, with the ports it shows. Neither emulator is
// installed, so each resolves to a missing program named by its path.
func TestReadmeFixedPortProfiles(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, part := range strings.Split(string(readme), "```toml\n")[1:] {
		body, _, _ := strings.Cut(part, "```")
		if strings.Contains(body, "listen_port") {
			block = body
			break
		}
	}
	if block == "" {
		t.Fatal("README.md has no toml block with listen_port")
	}
	admin := writeFile(t, testtmp.Dir(t), "profiles.toml", block)
	ps, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: noAdminProfiles, checkAdmin: acceptAdmin})
	if err != nil {
		t.Fatalf("the README's example: %v", err)
	}
	for name, port := range map[string]int{"payroll-pcomm": 23023, "payroll-acs": 23024} {
		p, err := ps.Resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.ListenPort != port {
			t.Errorf("%s: ListenPort %d, want %d", name, p.ListenPort, port)
		}
		_, err = p.Command("127.0.0.1", port, "Payroll")
		var me *MissingCommandError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "is not an executable file") {
			t.Errorf("%s: Command error %v, want the missing program named", name, err)
		}
	}
}
