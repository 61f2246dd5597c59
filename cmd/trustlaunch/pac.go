package main

import (
	"context"
	"strings"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/pac"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
)

// pacCommand is the hidden subcommand of the PAC evaluator's child
// process (pac.ServeChild): this binary, run by the launch that needs a
// PAC script's answer, with the script and the queries on its standard
// input.
const pacCommand = "__pac"

// pacPrefix marks a PAC script's URL in --outbound-proxy:
// pac+http://wpad.corp/wpad.dat.
const pacPrefix = "pac+"

// sourcePolicyPAC names the admin policy's outbound_pac in messages.
const sourcePolicyPAC = "the admin policy's outbound_pac"

// cmdPAC runs the PAC evaluator child. Nobody types it: its standard
// input is a launch's, speaking pac.ServeChild's protocol.
func cmdPAC(_ context.Context, s *stdio, args []string) int {
	if len(args) != 0 {
		s.errorf("%s takes no arguments", pacCommand)
		return exitUsage
	}
	if err := pac.ServeChild(s.stdin, s.stdout); err != nil {
		s.errorf("%s: %v", pacCommand, err)
		return exitFailure
	}
	return exitOK
}

// outboundProxy returns the one outbound-proxy setting of a run, before
// credentials from a file (outboundSetting), from the first of:
// --outbound-proxy ("none": direct; a proxy URL; a list "PROXY a:3128;
// DIRECT"; a PAC script pac+URL), HTTPS_PROXY/NO_PROXY, the admin
// policy's outbound_pac (policyPath, or the machine's policy when ""),
// and on Windows the user's system proxy (Internet Settings, its PAC
// script and auto-detection through WinHTTP).
func outboundProxy(s *stdio, flag, policyPath string) (*connector.OutboundProxy, error) {
	switch {
	case flag == "none":
		return connector.DirectOutbound(connector.SourceFlag), nil
	case strings.HasPrefix(flag, pacPrefix):
		raw := strings.TrimPrefix(flag, pacPrefix)
		if err := policy.CheckPACURL(raw); err != nil {
			return nil, &pacURLError{source: connector.SourceFlag, err: err}
		}
		return pacSetting(connector.SourceFlag, raw)
	case connector.IsList(flag):
		return connector.NewOutboundList(connector.SourceFlag, flag, "")
	case flag != "":
		return connector.NewOutboundProxy(connector.SourceFlag, flag, "")
	}
	env, err := connector.OutboundFromEnvironment(s.getenv)
	if err != nil || env.ProxyFor("trustlaunch.invalid:443") != nil {
		return env, err
	}
	if policyPath == "" {
		policyPath = platform.AdminPolicyPath()
	}
	// A policy that cannot be used stops the launch at its own step,
	// before any connection; here it only has no PAC to give.
	if src := policy.Load(policyPath); src.Err == nil && src.Policy != nil && src.Policy.OutboundPAC != "" {
		return pacSetting(sourcePolicyPAC, src.Policy.OutboundPAC)
	}
	return systemOutbound(env)
}

// pacURLError is a PAC URL that cannot be used; it quotes none of the
// URL, which may carry a key.
type pacURLError struct {
	source string
	err    error
}

func (e *pacURLError) Error() string { return e.source + ": PAC script URL: " + e.err.Error() }
