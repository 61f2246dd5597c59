package pac

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// limitMemory lets this process grow by at most n bytes: RLIMIT_AS (its
// address space) and RLIMIT_DATA (its private writable memory, where the
// Go heap lives, since Linux 4.7) are set to what it uses now plus n.
// Both limits are hard ones: the script cannot raise them.
func limitMemory(n int64) error {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return err
	}
	f := strings.Fields(string(statm))
	if len(f) < 6 {
		return fmt.Errorf("/proc/self/statm: %d fields", len(f))
	}
	page := uint64(os.Getpagesize())
	size, err1 := strconv.ParseUint(f[0], 10, 64)
	data, err2 := strconv.ParseUint(f[5], 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("/proc/self/statm does not parse")
	}
	for _, l := range []struct {
		res  int
		base uint64
	}{{unix.RLIMIT_AS, size * page}, {unix.RLIMIT_DATA, data * page}} {
		v := l.base + uint64(n)
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: v, Max: v}); err != nil {
			return err
		}
	}
	return nil
}
