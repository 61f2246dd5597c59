//go:build wineprefix

package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/registry"
)

// TestWinHTTPWine runs the PAC path of Windows through Wine's WinHTTP: the
// AutoConfigURL written in HKCU (of the test's throwaway prefix) is read
// back by SystemProxy, and WinHTTP runs the script it names, served over
// http on loopback, with PAC functions in it. Wine 8 returns the first
// proxy of the list only (real Windows returns all of them: README's list
// of what only real Windows shows). A script that loops is abandoned at
// trustlaunch's own bound.
func TestWinHTTPWine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		switch r.URL.Path {
		case "/wpad.dat":
			fmt.Fprint(w, `function FindProxyForURL(url, host) {
				if (isPlainHostName(host) || shExpMatch(host, "*.direct.test")) return "DIRECT";
				if (isInNet(dnsResolve("127.0.0.1"), "127.0.0.0", "255.0.0.0")) return "PROXY a.corp:3128; PROXY b.corp:3128; DIRECT";
				return "PROXY wrong.corp:1";
			}`)
		case "/loop.pac":
			fmt.Fprint(w, `function FindProxyForURL(url, host) { for (;;) {} }`)
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	k, _, err := registry.CreateKey(registry.CURRENT_USER, internetSettings, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	old, _, oldErr := k.GetStringValue("AutoConfigURL")
	defer func() {
		if errors.Is(oldErr, registry.ErrNotExist) {
			k.DeleteValue("AutoConfigURL")
		} else {
			k.SetStringValue("AutoConfigURL", old)
		}
	}()
	if err := k.SetStringValue("AutoConfigURL", base+"/wpad.dat"); err != nil {
		t.Fatal(err)
	}
	p, ok, err := SystemProxy()
	if err != nil || !ok || p.AutoConfigURL != base+"/wpad.dat" {
		t.Fatalf("SystemProxy = %+v, %v, %v", p, ok, err)
	}
	s := NewWinHTTPScript(WinHTTPOptions{URL: p.AutoConfigURL, Timeout: 20 * time.Second})
	got, err := s.FindProxy(t.Context(), "secproxy.test", "8443")
	if err != nil || !strings.HasPrefix(got, "PROXY a.corp:3128") {
		t.Fatalf("WinHTTP's answer %q, %v; want PROXY a.corp:3128 first", got, err)
	}
	t.Logf("WinHTTP answered %q (real Windows: the whole list)", got)
	if got, err := s.FindProxy(t.Context(), "x.direct.test", "443"); err != nil || got != "DIRECT" {
		t.Errorf("a DIRECT answer read as %q, %v", got, err)
	}

	// The looping script runs in a process of its own: Wine's WinHTTP
	// runs one script at a time, and the abandoned loop goes on until its
	// process ends, as it would in the launch that met it.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWinHTTPLoopChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), loopURLEnv+"="+base+"/loop.pac")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestWinHTTPLoopChild") {
		t.Fatalf("the looping script's process: %v\n%s", err, out)
	}
}

// loopURLEnv names the looping script for TestWinHTTPLoopChild.
const loopURLEnv = "TRUSTLAUNCH_TEST_WINHTTP_LOOP_URL"

// TestWinHTTPLoopChild is TestWinHTTPWine's child: WinHTTP is given a
// script that loops, and trustlaunch abandons the call at its bound. Run
// without loopURLEnv, it has nothing to do.
func TestWinHTTPLoopChild(t *testing.T) {
	u := os.Getenv(loopURLEnv)
	if u == "" {
		return
	}
	const bound = 3 * time.Second
	loop := NewWinHTTPScript(WinHTTPOptions{URL: u, Timeout: bound})
	start := time.Now()
	_, err := loop.FindProxy(t.Context(), "secproxy.test", "8443")
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "did not answer within 3s") || took > bound+2*time.Second {
		t.Fatalf("a looping script: %v after %v", err, took)
	}
	t.Logf("as expected: %v", err)
}
