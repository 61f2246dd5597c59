package platform

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	modWinHTTP             = windows.NewLazySystemDLL("winhttp.dll")
	procWinHTTPOpen        = modWinHTTP.NewProc("WinHttpOpen")
	procWinHTTPClose       = modWinHTTP.NewProc("WinHttpCloseHandle")
	procWinHTTPSetTimeouts = modWinHTTP.NewProc("WinHttpSetTimeouts")
	procWinHTTPGetProxy    = modWinHTTP.NewProc("WinHttpGetProxyForUrl")
	procGlobalFree         = windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalFree")
)

// winHTTPAutoProxyOptions is WINHTTP_AUTOPROXY_OPTIONS.
type winHTTPAutoProxyOptions struct {
	flags            uint32
	autoDetectFlags  uint32
	autoConfigURL    *uint16
	reserved         uintptr
	reserved2        uint32
	autoLogonIfChall int32
}

// winHTTPProxyInfo is WINHTTP_PROXY_INFO; its strings are WinHTTP's to
// allocate and ours to GlobalFree.
type winHTTPProxyInfo struct {
	accessType uint32
	proxy      *uint16
	bypass     *uint16
}

const (
	winHTTPAutoProxyAutoDetect = 0x1
	winHTTPAutoProxyConfigURL  = 0x2
	winHTTPAutoDetectDHCP      = 0x1
	winHTTPAutoDetectDNSA      = 0x2
)

// winHTTPProxyFor is WinHttpGetProxyForUrl for target with o's script or
// auto-detection, in a session that itself uses no proxy to fetch the
// script, with WinHTTP's own timeouts at o.Timeout (the caller bounds the
// whole call: WinHTTP has no timeout for the script's run).
func winHTTPProxyFor(o WinHTTPOptions, target string) (uint32, string, error) {
	agent, _ := windows.UTF16PtrFromString("trustlaunch")
	h, _, err := procWinHTTPOpen.Call(uintptr(unsafe.Pointer(agent)), winHTTPAccessNoProxy, 0, 0, 0)
	if h == 0 {
		return 0, "", fmt.Errorf("WinHttpOpen: %w", err)
	}
	defer procWinHTTPClose.Call(h)
	ms := uintptr(o.Timeout.Milliseconds())
	procWinHTTPSetTimeouts.Call(h, ms, ms, ms, ms)

	var ao winHTTPAutoProxyOptions
	if o.AutoDetect {
		ao.flags |= winHTTPAutoProxyAutoDetect
		ao.autoDetectFlags = winHTTPAutoDetectDHCP | winHTTPAutoDetectDNSA
	}
	if o.URL != "" {
		u, err := windows.UTF16PtrFromString(o.URL)
		if err != nil {
			return 0, "", fmt.Errorf("PAC URL %s: %w", PACShown(o.URL), err)
		}
		ao.flags |= winHTTPAutoProxyConfigURL
		ao.autoConfigURL = u
	}
	// The script's server may ask for the user's own login (Negotiate,
	// NTLM), as a company's often does; WinHTTP answers with it only for
	// the script's URL an administrator set (AutoConfigURL), never when
	// auto-detection is on: whoever answers DHCP or DNS for "wpad" on the
	// LAN would otherwise get the user's NTLM response.
	if !o.AutoDetect {
		ao.autoLogonIfChall = 1
	}
	t, err := windows.UTF16PtrFromString(target)
	if err != nil {
		return 0, "", err
	}
	var info winHTTPProxyInfo
	r, _, callErr := procWinHTTPGetProxy.Call(h, uintptr(unsafe.Pointer(t)), uintptr(unsafe.Pointer(&ao)), uintptr(unsafe.Pointer(&info)))
	runtime.KeepAlive(ao.autoConfigURL)
	runtime.KeepAlive(t)
	if r == 0 {
		return 0, "", winHTTPError(callErr)
	}
	defer func() {
		for _, p := range []*uint16{info.proxy, info.bypass} {
			if p != nil {
				procGlobalFree.Call(uintptr(unsafe.Pointer(p)))
			}
		}
	}()
	return info.accessType, windows.UTF16PtrToString(info.proxy), nil
}

// winHTTPError words WinHTTP's errors of proxy resolution.
func winHTTPError(err error) error {
	var e windows.Errno
	errors.As(err, &e)
	switch e {
	case 12167: // ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT
		return fmt.Errorf("WinHTTP could not download the PAC script (error %d)", uint32(e))
	case 12166: // ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT
		return fmt.Errorf("WinHTTP could not run the PAC script (error %d)", uint32(e))
	case 12180: // ERROR_WINHTTP_AUTODETECTION_FAILED
		return fmt.Errorf("WinHTTP found no PAC script by auto-detection (WPAD, error %d)", uint32(e))
	case 12002: // ERROR_WINHTTP_TIMEOUT
		return fmt.Errorf("WinHTTP timed out resolving the proxy (error %d)", uint32(e))
	}
	return fmt.Errorf("WinHttpGetProxyForUrl: %w", err)
}
