//go:build !windows

package platform

import (
	"errors"
	"runtime"
)

// winHTTPProxyFor: WinHTTP is Windows'; elsewhere internal/pac evaluates
// PAC scripts.
func winHTTPProxyFor(WinHTTPOptions, string) (uint32, string, error) {
	return 0, "", errors.New("WinHTTP does not exist on " + runtime.GOOS)
}
