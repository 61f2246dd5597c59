//go:build unix

package launcher

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// Unix like the launch tests whose world it uses (launch_test.go).

// TestLaunchListenPort runs whole launches with an administrator's profile
// whose emulator, like PCOMM with its .ws file, knows only the fixed port
// (the command has no {port}): the tunnel must listen there. With the port
// held by another program the launch stops at the listen step with the
// profile's one-line reason, and no emulator runs.
func TestLaunchListenPort(t *testing.T) {
	w := newWorld(t, "connect")
	port := freePort(t)
	admin := writeFile(t, testtmp.Dir(t), "profiles.toml", fmt.Sprintf("[profile.fixed]\ncommand = [%q, \"-test.run=^$\", \"%d\"]\nlisten_port = %d\n", os.Args[0], port, port))
	w.set("profile", "fixed")

	var out syncBuffer
	opts, audit := w.options(t, "fake", strings.NewReader(""), &out)
	opts.Profiles.AdminFile, opts.Profiles.checkAdmin = admin, acceptAdmin
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res := Launch(ctx, opts)
	if res.Err != nil || res.Step != StepLaunched || res.ExitStatus != 7 {
		t.Fatalf("Launch: step %s err %v status %d; emulator output %q", res.Step, res.Err, res.ExitStatus, out.String())
	}
	if !strings.Contains(out.String(), `reply="PING\n"`) {
		t.Errorf("emulator output %q", out.String())
	}

	busy, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	out = syncBuffer{}
	res = Launch(ctx, opts)
	want := fmt.Sprintf(`profile "fixed": local port %d (listen_port, %s:3) is in use by another program`, port, admin)
	if res.Step != StepListen || res.Err == nil || !strings.HasPrefix(res.Err.Error(), want) {
		t.Fatalf("Launch with the port taken: step %s err %v, want step %s and %q", res.Step, res.Err, StepListen, want)
	}
	if out.String() != "" {
		t.Errorf("an emulator ran: %q", out.String())
	}
	recs, err := audit.ReadRecent(1)
	if err != nil || len(recs) != 1 || recs[0].Decision != "failed" || recs[0].Step != StepListen || !strings.Contains(recs[0].Error, want) {
		t.Errorf("audit: %+v %v", recs, err)
	}
}

// TestLaunchIgnoresUnsafeUserProfiles runs the launch of the finding: the
// user's profiles.toml defines the descriptor's profile, but others can
// write it. The launch warns, naming the file and the fix, and stops at the
// profile step as for a profile that is not defined; the file's command
// never runs. With the fix applied the same launch runs it.
func TestLaunchIgnoresUnsafeUserProfiles(t *testing.T) {
	w := newWorld(t, "connect")
	if err := os.Chmod(w.profiles, 0o606); err != nil {
		t.Fatal(err)
	}
	var out, logs syncBuffer
	opts, _ := w.options(t, "fake", strings.NewReader(""), &out)
	opts.Logf = func(format string, args ...any) { fmt.Fprintf(&logs, format+"\n", args...) }
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res := Launch(ctx, opts)
	if res.Step != StepProfile || res.Err == nil || !strings.Contains(res.Err.Error(), `unknown profile "fake"`) {
		t.Fatalf("Launch: step %s err %v, want step %s and an unknown profile", res.Step, res.Err, StepProfile)
	}
	if out.String() != "" {
		t.Errorf("the ignored file's emulator ran: %q", out.String())
	}
	want := "ignoring your profiles file, so only the built-in and the administrator's profiles can be used: " + w.profiles + ": writable by others; fix: chmod go-w " + w.profiles
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log %q lacks %q", logs.String(), want)
	}

	if err := os.Chmod(w.profiles, 0o600); err != nil {
		t.Fatal(err)
	}
	out = syncBuffer{}
	if res := Launch(ctx, opts); res.Err != nil || res.ExitStatus != 7 {
		t.Fatalf("Launch after chmod go-w: step %s err %v status %d", res.Step, res.Err, res.ExitStatus)
	}
}
