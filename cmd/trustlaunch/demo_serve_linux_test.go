//go:build linux

// Linux only: the links are opened as a Linux desktop opens them, through
// xdg-open and the demo's desktop entry in a temporary XDG home.

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/demo"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// demoLinkRE matches a link demo --serve prints.
var demoLinkRE = regexp.MustCompile(`trustlaunch-demo://launch\?url=\S+`)

// xdgHome is a temporary XDG home in which the demo registers its handler
// and xdg-open looks for it.
type xdgHome struct {
	dir, data, config, runtime string
}

func newXDGHome(t *testing.T, config string) xdgHome {
	t.Helper()
	dir := testtmp.Dir(t)
	h := xdgHome{dir: dir, data: filepath.Join(dir, "data"), config: config, runtime: filepath.Join(dir, "run")}
	if err := os.Mkdir(h.runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	return h
}

// env is the demo's and the handler's environment in the home.
func (h xdgHome) env() []string {
	return []string{"HOME=" + h.dir, "XDG_DATA_HOME=" + h.data, "XDG_CONFIG_HOME=" + h.config, "XDG_RUNTIME_DIR=" + h.runtime}
}

// xdgOpen opens link as a browser on a Linux desktop does, and returns
// xdg-open's output and error. DISPLAY is set because xdg-open's generic
// mode looks for scheme handlers only with one; nothing draws on it.
func (h xdgHome) xdgOpen(t *testing.T, link string, path string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdg-open", link)
	cmd.Env = append(h.env(), "PATH="+path, "DISPLAY=:0", "XDG_STATE_HOME="+filepath.Join(h.dir, "state"))
	// A new session without a terminal, as a browser's child has.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// registered reports what the home holds of the demo's registration, and
// fails the test if it holds anything of trustlaunch://'s.
func (h xdgHome) registered(t *testing.T) (entry, dflt bool) {
	t.Helper()
	_, err := os.Stat(filepath.Join(h.data, "applications", "trustlaunch-demo.desktop"))
	entry = err == nil
	if _, err := os.Stat(filepath.Join(h.data, "applications", "trustlaunch.desktop")); err == nil {
		t.Error("the demo registered a trustlaunch:// handler")
	}
	list, _ := os.ReadFile(filepath.Join(h.config, "mimeapps.list"))
	if strings.Contains(string(list), "x-scheme-handler/trustlaunch=") {
		t.Errorf("the demo changed the trustlaunch:// default:\n%s", list)
	}
	return entry, strings.Contains(string(list), "x-scheme-handler/trustlaunch-demo=trustlaunch-demo.desktop")
}

// TestDemoServeLinkInTmux: demo --serve in a real terminal with c3270
// prints a trustlaunch-demo:// link; opened through xdg-open, the link
// reaches the demo's portal and proxy, and c3270 runs in the demo's
// terminal. A forged or used link launches nothing; after Ctrl-C the
// registration is gone and the link opens nothing.
func TestDemoServeLinkInTmux(t *testing.T) {
	for _, tool := range []string{"c3270", "xdg-open", "xdg-mime"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (Debian packages c3270, xdg-utils; ./test.sh installs them): %v", tool, err)
		}
	}
	bin := buildBinary(t)
	h := newXDGHome(t, filepath.Join(testtmp.Dir(t), "config"))
	// The XDG_CONFIG_HOME of env comes after startTerm's own, and wins.
	tm := startTerm(t, append(h.env(), "NO_COLOR=1", "TERM=xterm-256color"),
		bin, "demo", "--serve", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt")
	screen := tm.waitFor("the link", 30*time.Second, func(s string) bool { return demoLinkRE.MatchString(s) })
	link := demoLinkRE.FindString(screen)
	if entry, dflt := h.registered(t); !entry || !dflt {
		t.Fatalf("registration while serving: desktop entry %v, default %v", entry, dflt)
	}
	path := os.Getenv("PATH")

	// A page that fires another demo link (a ticket of its own) is refused,
	// and the demo goes on waiting for its own.
	forged := strings.Replace(link, "ticket%3Ddemo-ticket-", "ticket%3Ddemo-ticket-0", 1)
	if out, err := h.xdgOpen(t, forged, path); err == nil || !strings.Contains(out, "not the link the running trustlaunch demo printed") {
		t.Errorf("xdg-open of a forged link: %v\n%s", err, out)
	}

	if out, err := h.xdgOpen(t, link, path); err != nil {
		t.Fatalf("xdg-open of the link: %v\n%s", err, out)
	}
	tm.waitFor("the trust prompt", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "Do you want to download") && strings.Contains(s, "Enter choose")
	})
	tm.keys("y")
	tm.waitFor("the 3270 screen", 30*time.Second, func(s string) bool {
		return strings.Contains(s, demo.Title) && strings.Contains(s, "Type here ===>")
	})
	tm.keys("-l", "from a link")
	tm.keys("Enter")
	want := demo.Answer("from a link")
	tm.waitFor("the host's answer", 20*time.Second, func(s string) bool { return strings.Contains(s, want) })
	tm.keys("F3")
	var next string
	tm.waitFor("a new link", 30*time.Second, func(string) bool {
		links := demoLinkRE.FindAllString(tm.history(), -1)
		next = links[len(links)-1]
		return next != link
	})
	hist := tm.history()
	for _, want := range []string{
		"portal  took the link's single-use ticket",
		"proxy   accepted the session token: 1 tunnel to the host",
		`"descriptor_url": "https://127.0.0.1:`,
	} {
		if !strings.Contains(hist, want) {
			t.Errorf("the demo did not show %q:\n%s", want, hist)
		}
	}
	if demoToken.MatchString(hist) {
		t.Errorf("the screen shows the session token:\n%s", hist)
	}

	// The link was used: opened again, it launches nothing.
	if out, err := h.xdgOpen(t, link, path); err == nil {
		t.Errorf("xdg-open of the used link succeeded:\n%s", out)
	}

	// Ctrl-C as the user's shell delivers it: to the demo. (A Ctrl-C
	// typed in the pane would also end startTerm's sh, and the pane.)
	if err := syscall.Kill(tm.commandPID(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if got := tm.exitStatus(20 * time.Second); got != exitInterrupted {
		t.Fatalf("demo exited %d after Ctrl-C, want %d; screen:\n%s", got, exitInterrupted, tm.screen())
	}
	if entry, dflt := h.registered(t); entry || dflt {
		t.Errorf("registration after exit: desktop entry %v, default %v", entry, dflt)
	}
	if _, err := os.Stat(filepath.Join(h.runtime, "trustlaunch", "demo.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo's socket is still there: %v", err)
	}
	if out, err := h.xdgOpen(t, next, path); err == nil || !strings.Contains(out, "no method available") {
		t.Errorf("after exit, xdg-open of the last link: %v\n%s", err, out)
	}
}

// TestDemoServeEnds: whatever ends demo --serve, its link launches nothing
// afterwards. SIGTERM: the demo removes its registration. SIGKILL: the
// registration survives, but the handler it names finds no demo, tells the
// user once, launches nothing and removes the registration; the next
// click finds no handler at all.
func TestDemoServeEnds(t *testing.T) {
	if _, err := exec.LookPath("xdg-open"); err != nil {
		t.Fatalf("xdg-open is required (Debian package xdg-utils; ./test.sh installs it): %v", err)
	}
	bin := buildShared(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			h := newXDGHome(t, filepath.Join(testtmp.Dir(t), "config"))
			cmd := exec.Command(bin, "demo", "--serve", "--yes", "--raw", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt")
			cmd.Env = append(h.env(), "PATH="+os.Getenv("PATH"), "XDG_STATE_HOME="+filepath.Join(h.dir, "state"), "NO_COLOR=1")
			stdin, err := cmd.StdinPipe() // held open: the demo waits for links, not for input
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var waited bool
			defer func() {
				if !waited {
					cmd.Process.Kill()
					cmd.Wait()
				}
			}()
			found := make(chan string, 1)
			var out bytes.Buffer
			go func() {
				sc := bufio.NewScanner(io.TeeReader(stderr, &out))
				for sc.Scan() {
					if l := demoLinkRE.FindString(sc.Text()); l != "" {
						found <- l
						break
					}
				}
				io.Copy(io.Discard, stderr)
			}()
			var link string
			select {
			case link = <-found:
			case <-time.After(30 * time.Second):
				t.Fatal("demo --serve printed no link in 30 s")
			}
			if entry, dflt := h.registered(t); !entry || !dflt {
				t.Fatalf("registration while serving: desktop entry %v, default %v", entry, dflt)
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			waited = true
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("demo: %v, want an exit by the signal", err)
			}
			entry, _ := h.registered(t)
			if sig == syscall.SIGTERM && entry {
				t.Errorf("after SIGTERM the desktop entry is still there")
			}
			if sig == syscall.SIGKILL && !entry {
				t.Fatalf("after SIGKILL the desktop entry is gone: the test no longer covers a crash")
			}

			// The handler runs as a browser starts it, with a notify-send
			// that records what the user is told.
			fakeBin := testtmp.Dir(t)
			notified := filepath.Join(h.dir, "notified")
			script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + notified + "'\n"
			if err := os.WriteFile(filepath.Join(fakeBin, "notify-send"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			path := fakeBin + ":" + os.Getenv("PATH")
			got, err := h.xdgOpen(t, link, path)
			if err == nil {
				t.Errorf("xdg-open of the link after the demo ended succeeded:\n%s", got)
			}
			note, _ := os.ReadFile(notified)
			if sig == syscall.SIGKILL {
				if !strings.Contains(got, "no trustlaunch demo --serve is running, so nothing was launched") {
					t.Errorf("the handler did not say why:\n%s", got)
				}
				if n := strings.Count(string(note), "\n"); n != 1 || !strings.Contains(string(note), "nothing was launched") {
					t.Errorf("notifications: %q, want one", note)
				}
			} else if len(note) != 0 {
				t.Errorf("a handler ran after the demo removed it: %q", note)
			}
			if entry, dflt := h.registered(t); entry || dflt {
				t.Errorf("registration after the click: desktop entry %v, default %v", entry, dflt)
			}
			// The next click finds no handler at all.
			if got, err := h.xdgOpen(t, link, path); err == nil || !strings.Contains(got, "no method available") {
				t.Errorf("second xdg-open: %v\n%s", err, got)
			}
			if demoToken.MatchString(out.String()) {
				t.Errorf("the demo printed its token")
			}
		})
	}
}

// commandPID returns the pid of the command startTerm runs: the one child
// of the pane's shell.
func (tm *term) commandPID() int {
	tm.t.Helper()
	out, err := exec.Command("tmux", "-S", tm.socket, "display-message", "-p", "#{pane_pid}").Output()
	if err != nil {
		tm.t.Fatalf("tmux display-message: %v", err)
	}
	sh := strings.TrimSpace(string(out))
	children, err := os.ReadFile("/proc/" + sh + "/task/" + sh + "/children")
	if err != nil {
		tm.t.Fatal(err)
	}
	f := strings.Fields(string(children))
	if len(f) != 1 {
		tm.t.Fatalf("the pane's shell %s has children %q, want one", sh, f)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		tm.t.Fatal(err)
	}
	return pid
}
