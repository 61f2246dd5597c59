package platform

import "os"

// openNonblocking opens path for reading. Windows file systems hold no
// FIFOs, and opening a named pipe (\\.\pipe\...) as a client fails at once
// when no instance is free rather than waiting: a plain open never blocks
// the way a Unix FIFO does.
func openNonblocking(path string) (*os.File, error) { return os.Open(path) }
