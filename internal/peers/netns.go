//go:build linux

package peers

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsEnv marks the test binary that InNamespace started inside the
// namespaces: there the test runs; outside, it starts that binary.
const netnsEnv = "TRUSTLAUNCH_PEERS_NETNS"

// NamespaceOptions configures InNamespace.
type NamespaceOptions struct {
	// Hosts are the lines of the namespace's own /etc/hosts
	// ("127.0.0.1 proxy.corp.test"), after "127.0.0.1 localhost".
	Hosts []string
	// Timeout bounds the child test binary; 3 minutes when zero (a
	// benchmark's child gets 10).
	Timeout time.Duration
}

// InNamespace runs the calling top-level test or benchmark in a network
// namespace of its own (only a loopback interface, so fixed ports such as
// the KDC's 88 are free and nothing of the machine is reachable) and a
// mount namespace whose /etc/hosts holds opts.Hosts: the peers and the
// code under test resolve company names ("proxy.corp.test") as a company
// network does, through the system resolver, without touching the
// machine's /etc/hosts.
//
// Namespaces belong to a process, and a peer started with exec inherits
// its parent's, so the test binary runs itself again, with -test.run (or
// -test.bench) naming only the caller, in new namespaces (CLONE_NEWNET,
// CLONE_NEWNS; root only). In that child InNamespace sets up the
// loopback and /etc/hosts and returns true: the test goes on there. In
// the parent it returns false once the child has ended: the test's
// outcome is the child's (its output is logged; a benchmark's result
// lines go to standard output, and the parent benchmark is then marked
// skipped so that it reports no result of its own).
func InNamespace(tb testing.TB, opts NamespaceOptions) bool {
	tb.Helper()
	if os.Getenv(netnsEnv) == tb.Name() {
		enterNamespace(tb, opts)
		return true
	}
	if strings.Contains(tb.Name(), "/") {
		tb.Fatalf("InNamespace(%s): call it from a top-level test or benchmark, not a subtest", tb.Name())
	}
	if os.Geteuid() != 0 {
		tb.Fatalf("%s needs network and mount namespaces of its own: run it as root (test.sh does)", tb.Name())
	}
	b, isBench := tb.(*testing.B)
	pattern := "-test.run=^" + regexp.QuoteMeta(tb.Name()) + "$"
	args := []string{"-test.v", "-test.count=1"}
	timeout := opts.Timeout
	if isBench {
		args = []string{"-test.run=^$", "-test.bench=^" + regexp.QuoteMeta(tb.Name()) + "$"}
		for _, name := range []string{"test.benchtime", "test.count", "test.benchmem", "test.cpu"} {
			if f := flag.Lookup(name); f != nil {
				args = append(args, "-"+name+"="+f.Value.String())
			}
		}
		if timeout == 0 {
			timeout = 10 * time.Minute
		}
	} else {
		args = append(args, pattern)
	}
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if t, ok := tb.(*testing.T); ok {
		if d, ok := t.Deadline(); ok {
			var c2 context.CancelFunc
			ctx, c2 = context.WithDeadline(ctx, d.Add(-5*time.Second))
			defer c2()
		}
	}
	args = append(args, fmt.Sprintf("-test.timeout=%v", timeout))
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), netnsEnv+"="+tb.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if isBench {
		// Result lines as they come, for benchstat.
		cmd.Stdout = io.MultiWriter(&out, os.Stdout)
	}
	err := cmd.Run()
	text := out.String()
	switch {
	case ctx.Err() != nil:
		tb.Fatalf("%s in its namespace did not end within %v:\n%s", tb.Name(), timeout, text)
	case err != nil:
		tb.Fatalf("%s in its namespace: %v:\n%s", tb.Name(), err, text)
	case strings.Contains(text, "no tests to run"):
		tb.Fatalf("%s in its namespace ran nothing:\n%s", tb.Name(), text)
	}
	tb.Logf("ran in a network namespace of its own:\n%s", text)
	if isBench {
		b.SkipNow()
	}
	return false
}

// enterNamespace readies the namespaces InNamespace's child runs in.
func enterNamespace(tb testing.TB, opts NamespaceOptions) {
	tb.Helper()
	if err := checkIsolated(); err != nil {
		tb.Fatal(err)
	}
	ip := RequireBinary(tb, "ip")
	if out, err := exec.Command(ip, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		tb.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	hosts := filepath.Join(tb.TempDir(), "hosts")
	writeFile(tb, hosts, []byte(strings.Join(append([]string{"127.0.0.1 localhost"}, opts.Hosts...), "\n")+"\n"), 0o644)
	// Go made every mount of the new namespace private before the
	// test binary started (CLONE_NEWNS in Unshareflags), so this bind
	// is seen by this process and its children only.
	if err := unix.Mount(hosts, "/etc/hosts", "", unix.MS_BIND, ""); err != nil {
		tb.Fatalf("bind %s over /etc/hosts: %v", hosts, err)
	}
}

// checkIsolated makes sure the namespace is the one InNamespace made: a
// netnsEnv inherited by accident (a test binary run by hand with it set)
// must not bind over the machine's /etc/hosts.
func checkIsolated() error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return err
	}
	parent, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", os.Getppid()))
	if err != nil {
		return err
	}
	if self == parent {
		return errors.New(netnsEnv + " is set but this process shares its parent's network namespace: unset it")
	}
	return nil
}
