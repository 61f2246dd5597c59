package launcher

import (
	"errors"
	"fmt"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// jobObject is the Job Object an emulator and everything it starts run in
// (docs/design.md "Windows"). Its one limit is kill-on-close: when the last
// handle to the job closes (the launch tears down, or trustlaunch itself is
// killed and the kernel closes its handles) every process in it ends, a
// detached grandchild in its own process group included. Breakaway is not
// allowed (no JOB_OBJECT_LIMIT_BREAKAWAY_OK nor SILENT_BREAKAWAY_OK), so
// CREATE_BREAKAWAY_FROM_JOB fails in the emulator's processes and a child
// cannot leave the job.
//
// The job is unnamed, so no other process can open it by name, and its
// handle is not inheritable, so the emulator does not hold it (if it did,
// the job would outlive this process).
type jobObject struct {
	h windows.Handle
}

func newJobObject() (*jobObject, error) {
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create a job object for the emulator: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation, uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("set kill-on-close on the emulator's job object: %w", err)
	}
	return &jobObject{h: h}, nil
}

// startSuspendedIn puts pid, a process created with CREATE_SUSPENDED that
// has not run an instruction, into the job and then lets it run. Because
// it is assigned before it runs, no child of it can be started outside the
// job (there is no moment in which a fast child could escape). Its caller
// holds a handle on the process (os.Process), so the PID names that
// process and no other until it is waited for.
func (j *jobObject) startSuspendedIn(pid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return fmt.Errorf("open the emulator's process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(j.h, h); err != nil {
		return fmt.Errorf("put the emulator's process %d in its job object: %w", pid, err)
	}
	return resumeProcess(pid)
}

// resumeProcess resumes the primary thread of a process created with
// CREATE_SUSPENDED. os/exec does not return the thread handle that
// CreateProcess gave it (it closes it), so the thread is found in a
// snapshot of the system's threads. A process that has not run has
// exactly that one thread: each thread of pid is resumed (for a thread
// that is not suspended ResumeThread does nothing), and finding none is an
// error.
//
// Why os/exec and not windows.CreateProcess: os/exec builds the command
// line (EscapeArg), the environment block, the pipes for stdio that is not
// a file, and the list of the only handles the child may inherit
// (PROC_THREAD_ATTRIBUTE_HANDLE_LIST, so no handle of ours leaks into the
// emulator), and Wait and the exit code. Doing that again by hand to keep
// a thread handle would be more security-relevant code than this lookup.
func resumeProcess(pid int) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("list the threads of the emulator's process %d: %w", pid, err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != uint32(pid) {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("open thread %d of the emulator's process %d: %w", te.ThreadID, pid, err)
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resume thread %d of the emulator's process %d: %w", te.ThreadID, pid, err)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("list the threads of the emulator's process %d: %w", pid, err)
	}
	if resumed == 0 {
		return fmt.Errorf("the emulator's process %d has no thread to resume", pid)
	}
	return nil
}

// procIsProcessInJob is kernel32's IsProcessInJob, which x/sys/windows
// does not wrap.
var procIsProcessInJob = windows.NewLazySystemDLL("kernel32.dll").NewProc("IsProcessInJob")

// contains reports whether process pid is running and in the job. A
// process that cannot be opened (its PID is free, or it is not ours to
// inspect) or has exited is an error, never a "no" that could be mistaken
// for a check. An exited process can still be opened while anyone holds a
// handle on it, and it still counts as in its job, hence the wait: a
// socket row naming it is stale. IsProcessInJob needs
// PROCESS_QUERY_INFORMATION: the limited right is refused with
// ERROR_ACCESS_DENIED (seen under Wine 8.0).
func (j *jobObject) contains(pid int) (bool, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_INFORMATION|windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return false, fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	if ev, err := windows.WaitForSingleObject(h, 0); ev != uint32(windows.WAIT_TIMEOUT) {
		if err == nil {
			err = errors.New("it has exited")
		}
		return false, fmt.Errorf("process %d: %w", pid, err)
	}
	var in int32
	if r, _, err := procIsProcessInJob.Call(uintptr(h), uintptr(j.h), uintptr(unsafe.Pointer(&in))); r == 0 {
		return false, fmt.Errorf("IsProcessInJob for process %d: %w", pid, err)
	}
	return in != 0, nil
}

// terminate ends every process in the job with the given exit code. The
// kernel ends them asynchronously; the job's handle stays open.
func (j *jobObject) terminate(code uint32) error {
	if err := windows.TerminateJobObject(j.h, code); err != nil {
		return fmt.Errorf("end the emulator's job object: %w", err)
	}
	return nil
}

// close closes the job's handle; with kill-on-close, whatever is still in
// it ends.
func (j *jobObject) close() { windows.CloseHandle(j.h) }

// processName returns the sanitized file name of process pid's image, or
// "unknown", for log lines about refused connections.
func processName(pid int) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return "unknown"
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return "unknown"
	}
	return safetext.Sanitize(filepath.Base(windows.UTF16ToString(buf[:n])))
}
