package launcher

import (
	"testing"
	"time"
)

// TestEmulatorTreeWaitsForStart: an emulator connects as soon as it runs,
// which can be before os/exec's Start has handed its pid to the tree. A
// check in that moment must wait for the pid, not refuse the emulator's own
// first connection (seen as TestLaunchTeardown/emulator_killed exiting 4).
func TestEmulatorTreeWaitsForStart(t *testing.T) {
	tree := newEmulatorTree(false)
	got := make(chan map[int]bool, 1)
	go func() { got <- tree.ids() }()
	select {
	case ids := <-got:
		t.Fatalf("the tree answered %v before the emulator started", ids)
	case <-time.After(50 * time.Millisecond):
	}
	tree.started(4242)
	select {
	case ids := <-got:
		if !ids[4242] {
			t.Fatalf("ids %v, want the emulator 4242", ids)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tree did not answer after the emulator started")
	}

	// A start that failed ends the wait too: nothing is admitted.
	failed := newEmulatorTree(false)
	failed.settle()
	if ids := failed.ids(); len(ids) != 0 {
		t.Fatalf("ids %v after a failed start, want none", ids)
	}
}
