package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// DefaultWinHTTPTimeout bounds one WinHTTP proxy resolution: the script's
// download, WPAD's discovery and the script's run.
const DefaultWinHTTPTimeout = 5 * time.Second

// WinHTTPOptions configures NewWinHTTPScript.
type WinHTTPOptions struct {
	// URL is the PAC script's URL (AutoConfigURL, or the admin's); "" with
	// AutoDetect alone.
	URL string
	// AutoDetect asks WinHTTP to find the script itself (WPAD, through
	// DHCP and DNS), before URL when both are set.
	AutoDetect bool
	// Fallback is the proxy list to use when WinHTTP finds no answer
	// (auto-detection found no script): the manual proxy the user also
	// set, "PROXY HOST:PORT"; "" lets the failure through (the connector
	// then goes direct).
	Fallback string
	// Timeout bounds each resolution; DefaultWinHTTPTimeout when zero.
	Timeout time.Duration

	// resolve replaces WinHTTP in tests: the access type and proxy string
	// WinHttpGetProxyForUrl would give for target.
	resolve func(o WinHTTPOptions, target string) (access uint32, proxy string, err error)
}

// WinHTTP's access types in WINHTTP_PROXY_INFO.
const (
	winHTTPAccessNoProxy    = 1
	winHTTPAccessNamedProxy = 3
)

// WinHTTPScript is a PAC script (or WPAD) evaluated by Windows' own
// WinHTTP, as the browsers' proxy resolution does on Windows: for a
// connection over TLS to host:port, FindProxy returns WinHTTP's answer as a
// proxy list ("PROXY a:3128; PROXY b:3128" or "DIRECT"). WinHTTP gives no
// way to stop a script that loops, so trustlaunch bounds the call itself:
// past Timeout the call is abandoned (it ends when WinHTTP gives up, in a
// thread of its own), and every later query of the launch fails at once
// with the same error. It is safe for concurrent use.
type WinHTTPScript struct {
	opts WinHTTPOptions

	mu     sync.Mutex
	failed error // sticky: a call that did not return in time
}

// NewWinHTTPScript returns the WinHTTPScript for o.
func NewWinHTTPScript(o WinHTTPOptions) *WinHTTPScript {
	if o.Timeout <= 0 {
		o.Timeout = DefaultWinHTTPTimeout
	}
	if o.resolve == nil {
		o.resolve = winHTTPProxyFor
	}
	return &WinHTTPScript{opts: o}
}

// String names the script: "PAC http://wpad.corp/wpad.dat (WinHTTP)",
// "WPAD (WinHTTP auto-detect)".
func (s *WinHTTPScript) String() string {
	switch {
	case s.opts.URL != "" && s.opts.AutoDetect:
		return "WPAD (WinHTTP auto-detect), then PAC " + PACShown(s.opts.URL)
	case s.opts.AutoDetect:
		return "WPAD (WinHTTP auto-detect)"
	}
	return "PAC " + PACShown(s.opts.URL) + " (WinHTTP)"
}

// FindProxy asks WinHTTP for https://host:port/, within the timeout.
func (s *WinHTTPScript) FindProxy(ctx context.Context, host, port string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return "", s.failed
	}
	target := "https://" + net.JoinHostPort(host, port) + "/"
	type answer struct {
		access uint32
		proxy  string
		err    error
	}
	done := make(chan answer, 1) // the abandoned call's answer goes nowhere
	go func() {
		a, p, err := s.opts.resolve(s.opts, target)
		done <- answer{a, p, err}
	}()
	t := time.NewTimer(s.opts.Timeout)
	defer t.Stop()
	select {
	case a := <-done:
		if a.err != nil {
			if s.opts.Fallback != "" {
				return s.opts.Fallback, nil
			}
			return "", a.err
		}
		return WinHTTPProxyList(a.access, a.proxy)
	case <-t.C:
		s.failed = fmt.Errorf("WinHTTP did not answer within %v (the script may loop); abandoned", s.opts.Timeout)
		return "", s.failed
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// WinHTTPProxyList turns WinHTTP's answer into a proxy list in PAC
// syntax: no proxy is "DIRECT"; a named proxy string, entries separated
// by ";" or white space, each "[SCHEME=][http://]HOST[:PORT]", becomes
// "PROXY HOST:PORT; ..." with the entries for https (no scheme, or
// http= and https= ones: the CONNECT is made over http either way). It is
// pure, for tests with the answers WinHTTP gives.
func WinHTTPProxyList(access uint32, proxy string) (string, error) {
	switch access {
	case winHTTPAccessNoProxy:
		return "DIRECT", nil
	case winHTTPAccessNamedProxy:
	default:
		return "", fmt.Errorf("WinHTTP answered with access type %d, which trustlaunch does not know", access)
	}
	var out []string
	for _, e := range strings.FieldsFunc(proxy, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
		if k, v, ok := strings.Cut(e, "="); ok {
			if !strings.EqualFold(k, "https") && !strings.EqualFold(k, "http") {
				continue
			}
			e = v
		}
		e = strings.TrimPrefix(strings.TrimPrefix(e, "http://"), "HTTP://")
		if e != "" {
			out = append(out, "PROXY "+e)
		}
	}
	if len(out) == 0 {
		return "", errors.New("WinHTTP named no proxy trustlaunch can use")
	}
	return strings.Join(out, "; "), nil
}
