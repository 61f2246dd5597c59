//go:build linux

package peers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// squidSegments lists the shared memory segments of a Squid service name
// (Squid names them /dev/shm/NAME-*.shm).
func squidSegments(t *testing.T, service string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join("/dev/shm", service+"-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSquidLeavesNoSharedMemory: a stopped Squid has removed its shared
// memory segments. Squid removes them itself on an orderly shutdown
// (SIGTERM), not when killed; left behind, owned by "proxy" after a root
// run, they make the next Squid of another user fail with "File exists".
func TestSquidLeavesNoSharedMemory(t *testing.T) {
	t.Parallel()
	sq := peers.StartSquid(t, peers.SquidOptions{})
	service := sq.Service
	if service == "" || strings.ContainsAny(service, "/*?[") {
		t.Fatalf("Squid's service name %q", service)
	}
	// The segments exist while it runs, so the check below can see them.
	if got := squidSegments(t, service); len(got) == 0 {
		t.Fatalf("no /dev/shm/%s-* segments while Squid runs; is this the naming Squid uses?", service)
	}
	sq.Stop()
	if left := squidSegments(t, service); len(left) > 0 {
		for _, f := range left {
			os.Remove(f) // leave the machine as it was, then fail
		}
		t.Fatalf("Squid left shared memory segments behind: %v", left)
	}
}
