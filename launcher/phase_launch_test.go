//go:build unix

package launcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/phase"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/policy"
)

// TestEachStepFailureShown makes each step of a launch fail in turn and
// checks the one failure path: the status screen gets exactly one failed
// phase, the launch's own, never after an [ok] for it; the result and the
// audit record name the same step; and no emulator runs. The connector's
// configuration and the local end once failed without any line on the
// status screen, each step's failure having been reported by hand.
//
// It also checks that every problem found on this machine (a taken
// listen_port, an emulator that is not installed, no terminal window to run
// it in) is found before the proxy sees a connection: the token is for one
// use, and the user could fix those and click again. Only the "proxy" case
// reaches the proxy; the missing emulator once came after "token accepted".
func TestEachStepFailureShown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *world, opts *Options)
		phase phase.Phase
		step  string
	}{
		{"policy unusable", func(t *testing.T, w *world, opts *Options) {
			opts.Policy = policy.Source{Path: "policy.toml", Err: errors.New("policy.toml: others can write it")}
		}, phase.Policy, policy.Step},
		{"descriptor", func(t *testing.T, w *world, opts *Options) {
			w.set("version", 99)
		}, phase.Descriptor, descriptor.StepValidate},
		{"policy refuses", func(t *testing.T, w *world, opts *Options) {
			opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, "[[proxies]]\naddress = \"proxy.example.com:8443\"\n")}
		}, phase.Policy, policy.Step},
		{"outbound proxy from the environment", func(t *testing.T, w *world, opts *Options) {
			// With no Options.Outbound the launch reads HTTPS_PROXY itself;
			// a setting it cannot use is the outbound proxy's step, as in
			// trustlaunch open, not the fetch's.
			opts.Outbound = nil
			t.Setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
		}, phase.Descriptor, string(connector.StepOutbound)},
		{"profile", func(t *testing.T, w *world, opts *Options) {
			w.set("profile", "undefined")
		}, phase.Emulator, StepProfile},
		{"connector", func(t *testing.T, w *world, opts *Options) {
			opts.Connector = func(c *connector.Config) { c.Transport = "carrier-pigeon" }
		}, phase.Proxy, descriptor.StepValidate},
		{"proxy", func(t *testing.T, w *world, opts *Options) {
			w.proxy.Status = 403
		}, phase.Proxy, string(connector.StepProxyPolicy)},
		{"listen", func(t *testing.T, w *world, opts *Options) {
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { busy.Close() })
			port := busy.Addr().(*net.TCPAddr).Port
			admin := writeFile(t, testtmp.Dir(t), "profiles.toml", fmt.Sprintf("[profile.fixed]\ncommand = [%q, \"-test.run=^$\", \"%d\"]\nlisten_port = %d\n", os.Args[0], port, port))
			opts.Profiles.AdminFile, opts.Profiles.checkAdmin = admin, acceptAdmin
			w.set("profile", "fixed")
		}, phase.Proxy, StepListen},
		{"emulator", func(t *testing.T, w *world, opts *Options) {
			opts.Profiles.UserFile = writeFile(t, testtmp.Dir(t), "profiles.toml", "[profile.gone]\ncommand = [\"/nonexistent-trustlaunch-test/c3270\", \"{port}\"]\n")
			w.set("profile", "gone")
		}, phase.Emulator, StepEmulator},
		{"terminal", func(t *testing.T, w *world, opts *Options) {
			opts.Profiles.UserFile = writeFile(t, testtmp.Dir(t), "profiles.toml", fmt.Sprintf("[profile.tty]\ncommand = [%q, \"{port}\"]\nterminal = true\n", os.Args[0]))
			w.set("profile", "tty")
		}, phase.Emulator, StepEmulator},
		{"no terminal program", func(t *testing.T, w *world, opts *Options) {
			opts.Profiles.UserFile = writeFile(t, testtmp.Dir(t), "profiles.toml", fmt.Sprintf("[profile.tty]\ncommand = [%q, \"{port}\"]\nterminal = true\n", os.Args[0]))
			w.set("profile", "tty")
			opts.Window = &TerminalWindow{
				Recorder: []string{os.Args[0], recorderArg},
				Terminal: func() ([]string, bool, error) {
					return nil, false, errors.New("no terminal emulator found: install xterm")
				},
			}
		}, phase.Emulator, StepEmulator},
		{"proxy after a window was prepared", func(t *testing.T, w *world, opts *Options) {
			opts.Profiles.UserFile = writeFile(t, testtmp.Dir(t), "profiles.toml", fmt.Sprintf("[profile.tty]\ncommand = [%q, \"{port}\"]\nterminal = true\n", os.Args[0]))
			w.set("profile", "tty")
			opts.Window = &TerminalWindow{
				Recorder: []string{os.Args[0], recorderArg},
				Terminal: func() ([]string, bool, error) { return []string{"/bin/false"}, false, nil },
			}
			w.proxy.Status = 403
		}, phase.Proxy, string(connector.StepProxyPolicy)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "connect")
			var out syncBuffer
			opts, audit := w.options(t, "fake", strings.NewReader(""), &out)
			tc.setup(t, w, &opts)
			var mu sync.Mutex
			var events []Event
			opts.Status = func(e Event) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
			}
			var told []*Result
			opts.Tell = func(_ context.Context, r *Result) string {
				told = append(told, r)
				return "window"
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			res := Launch(ctx, opts)
			if len(told) != 1 || told[0] != res {
				t.Errorf("Tell called %d times, want once with the result", len(told))
			}
			if res.Err == nil || res.Phase != tc.phase || res.Step != tc.step {
				t.Fatalf("Launch: phase %q step %q err %v, want phase %q step %q", res.Phase, res.Step, res.Err, tc.phase, tc.step)
			}
			mu.Lock()
			defer mu.Unlock()
			var failedPhases []phase.Phase
			for _, e := range events {
				switch e.State {
				case phase.Failed:
					failedPhases = append(failedPhases, e.Phase)
					if e.Err != res.Err {
						t.Errorf("failed event's error %v, want the result's %v", e.Err, res.Err)
					}
				case phase.Done:
					if e.Phase == tc.phase {
						t.Errorf("[ok] %s shown before it failed: %+v", e.Phase, e)
					}
				}
			}
			if len(failedPhases) != 1 || failedPhases[0] != tc.phase || events[len(events)-1].State != phase.Failed {
				t.Errorf("status screen events %+v: want one failed %s, last", events, tc.phase)
			}
			if out.String() != "" {
				t.Errorf("an emulator ran: %q", out.String())
			}
			reached := tc.phase == phase.Proxy && tc.step != StepListen && tc.name != "connector"
			if n := w.accepts.n.Load(); (n > 0) != reached {
				t.Errorf("the proxy accepted %d connections; want some: %v", n, reached)
			}
			recs, err := audit.ReadRecent(1)
			wantDecision := "failed" // the admin policy's refusals are refusals, recorded as such
			if tc.step == policy.Step {
				wantDecision = "refused-policy"
			}
			if err != nil || len(recs) != 1 || string(recs[0].Decision) != wantDecision || recs[0].Step != tc.step || recs[0].Told != "window" {
				t.Errorf("audit: %+v %v", recs, err)
			}
		})
	}
}

