//go:build !windows

package main

import (
	"os"
	"os/exec"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/pac"
)

// pacSetting is the setting whose proxies the PAC script at rawURL
// chooses, evaluated by this binary's __pac child (internal/pac) with
// an empty environment: nothing of the launch reaches it but the script
// and the host names it is asked about.
func pacSetting(source, rawURL string) (*connector.OutboundProxy, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	script, err := pac.NewScript(pac.Options{
		URL: rawURL,
		Command: func() *exec.Cmd {
			cmd := exec.Command(exe, pacCommand)
			cmd.Env = []string{}
			return cmd
		},
	})
	if err != nil {
		return nil, &pacURLError{source: source, err: err}
	}
	return connector.NewOutboundScript(source, script), nil
}

// systemOutbound: outside Windows the environment is the system's
// setting (HTTPS_PROXY), read before.
func systemOutbound(env *connector.OutboundProxy) (*connector.OutboundProxy, error) {
	return env, nil
}
