package launcher

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

const ioctlGetTermios = unix.TCGETS

// setDeathSignal asks the kernel to SIGKILL the emulator if trustlaunch dies
// without tearing down (killed with SIGKILL): the tunnel it used is gone.
func setDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// admitCheckAvailable: Linux can tell which process holds a socket and who
// its parents are.
const admitCheckAvailable = true

// admit returns nil when pid is the emulator, the recorder that reported
// itself, or one of their descendants (with the subreaper: any process
// this one adopted). It walks pid's parent chain up (/proc/PID/stat), a
// handful of reads: the connector already found pid by walking down from
// roots, and this is the launcher's own decision on it.
func (t *emulatorTree) admit(pid int) error {
	self := os.Getpid()
	want := t.ids()
	for p, depth := pid, 0; p > 1 && depth < 4096; depth++ {
		if p == self {
			if t.reaper && p != pid {
				return nil // adopted by this subreaper: from the emulator's tree
			}
			break
		}
		if want[p] {
			return nil
		}
		pp, err := parentOf(p)
		if err != nil {
			return fmt.Errorf("process %d (%s) cannot be traced to the emulator: %w", pid, procName(pid), err)
		}
		p = pp
	}
	return fmt.Errorf("process %d (%s) is not the emulator or one of its descendants", pid, procName(pid))
}

// roots are where the connector looks for the holder of a socket: the
// emulator and the recorder, or with the subreaper every child of this
// process (the emulator and the orphans it left, adopted here).
func (t *emulatorTree) roots() []int {
	var r []int
	if t.reaper {
		r = childPIDs(os.Getpid())
	}
	for p := range t.ids() {
		r = append(r, p)
	}
	return r
}

// parentOf returns the parent pid from /proc/PID/stat (the field after the
// command name, which may hold spaces and parentheses: cut at the last ')').
func parentOf(pid int) (int, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[1])
}

// startTime returns the start time of pid (field 22 of /proc/PID/stat, in
// clock ticks since boot), which tells a pid from a later process that
// reused it.
func startTime(pid int) (string, error) {
	f, err := statFields(pid)
	if err != nil {
		return "", err
	}
	return f[19], nil
}

// statFields returns the fields of /proc/PID/stat after the command name,
// starting with the state (field 3).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return nil, errors.New("malformed stat")
	}
	return f, nil
}

func procName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "unknown"
	}
	return safetext.Sanitize(strings.TrimSuffix(string(b), "\n"))
}

// childPIDs returns the children of every thread of pid.
func childPIDs(pid int) []int {
	base := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var kids []int
	for _, t := range tasks {
		b, err := os.ReadFile(base + "/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// becomeSubreaper makes this process the child subreaper of its
// descendants (PR_SET_CHILD_SUBREAPER): a grandchild of the emulator that
// double-forks and calls setsid leaves the emulator's process group, but
// when its parent exits it is reparented here instead of to PID 1, so the
// teardown can still find and end it.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// endDescendants kills every descendant of this process and reaps its
// children, until none is left: the teardown of a subreaper. Each round
// kills the whole tree it can see; a process that forked meanwhile, or one
// reparented here as its parent died, is found in the next round. It stops
// being a subreaper afterwards. Only for a process that runs one launch
// and no other child processes (Options.Subreaper): it reaps them all.
func endDescendants() {
	self := os.Getpid()
	for round := 0; round < 100; round++ {
		kids := childPIDs(self)
		if len(kids) == 0 {
			break
		}
		tree := append([]int(nil), kids...)
		for i := 0; i < len(tree); i++ {
			tree = append(tree, childPIDs(tree[i])...)
		}
		for _, p := range tree {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		for _, p := range kids {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(p, &ws, 0, nil)
		}
	}
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
}