// TestLaunchPhasesInOrder: a launch that works shows each phase under way
// and then done, in launch order, the policy's only when there is one.
func TestLaunchPhasesInOrder(t *testing.T) {
	for _, withPolicy := range []bool{false, true} {
		w := newWorld(t, "connect")
		opts, _ := w.options(t, "fake", strings.NewReader(""), &syncBuffer{})
		want := "whitelist:done descriptor:running descriptor:done proxy:running proxy:done emulator:done"
		if withPolicy {
			opts.Policy = policy.Source{Path: filepath.Join(testtmp.Dir(t), "policy.toml"), Policy: mustPolicy(t, fmt.Sprintf("[[proxies]]\naddress = %q\n", w.proxy.Addr))}
			want = strings.Replace(want, "descriptor:done", "descriptor:done policy:running policy:done", 1)
		}
		var got []string
		opts.Status = func(e Event) { got = append(got, fmt.Sprintf("%s:%s", e.Phase, e.State)) }
		opts.Tell = func(context.Context, *Result) string {
			t.Error("Tell called for a launch that went ahead")
			return ""
		}
		if res := Launch(t.Context(), opts); res.Err != nil || res.Phase != phase.Emulator || res.Step != StepLaunched {
			t.Fatalf("Launch: %+v", res)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("policy %v: events\n %s\nwant\n %s", withPolicy, strings.Join(got, " "), want)
		}
	}
}
