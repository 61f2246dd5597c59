package xnu

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// libproc is in libSystem, which every darwin Go binary links already;
// purego calls it without cgo (the release builds with CGO_ENABLED=0).
type libproc struct {
	listChildPIDs func(ppid int32, buf unsafe.Pointer, size int32) int32
	pidInfo       func(pid, flavor int32, arg uint64, buf unsafe.Pointer, size int32) int32
	pidFDInfo     func(pid, fd, flavor int32, buf unsafe.Pointer, size int32) int32
}

const (
	procPIDListFDs       = 1 // PROC_PIDLISTFDS
	procPIDFDSocketInfo  = 3 // PROC_PIDFDSOCKETINFO
	libSystem            = "/usr/lib/libSystem.B.dylib"
	maxFDListBytes       = 1 << 20
	initialFDListEntries = 256
)

var loadLibproc = sync.OnceValues(func() (*libproc, error) {
	h, err := purego.Dlopen(libSystem, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("libproc: %w", err)
	}
	var l libproc
	for _, f := range []struct {
		name string
		fn   any
	}{
		{"proc_listchildpids", &l.listChildPIDs},
		{"proc_pidinfo", &l.pidInfo},
		{"proc_pidfdinfo", &l.pidFDInfo},
	} {
		sym, err := purego.Dlsym(h, f.name)
		if err != nil {
			return nil, fmt.Errorf("libproc: %s: %w", f.name, err)
		}
		purego.RegisterFunc(f.fn, sym)
	}
	return &l, nil
})

// PCBList reads net.inet.tcp.pcblist_n. The list may grow between the
// size query and the read (ENOMEM): it is read again, a few times.
func PCBList() ([]byte, error) {
	var err error
	for range 4 {
		var b []byte
		if b, err = unix.SysctlRaw("net.inet.tcp.pcblist_n"); err == nil {
			return b, nil
		}
		if !errors.Is(err, unix.ENOMEM) {
			break
		}
	}
	return nil, fmt.Errorf("sysctl net.inet.tcp.pcblist_n: %w", err)
}

// ChildPIDs returns the children of pid (proc_listchildpids).
func ChildPIDs(pid int) ([]int, error) {
	l, err := loadLibproc()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4*64)
	for {
		n := l.listChildPIDs(int32(pid), unsafe.Pointer(&buf[0]), int32(len(buf)))
		if n < 0 {
			return nil, fmt.Errorf("proc_listchildpids(%d) failed", pid)
		}
		if int(n)*4 < len(buf) || len(buf) >= 1<<20 {
			// A full buffer may have been cut: read again with more room.
			return PIDs(buf, int(n))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// HoldsTCPSocket reports whether process pid has a descriptor for the TCP
// socket whose local end is local and foreign end is foreign. It reads the
// descriptors from the highest number down: the connection being checked
// was usually opened last.
func HoldsTCPSocket(pid int, local, foreign netip.AddrPort) (bool, error) {
	l, err := loadLibproc()
	if err != nil {
		return false, err
	}
	buf := make([]byte, initialFDListEntries*sizeofProcFDInfo)
	var n int32
	for {
		n = l.pidInfo(int32(pid), procPIDListFDs, 0, unsafe.Pointer(&buf[0]), int32(len(buf)))
		if n <= 0 {
			// libproc returns 0 for an error; a process that exited, or
			// one this user may not inspect.
			return false, fmt.Errorf("proc_pidinfo(%d, PROC_PIDLISTFDS) failed: the process has exited or cannot be inspected", pid)
		}
		if int(n) < len(buf) || len(buf) >= maxFDListBytes {
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	fds, err := SocketFDs(buf[:n])
	if err != nil {
		return false, err
	}
	info := make([]byte, SizeofSocketFDInfo)
	for i := len(fds) - 1; i >= 0; i-- {
		k := l.pidFDInfo(int32(pid), fds[i], procPIDFDSocketInfo, unsafe.Pointer(&info[0]), int32(len(info)))
		if k <= 0 {
			continue // closed since the list was read
		}
		if int(k) > len(info) {
			return false, &LayoutError{Source: socketInfoSourceName, What: fmt.Sprintf("socket_fdinfo of %d bytes, want %d", k, SizeofSocketFDInfo)}
		}
		s, tcp, err := ParseSocketFDInfo(info[:k])
		if err != nil {
			return false, err
		}
		if tcp && s.Local == local && s.Foreign == foreign {
			return true, nil
		}
	}
	return false, nil
}
