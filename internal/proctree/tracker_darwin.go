package proctree

import (
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/internal/xnu"
)

// The tracker is macOS's stand-in for Linux's child subreaper: it records
// every process below this one while the emulator runs, so that the
// teardown can end a process that left the emulator's tree when its parent
// exited (launchd adopts it; nothing of this process's could find it
// afterwards). Like the subreaper it belongs to the whole process
// (Options.Subreaper: one launch, no other child processes), hence one
// tracker at a time.
//
// It rescans the tree when a process it knows forks or exits
// (EVFILT_PROC, NOTE_FORK and NOTE_EXIT, on each process it found) and at
// least every trackerPoll. A process that forks and exits before the next
// scan lists its children, leaving a grandchild that called setsid, is
// not seen: that is the known limit, where Linux's subreaper has none.
type Tracker struct {
	kq   int
	done chan struct{}

	mu   sync.Mutex
	seen map[int]unix.Timeval // pid → start time, which tells it from a later process that reused the pid
}

// trackerPoll is the longest the tracker goes without a scan.
const trackerPoll = 25 * time.Millisecond

var (
	trackerMu sync.Mutex
	tracking  *Tracker
)

// ErrTracking is Start's error while a tracker runs: it belongs to the
// whole process, one launch at a time.
var ErrTracking = errors.New("the emulator's processes are already tracked by another launch in this process")

// Active is the tracker that runs, or nil.
func Active() *Tracker {
	trackerMu.Lock()
	defer trackerMu.Unlock()
	return tracking
}

// Start starts tracking this process's descendants; ErrTracking when a
// tracker already runs.
func Start() error {
	trackerMu.Lock()
	defer trackerMu.Unlock()
	if tracking != nil {
		return ErrTracking
	}
	kq, err := unix.Kqueue()
	if err != nil {
		return err
	}
	// EVFILT_USER ident 0 is the stop signal (Stop).
	stop := unix.Kevent_t{Ident: 0, Filter: unix.EVFILT_USER, Flags: unix.EV_ADD | unix.EV_CLEAR}
	if _, err := unix.Kevent(kq, []unix.Kevent_t{stop}, nil, nil); err != nil {
		unix.Close(kq)
		return err
	}
	tr := &Tracker{kq: kq, done: make(chan struct{}), seen: map[int]unix.Timeval{}}
	tracking = tr
	go tr.run()
	return nil
}

// Stop ends the tracker and returns it (nil when none ran), with
// what it saw, for the teardown.
func Stop() *Tracker {
	trackerMu.Lock()
	tr := tracking
	tracking = nil
	trackerMu.Unlock()
	if tr == nil {
		return nil
	}
	trigger := unix.Kevent_t{Ident: 0, Filter: unix.EVFILT_USER, Fflags: unix.NOTE_TRIGGER}
	if _, err := unix.Kevent(tr.kq, []unix.Kevent_t{trigger}, nil, nil); err == nil {
		<-tr.done
	}
	// If the trigger failed, run ends at its next wake (trackerPoll),
	// finding tracking changed; the teardown goes on with what was seen.
	tr.scan() // one last look, under the teardown's own eyes
	return tr
}

func (tr *Tracker) run() {
	defer close(tr.done)
	defer unix.Close(tr.kq)
	events := make([]unix.Kevent_t, 32)
	timeout := unix.NsecToTimespec(int64(trackerPoll))
	for {
		changes := tr.scan()
		n, err := unix.Kevent(tr.kq, changes, events, &timeout)
		if err != nil && err != unix.EINTR {
			// The queue is unusable: keep scanning on the clock alone.
			time.Sleep(trackerPoll)
		}
		for _, ev := range events[:max(n, 0)] {
			if ev.Filter == unix.EVFILT_USER {
				return
			}
		}
		if Active() != tr {
			return
		}
	}
}

// scan records every descendant of this process not yet seen and returns
// the kevent registrations that wake the tracker when one forks or exits.
func (tr *Tracker) scan() []unix.Kevent_t {
	var changes []unix.Kevent_t
	for _, p := range DescendantsOf(os.Getpid()) {
		tr.mu.Lock()
		_, known := tr.seen[p]
		tr.mu.Unlock()
		if known {
			continue
		}
		kp, err := unix.SysctlKinfoProc("kern.proc.pid", p)
		if err != nil {
			continue // gone already
		}
		tr.mu.Lock()
		tr.seen[p] = kp.Proc.P_starttime
		tr.mu.Unlock()
		var ev unix.Kevent_t
		unix.SetKevent(&ev, p, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_CLEAR)
		ev.Fflags = unix.NOTE_FORK | unix.NOTE_EXIT
		changes = append(changes, ev)
	}
	return changes
}

// sZomb is SZOMB (bsd/sys/proc.h): exited, not yet reaped.
const sZomb = 5

// same reports whether pid is still the process the tracker saw, alive.
// Scan looks at the process tree now, without waiting for the tracker's
// next wake-up (tests make their look deterministic with it).
func (tr *Tracker) Scan() { tr.scan() }

func (tr *Tracker) same(pid int, start unix.Timeval) bool {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	return err == nil && kp.Proc.P_starttime == start && kp.Proc.P_stat != sZomb
}

// Saw reports whether the tracker saw pid and it is still that process.
func (tr *Tracker) Saw(pid int) bool {
	tr.mu.Lock()
	start, ok := tr.seen[pid]
	tr.mu.Unlock()
	return ok && tr.same(pid, start)
}

// Alive returns the processes the tracker saw that are still running.
func (tr *Tracker) Alive() []int {
	tr.mu.Lock()
	seen := make(map[int]unix.Timeval, len(tr.seen))
	for p, s := range tr.seen {
		seen[p] = s
	}
	tr.mu.Unlock()
	var live []int
	for p, s := range seen {
		if tr.same(p, s) {
			live = append(live, p)
		}
	}
	return live
}

// ForgetDead drops the processes that have ended.
func (tr *Tracker) ForgetDead() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for p, s := range tr.seen {
		if !tr.same(p, s) {
			delete(tr.seen, p)
		}
	}
}

// DescendantsOf returns every process below pid (proc_listchildpids,
// breadth first). A process whose children cannot be listed has none as
// far as the walk knows.
func DescendantsOf(pid int) []int {
	kids, _ := xnu.ChildPIDs(pid)
	out := append([]int(nil), kids...)
	for i := 0; i < len(out); i++ {
		more, _ := xnu.ChildPIDs(out[i])
		out = append(out, more...)
	}
	return out
}

// CommName reads a NUL-terminated p_comm.
func CommName(b []byte) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return safetext.Sanitize(string(b[:n]))
}
