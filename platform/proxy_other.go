//go:build !windows

package platform

// systemProxy: outside Windows the proxy setting is the environment's
// (HTTPS_PROXY), which the caller reads.
func systemProxy() (WindowsProxy, bool, error) { return WindowsProxy{}, false, nil }
